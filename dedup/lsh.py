"""LSH banding over MinHash signatures: band keys, candidate pairs, verification.

Pure functions over numpy arrays, so a distributed engine can run them on partitions and get the
same pairs. Rows are identified by their index in the signature array; callers keep rows sorted
by doc_id, which makes every result independent of how the work was split.

Banding follows datasketch's ``MinHashLSH``: band ``i`` covers slots ``[i*rows, (i+1)*rows)``, and
two documents are candidates when all slots of at least one band are equal. A band's slots are
folded into one 64-bit key (a key collision only adds a candidate, which verification drops).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dedup.minhash import estimated_jaccard, fmix

MAX_BUCKET = 64  # in a bucket larger than this, each row is paired with its next MAX_BUCKET-1 rows
_H0 = np.uint64(0x243F6A8885A308D3)
_PRIME = np.uint64(0x9E3779B97F4A7C15)
_ROWS_PER_STEP = 16384  # rows per step of band keys / verification (bounds temporaries)


def band_keys(sigs: np.ndarray, bands: int, rows: int, subset: np.ndarray | None = None) -> np.ndarray:
    """A ``(n, bands)`` uint64 array: the key of each band of each signature (of the rows
    ``subset`` of ``sigs`` when given, read a step at a time: no copy of the signatures)."""
    n = sigs.shape[0] if subset is None else len(subset)
    if bands * rows > sigs.shape[1]:
        raise ValueError(f"{bands} bands of {rows} rows need {bands * rows} slots; signatures have {sigs.shape[1]}")
    keys = np.empty((n, bands), np.uint64)
    for lo in range(0, n, _ROWS_PER_STEP):
        part = sigs[lo:lo + _ROWS_PER_STEP] if subset is None else sigs[subset[lo:lo + _ROWS_PER_STEP]]
        block = np.ascontiguousarray(part[:, :bands * rows].T).astype(np.uint64)
        m = block.shape[1]
        with np.errstate(over="ignore"):
            for band in range(bands):
                h = np.full(m, _H0, np.uint64)
                for slot in block[band * rows:(band + 1) * rows]:
                    np.bitwise_xor(h, slot, out=h)
                    np.multiply(h, _PRIME, out=h)
                keys[lo:lo + m, band] = fmix(h, 64)
    return keys


def candidate_codes(keys: np.ndarray, max_bucket: int = MAX_BUCKET) -> np.ndarray:
    """Candidate pairs over the bands (columns) of ``keys`` as sorted unique codes ``i * n + j``
    (``i < j``, ``n`` rows).

    Within a bucket every pair is a candidate, up to ``max_bucket`` members; in a larger bucket
    (rows sorted by index) each row is paired with the next ``max_bucket - 1`` rows, which keeps
    the work linear while still chaining the whole bucket together. Bands are independent, so the
    codes of all bands are the union of the codes of any split of the bands into groups.
    """
    n = keys.shape[0]
    found: list[np.ndarray] = []
    for band in range(keys.shape[1]):
        order = np.argsort(keys[:, band], kind="stable")
        sorted_keys = keys[order, band]
        for d in range(1, max_bucket):
            same = np.flatnonzero(sorted_keys[:-d] == sorted_keys[d:])
            if len(same) == 0:
                break
            i = order[same]
            j = order[same + d]
            found.append(np.minimum(i, j).astype(np.uint64) * np.uint64(n) + np.maximum(i, j).astype(np.uint64))
    if not found:
        return np.empty(0, np.uint64)
    return np.unique(np.concatenate(found))


def pairs_from_codes(codes: np.ndarray, n: int) -> np.ndarray:
    """The ``(k, 2)`` row pairs of codes ``i * n + j`` (in code order)."""
    if len(codes) == 0:
        return np.empty((0, 2), np.int64)
    codes = np.asarray(codes, np.uint64)
    return np.stack([(codes // np.uint64(n)).astype(np.int64), (codes % np.uint64(n)).astype(np.int64)], axis=1)


def candidate_pairs(keys: np.ndarray, max_bucket: int = MAX_BUCKET) -> np.ndarray:
    """Row pairs ``(i, j)``, ``i < j``, that share the key of at least one band; sorted, unique
    (see :func:`candidate_codes`)."""
    return pairs_from_codes(candidate_codes(keys, max_bucket), keys.shape[0])


def band_group_codes(sigs: np.ndarray, rows: int, first_band: int, end_band: int,
                     max_bucket: int = MAX_BUCKET) -> np.ndarray:
    """:func:`candidate_codes` of bands ``[first_band, end_band)`` only: one unit of the banding
    stage that an engine can run anywhere (the union over a split of all bands equals
    ``candidate_codes(band_keys(sigs, bands, rows))``)."""
    slots = sigs[:, first_band * rows:end_band * rows]
    return candidate_codes(band_keys(slots, end_band - first_band, rows), max_bucket)


def pair_similarity(sigs: np.ndarray, pairs: np.ndarray, subset: np.ndarray | None = None) -> np.ndarray:
    """Estimated Jaccard similarity of each pair (fraction of equal signature slots); with
    ``subset``, pairs index into the rows ``subset`` of ``sigs``."""
    out = np.empty(len(pairs), np.float64)
    for lo in range(0, len(pairs), _ROWS_PER_STEP):
        chunk = pairs[lo:lo + _ROWS_PER_STEP]
        if subset is not None:
            chunk = subset[chunk]
        out[lo:lo + len(chunk)] = estimated_jaccard(sigs[chunk[:, 0]], sigs[chunk[:, 1]])
    return out


def similar_pairs(sigs: np.ndarray, bands: int, rows: int, threshold: float,
                  max_bucket: int = MAX_BUCKET, subset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs verified by estimated Jaccard >= ``threshold``: ``(pairs, similarities)``.
    With ``subset``, only those rows of ``sigs`` take part, and pairs index into ``subset``."""
    keys = band_keys(sigs, bands, rows, subset)
    pairs = candidate_pairs(keys, max_bucket)
    del keys
    return verified(pairs, pair_similarity(sigs, pairs, subset), threshold)


