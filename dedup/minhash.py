"""MinHash signatures in vectorised numpy batches, bit-identical to datasketch 2.x.

datasketch's affine schemes (``datasketch/minhash.py``): the input hash ``h`` (a ``width``-bit
integer from the hash function) is pre-mixed once with the MurmurHash3 finalizer, then permutation
``k`` maps it to ``a_k * h + b_k mod 2**width``; the signature is the per-permutation minimum over
the document's shingles. The parameters come from ``numpy.random.RandomState(seed)``:
``a = randint(0, 2**(w-1), num_perm) * 2 + 1`` then ``b = randint(0, 2**w, num_perm)``.
An empty document keeps the all-ones signature (datasketch's empty MinHash).

The kernel works permutation-major on chunks of shingles sized to stay in cache, with in-place
ufuncs and one ``minimum.reduceat`` per chunk.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dedup.params import SignatureParams
from dedup.shingles import shingle_hashes

CHUNK_VALUES = 1 << 20  # values per kernel step (num_perm x shingles): 4 MiB of uint32, about L2

_FMIX = {
    32: (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16),
    64: (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33),
}


def dtype_for(width: int) -> type[np.unsignedinteger]:
    return np.uint32 if width == 32 else np.uint64


@dataclass(frozen=True)
class Permutations:
    """The affine permutation parameters ``a`` (odd) and ``b`` of one parameter set."""

    a: np.ndarray
    b: np.ndarray
    width: int

    @classmethod
    def for_params(cls, params: SignatureParams) -> Permutations:
        """Exactly datasketch's ``MinHash._init_permutations`` for the affine schemes."""
        width = params.width
        dtype = dtype_for(width)
        gen = np.random.RandomState(params.seed)
        a = gen.randint(0, 1 << (width - 1), params.num_perm, dtype=dtype) * dtype(2) + dtype(1)
        b = gen.randint(0, 1 << width, params.num_perm, dtype=dtype)
        return cls(a=a, b=b, width=width)

    @property
    def num_perm(self) -> int:
        return len(self.a)

    @property
    def empty_value(self) -> int:
        """The value of every slot of an empty signature (and the 'no value yet' sentinel)."""
        return (1 << self.width) - 1


def fmix(values: np.ndarray, width: int) -> np.ndarray:
    """MurmurHash3's finalizer (a bijection), in place on a uint32/uint64 array; returns it."""
    s1, m1, s2, m2, s3 = _FMIX[width]
    dtype = values.dtype.type
    tmp = np.empty_like(values)
    for shift, mult in ((s1, m1), (s2, m2)):
        np.right_shift(values, dtype(shift), out=tmp)
        np.bitwise_xor(values, tmp, out=values)
        np.multiply(values, dtype(mult), out=values)
    np.right_shift(values, dtype(s3), out=tmp)
    np.bitwise_xor(values, tmp, out=values)
    return values


def signatures_from_hashes(hashes: np.ndarray, offsets: np.ndarray, perms: Permutations,
                           chunk: int | None = None) -> np.ndarray:
    """Signatures of documents given their shingle hashes (``hashes[offsets[i]:offsets[i+1]]``).

    Returns a ``(n_docs, num_perm)`` array of the scheme's dtype. ``hashes`` is not modified.
    ``chunk`` (shingles per step) bounds the working memory to ``num_perm * chunk`` values.
    """
    dtype = dtype_for(perms.width)
    n_docs = len(offsets) - 1
    num_perm = perms.num_perm
    chunk = chunk or max(256, CHUNK_VALUES // num_perm)
    out = np.full((num_perm, n_docs), perms.empty_value, dtype)  # permutation-major while filling
    if n_docs == 0 or offsets[-1] == offsets[0]:
        return np.ascontiguousarray(out.T)
    with np.errstate(over="ignore"):
        mixed = fmix(hashes.astype(dtype, copy=True), perms.width)
    a = perms.a.astype(dtype)[:, None]
    b = perms.b.astype(dtype)[:, None]
    nonempty = np.flatnonzero(offsets[1:] > offsets[:-1])
    buf = np.empty(num_perm * chunk, dtype)  # blocks are contiguous views of it

    def block_of(n: int) -> np.ndarray:
        return buf[:num_perm * n].reshape(num_perm, n)

    i = 0
    while i < len(nonempty):
        # as many whole documents as fit in one chunk (at least one; a long one is split)
        first = nonempty[i]
        lo = offsets[first]
        j = int(np.searchsorted(offsets[nonempty + 1], lo + chunk, side="right"))
        if j <= i:  # one document longer than a chunk: fold it in chunk by chunk
            hi_doc = offsets[first + 1]
            acc = out[:, first]
            for s in range(lo, hi_doc, chunk):
                e = min(s + chunk, hi_doc)
                block = block_of(e - s)
                np.multiply(a, mixed[None, s:e], out=block)
                np.add(block, b, out=block)
                np.minimum(acc, block.min(axis=1), out=acc)
            out[:, first] = acc
            i += 1
            continue
        docs = nonempty[i:j]
        hi = offsets[docs[-1] + 1]
        block = block_of(hi - lo)
        np.multiply(a, mixed[None, lo:hi], out=block)
        np.add(block, b, out=block)
        out[:, docs] = np.minimum.reduceat(block, offsets[docs] - lo, axis=1)
        i = j
    return np.ascontiguousarray(out.T)


def signatures(texts: pa.Array | pa.ChunkedArray, params: SignatureParams,
               perms: Permutations | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Signatures of a batch of texts: ``(signatures (n, num_perm), shingle counts (n,))``."""
    perms = perms or Permutations.for_params(params)
    hashes, offsets = shingle_hashes(texts, params.ngram, params.width)
    return signatures_from_hashes(hashes, offsets, perms), np.diff(offsets)


def signatures_in_batches(texts: pa.Array | pa.ChunkedArray, params: SignatureParams, batch_size: int = 512,
                          threads: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """:func:`signatures` of many texts, ``batch_size`` at a time (bounded working memory), on up to
    ``threads`` threads (numpy and Arrow release the GIL in their kernels). Same result for any
    batch size or thread count."""
    perms = Permutations.for_params(params)
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    n = len(texts)
    sigs = np.empty((n, params.num_perm), dtype_for(params.width))
    counts = np.empty(n, np.int64)

    def one(lo: int) -> None:
        sigs[lo:lo + batch_size], counts[lo:lo + batch_size] = signatures(texts.slice(lo, batch_size), params, perms)

    starts = range(0, n, batch_size)
    if threads <= 1 or n <= batch_size:
        for lo in starts:
            one(lo)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, starts))
    return sigs, counts


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Row-wise fraction of equal slots (datasketch's ``MinHash.jaccard``)."""
    return np.count_nonzero(sig_a == sig_b, axis=-1) / sig_a.shape[-1]
