"""Word n-gram shingles and their hash values, for one document or vectorised over a batch.

The definition (it names the signature index, see ``dedup.params.TOKENIZER``/``SHINGLE_HASH``):

* tokens: the text lower-cased with Arrow's ``utf8_lower`` and split on Unicode whitespace
  (``utf8_trim_whitespace`` + ``utf8_split_whitespace``: the same whitespace set and the same
  tokens as Python's ``str.split()``);
* shingles: every run of ``ngram`` consecutive tokens joined by one space; a document with fewer
  tokens than ``ngram`` (but at least one) has one shingle, all its tokens; an empty one has none;
* shingle hash (64 bits): ``h = H0``; for each token ``t`` of the shingle
  ``h = ((h ^ xxh3_64(t)) * P) mod 2**64``. The affine32 scheme uses its low 32 bits, the
  affine64 scheme all 64. :func:`shingle_hash32`/:func:`shingle_hash64` are this function for one
  shingle (they are the ``hashfunc`` that makes datasketch produce the same signatures).

The batch path hashes each distinct token of a batch once (xxh3_64 through a dictionary
encoding) and chains token hashes with numpy, so no Python code runs per token or per shingle.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

H0 = 0x243F6A8885A308D3
PRIME = 0x9E3779B97F4A7C15  # odd: multiplying by it is a bijection modulo 2**w
MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1


# --- one document (reference definition; also datasketch's hashfunc) ---------------------------

def tokens(text: str) -> list[str]:
    """The tokens of one text, as the batch path sees them."""
    return _split_tokens(pa.array([text], pa.string()))[0].as_py() or []


def shingles(text: str, ngram: int) -> list[bytes]:
    """The shingles of one text as UTF-8 bytes (in document order; may repeat)."""
    toks = tokens(text)
    if not toks:
        return []
    if len(toks) < ngram:
        return [" ".join(toks).encode("utf-8")]
    return [" ".join(toks[i:i + ngram]).encode("utf-8") for i in range(len(toks) - ngram + 1)]


def shingle_hash64(shingle: bytes) -> int:
    """The 64-bit hash of one shingle (tokens separated by single spaces)."""
    h = H0
    for token in shingle.split(b" "):
        h = ((h ^ xxhash.xxh3_64_intdigest(token)) * PRIME) & MASK64
    return h


def shingle_hash32(shingle: bytes) -> int:
    """The low 32 bits of :func:`shingle_hash64` (the input hash of the affine32 scheme)."""
    return shingle_hash64(shingle) & MASK32


def hashfunc(width: int) -> Callable[[bytes], int]:
    """The per-shingle hash function for a scheme width (to hand to ``datasketch.MinHash``)."""
    return shingle_hash32 if width == 32 else shingle_hash64


# --- a batch of documents ---------------------------------------------------------------------

def _as_array(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    if pa.types.is_large_string(texts.type):
        texts = texts.cast(pa.string())
    return texts.fill_null("")


def _token_hashes(flat: pa.Array, width: int) -> np.ndarray:
    """xxh3_64 of every token (each distinct token hashed once), truncated to ``width`` bits."""
    if len(flat) == 0:
        return np.empty(0, np.uint32 if width == 32 else np.uint64)
    encoded = pc.dictionary_encode(flat)
    words = encoded.dictionary.cast(pa.binary()).to_pylist()
    digest = xxhash.xxh3_64_intdigest
    unique = np.fromiter((digest(w) for w in words), dtype=np.uint64, count=len(words))
    if width == 32:
        unique = unique.astype(np.uint32)  # keeps the low 32 bits
    return unique[encoded.indices.to_numpy(zero_copy_only=False)]


def _split_tokens(arr: pa.Array) -> pa.ListArray:
    """Lower-case, trim and split on Unicode whitespace (a blank text gives a null list: no tokens).

    Arrow's split yields an empty token for leading or trailing whitespace, hence the trim. An
    ASCII-only batch takes Arrow's faster ASCII kernels, which give the same tokens when no byte is
    in 0x1C-0x1F (whitespace to Python and to the utf8 kernels, not to the ASCII ones).
    """
    lower, trim, split = pc.utf8_lower, pc.utf8_trim_whitespace, pc.utf8_split_whitespace
    offsets, data = arr.buffers()[1], arr.buffers()[2]
    if data is not None and offsets is not None and len(arr):
        offs = np.frombuffer(offsets, np.int32, count=len(arr) + 1, offset=arr.offset * 4)
        raw = np.frombuffer(data, np.uint8)[offs[0]:offs[-1]]
        if raw.size == 0 or (raw.max() < 0x80 and not np.any((raw - np.uint8(0x1C)) < 4)):
            lower, trim, split = pc.ascii_lower, pc.ascii_trim_whitespace, pc.ascii_split_whitespace
    trimmed = trim(lower(arr))
    blank = pc.equal(pc.binary_length(trimmed), 0)
    return split(pc.if_else(blank, pa.scalar(None, pa.string()), trimmed))


def shingle_hashes(texts: pa.Array | pa.ChunkedArray, ngram: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash values of the shingles of every text.

    Returns ``(hashes, offsets)``: the shingles of text ``i`` are ``hashes[offsets[i]:offsets[i+1]]``
    (uint32 for ``width`` 32, uint64 for 64), in document order.
    """
    dtype = np.uint32 if width == 32 else np.uint64
    mask = MASK32 if width == 32 else MASK64
    toks = _split_tokens(_as_array(texts))
    lengths = pc.list_value_length(toks).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    tok_offsets = toks.offsets.to_numpy().astype(np.int64)
    starts = tok_offsets[:-1] - tok_offsets[0]
    ends = tok_offsets[1:] - tok_offsets[0]
    th = _token_hashes(toks.flatten(), width)

    counts = np.where(lengths >= ngram, lengths - ngram + 1, np.minimum(lengths, 1))
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    if offsets[-1] == 0:
        return np.empty(0, dtype), offsets

    # After step k, h[i] is the chain over tokens i .. i+k (positions too close to the end of the
    # batch are stale, and never used). A short document takes its value at step k == length - 1.
    n_tok = len(th)
    h = np.full(n_tok, H0 & mask, dtype)
    prime = dtype(PRIME & mask)
    short = np.flatnonzero((lengths > 0) & (lengths < ngram))
    short_values = np.empty(len(short), dtype)
    for k in range(min(ngram, n_tok)):
        head = h[:n_tok - k]
        np.bitwise_xor(head, th[k:], out=head)
        np.multiply(head, prime, out=head)
        done = lengths[short] == k + 1
        if done.any():
            short_values[done] = h[starts[short[done]]]

    # Keep each position that starts a full n-gram inside its document, and the first position of
    # each short document (holding that document's single shingle).
    keep = np.ones(n_tok, bool)
    for k in range(1, ngram):
        keep[ends[lengths >= k] - k] = False
    if len(short):
        h[starts[short]] = short_values
        keep[starts[short]] = True
    return h[keep], offsets