def spill_band_keys(sigs: np.ndarray, bands: int, rows: int, subset: np.ndarray | None, directory: Path) -> list[Path]:
    """Band keys of the rows ``subset`` of ``sigs``, written a step at a time to one file per band
    (``band-<i>.u64``: the keys in row order, native uint64); returns the files. Memory: one step."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"band-{band}.u64" for band in range(bands)]
    n = sigs.shape[0] if subset is None else len(subset)
    handles = [open(path, "wb") for path in paths]
    try:
        for lo in range(0, n, _ROWS_PER_STEP):
            step = np.arange(lo, min(n, lo + _ROWS_PER_STEP)) if subset is None else subset[lo:lo + _ROWS_PER_STEP]
            keys = band_keys(sigs, bands, rows, step)
            for band, handle in enumerate(handles):
                handle.write(np.ascontiguousarray(keys[:, band]).tobytes())
    finally:
        for handle in handles:
            handle.close()
    return paths


def similar_pairs_spilled(sigs: np.ndarray, bands: int, rows: int, threshold: float, directory: Path,
                          max_bucket: int = MAX_BUCKET, subset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`similar_pairs` with the band keys spilled to ``directory`` and grouped one band at a
    time (memory for one band's keys, not all of them; the same pairs, since bands are
    independent). The band files stay for the caller (see :func:`spill_band_keys`)."""
    paths = spill_band_keys(sigs, bands, rows, subset, directory)
    codes = [candidate_codes(np.fromfile(path, np.uint64)[:, None], max_bucket) for path in paths]
    n = sigs.shape[0] if subset is None else len(subset)
    pairs = pairs_from_codes(np.unique(np.concatenate(codes)) if codes else np.empty(0, np.uint64), n)
    del codes
    return verified(pairs, pair_similarity(sigs, pairs, subset), threshold)


def verified(pairs: np.ndarray, sims: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (and their similarities) at or above ``threshold``."""
    keep = sims >= threshold
    return pairs[keep], sims[keep]
