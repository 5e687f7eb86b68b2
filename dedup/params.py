"""The parameters of a dedup run: what makes signatures comparable, and how LSH is tuned.

:class:`SignatureParams` names everything a MinHash signature depends on (shingling, hash function,
permutation scheme, seed, number of permutations). Its :meth:`SignatureParams.key` names the
signature index on disk and in the ledger, so signatures of different parameter sets or schemes
are never mixed. :class:`LshParams` holds the threshold and the bands/rows that datasketch's
optimal-parameter routine picks for it; they do not change signatures, so one index serves every
threshold.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from provenance.errors import InputError

SCHEMES = ("affine32", "affine64")  # datasketch 2.x permutation schemes supported here
TOKENIZER = "arrow-utf8-lower-split-whitespace/1"  # see dedup.shingles
SHINGLE_HASH = "u64-chunk-token-chain/2"  # see dedup.shingles.shingle_hash64
DEFAULT_THRESHOLD = 0.8
DEFAULT_NUM_PERM = 128
DEFAULT_NGRAM = 5
DEFAULT_SEED = 1  # datasketch's default seed
DEFAULT_SCHEME = "affine32"  # datasketch 2.x's default scheme
DEFAULT_BATCH_SIZE = 512  # documents hashed together inside a task (arrays stay near the L2 cache)
# Weights of false positives and false negatives in datasketch's optimal-parameter routine. Every
# candidate pair is verified by its estimated Jaccard before it joins a cluster, so a false
# positive of the banding costs one cheap comparison while a false negative loses a duplicate:
# weigh recall. (Equal weights, datasketch's default, make a pair just above the threshold a
# candidate only about half the time; these make one 0.05 above it a candidate >= 95% of the time.)
LSH_WEIGHTS = (0.1, 0.9)


@dataclass(frozen=True, slots=True)
class SignatureParams:
    """Everything a signature depends on; equal params give bit-identical signatures."""

    num_perm: int = DEFAULT_NUM_PERM
    ngram: int = DEFAULT_NGRAM
    seed: int = DEFAULT_SEED
    scheme: str = DEFAULT_SCHEME
    hash: str = SHINGLE_HASH
    tokenizer: str = TOKENIZER

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise InputError(f"unknown MinHash scheme {self.scheme!r}: use one of {', '.join(SCHEMES)}")
        if not 2 <= self.num_perm <= 4096:
            raise InputError(f"--num-perm must be between 2 and 4096; got {self.num_perm}")
        if not 1 <= self.ngram <= 64:
            raise InputError(f"--ngram must be between 1 and 64 words; got {self.ngram}")
        if not 0 <= self.seed < 2**32:
            raise InputError(f"--seed must be between 0 and 2**32 - 1; got {self.seed}")

    @property
    def width(self) -> int:
        """Bits per hash value (32 for affine32, 64 for affine64)."""
        return 32 if self.scheme == "affine32" else 64

    def key(self) -> str:
        """A short stable name of this parameter set (the signature index directory)."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return f"{self.scheme}-p{self.num_perm}-n{self.ngram}-s{self.seed}-{hashlib.sha256(blob).hexdigest()[:12]}"


@dataclass(frozen=True, slots=True)
class LshParams:
    """Jaccard threshold and the banding chosen for it."""

    threshold: float
    bands: int
    rows: int
    weights: tuple[float, float] = LSH_WEIGHTS

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int,
                      weights: tuple[float, float] = LSH_WEIGHTS, cache: Path | None = None) -> LshParams:
        """Bands and rows from datasketch's optimal-parameter routine (``MinHashLSH``'s own),
        with false-positive/false-negative ``weights``. With ``cache`` (a JSON file), an answer
        found there is used and a new one is added: the routine needs SciPy, whose import alone
        takes seconds, for an answer that never changes."""
        if not 0.0 < threshold < 1.0:
            raise InputError(f"--threshold must be between 0 and 1 (exclusive); got {threshold}")
        key = f"{float(threshold)!r}:{num_perm}:{weights[0]!r}:{weights[1]!r}"
        known = _read_cache(cache)
        if key in known:
            bands, rows = known[key]
        else:
            from datasketch.lsh import _optimal_param  # datasketch>=2,<3; imported only when needed

            bands, rows = _optimal_param(threshold, num_perm, weights[0], weights[1])
            if cache is not None and bands >= 2:
                _write_cache(cache, {**known, key: [int(bands), int(rows)]})
        if bands < 2:
            raise InputError(
                f"threshold {threshold} with {num_perm} permutations gives fewer than 2 LSH bands; "
                f"lower --threshold or raise --num-perm"
            )
        return cls(threshold=float(threshold), bands=int(bands), rows=int(rows), weights=weights)


def _read_cache(path: Path | None) -> dict:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)
