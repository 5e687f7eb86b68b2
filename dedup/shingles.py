"""Word n-gram shingles and their hash values, for one document or vectorised over a batch.

The definition (it names the signature index, see ``dedup.params.TOKENIZER``/``SHINGLE_HASH``):

* tokens: the text lower-cased with Arrow's ``utf8_lower`` and split on Unicode whitespace
  (``utf8_trim_whitespace`` + ``utf8_split_whitespace``: the same whitespace set and the same
  tokens as Python's ``str.split()``);
* shingles: every run of ``ngram`` consecutive tokens joined by one space; a document with fewer
  tokens than ``ngram`` (but at least one) has one shingle, all its tokens; an empty one has none;
* token hash (64 bits, :func:`token_hash`): ``t = T0 ^ (len * P2)``; for each 8-byte chunk
  ``c`` of the token's UTF-8 bytes (little-endian, the last one zero-padded)
  ``t = ((t ^ c) * P) mod 2**64``; then MurmurHash3's 64-bit finalizer. A word of up to 8 bytes
  is one multiply: cheap to compute for millions of tokens at once with numpy;
* shingle hash (64 bits): ``h = H0``; for each token of the shingle
  ``h = ((h ^ token_hash) * P) mod 2**64``. The affine32 scheme uses its low 32 bits, the
  affine64 scheme all 64. :func:`shingle_hash32`/:func:`shingle_hash64` are this function for one
  shingle (they are the ``hashfunc`` that makes datasketch produce the same signatures).

The batch path finds the tokens of an ASCII batch by byte arithmetic over the batch's text
buffer (other batches: Arrow's Unicode kernels), reads each token's chunks as unaligned 64-bit
loads from that buffer, and chains token hashes with numpy, so no Python code runs per token or
per shingle, and no token string is ever built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

H0 = 0x243F6A8885A308D3
PRIME = 0x9E3779B97F4A7C15  # odd: multiplying by it is a bijection modulo 2**w
MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1
T0 = 0x13198A2E03707344
P2 = 0xA4093822299F31D1  # odd
_FMIX64 = (33, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53)
_CHUNK_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [MASK64], np.uint64)  # by byte count


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


def token_hash(token: bytes) -> int:
    """The 64-bit hash of one token's UTF-8 bytes."""
    t = T0 ^ ((len(token) * P2) & MASK64)
    for i in range(0, len(token), 8):
        t = ((t ^ int.from_bytes(token[i:i + 8], "little")) * PRIME) & MASK64
    shift, m1, m2 = _FMIX64
    t = ((t ^ (t >> shift)) * m1) & MASK64
    t = ((t ^ (t >> shift)) * m2) & MASK64
    return t ^ (t >> shift)


def shingle_hash64(shingle: bytes) -> int:
    """The 64-bit hash of one shingle (tokens separated by single spaces)."""
    h = H0
    for token in shingle.split(b" "):
        h = ((h ^ token_hash(token)) * PRIME) & MASK64
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


def _token_hashes(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """:func:`token_hash` of every token ``data[starts[i]:starts[i] + lengths[i]]``, truncated to
    ``width`` bits. Chunks are unaligned little-endian 64-bit loads from a padded copy of ``data``."""
    if len(starts) == 0:
        return np.empty(0, np.uint32 if width == 32 else np.uint64)
    padded = np.zeros(data.size + 8, np.uint8)
    padded[:data.size] = data
    words = np.ndarray((data.size + 1,), np.dtype("<u8"), buffer=padded, strides=(1,))  # a load at each byte
    prime, p2 = np.uint64(PRIME), np.uint64(P2)
    with np.errstate(over="ignore"):
        t = lengths.astype(np.uint64) * p2
        np.bitwise_xor(t, np.uint64(T0), out=t)
        chunk = words[starts] & _CHUNK_MASKS[np.minimum(lengths, 8)]
        np.bitwise_xor(t, chunk, out=t)
        np.multiply(t, prime, out=t)
        longer = np.flatnonzero(lengths > 8)  # the rare words of more than 8 bytes
        offset = 8
        while len(longer):
            left = lengths[longer] - offset
            chunk = words[starts[longer] + offset] & _CHUNK_MASKS[np.minimum(left, 8)]
            t[longer] = (t[longer] ^ chunk) * prime
            longer = longer[left > 8]
            offset += 8
    t = _fmix64(t)
    return t.astype(np.uint32) if width == 32 else t  # astype keeps the low 32 bits


def _fmix64(t: np.ndarray) -> np.ndarray:
    shift, m1, m2 = (np.uint64(v) for v in _FMIX64)
    tmp = np.empty_like(t)
    with np.errstate(over="ignore"):
        for mult in (m1, m2):
            np.right_shift(t, shift, out=tmp)
            np.bitwise_xor(t, tmp, out=t)
            np.multiply(t, mult, out=t)
    np.right_shift(t, shift, out=tmp)
    np.bitwise_xor(t, tmp, out=t)
    return t


def _split_tokens(arr: pa.Array) -> pa.ListArray:
    """Lower-case, trim and split on Unicode whitespace (a blank text gives a null list: no tokens).

    Arrow's split yields an empty token for leading or trailing whitespace, hence the trim.
    """
    trimmed = pc.utf8_trim_whitespace(pc.utf8_lower(arr))
    blank = pc.equal(pc.binary_length(trimmed), 0)
    return pc.utf8_split_whitespace(pc.if_else(blank, pa.scalar(None, pa.string()), trimmed))


@dataclass(frozen=True)
class Tokens:
    """The tokens of a batch without building them: token ``i`` is ``data[starts[i]:starts[i] +
    lengths[i]]`` (lower-cased UTF-8), and text ``j`` holds ``per_text[j]`` consecutive tokens."""

    data: np.ndarray  # uint8
    starts: np.ndarray  # int64
    lengths: np.ndarray  # int64
    per_text: np.ndarray  # int64

    def to_pylist(self) -> list[str]:
        raw = self.data.tobytes()
        return [raw[s:s + n].decode("utf-8") for s, n in zip(self.starts.tolist(), self.lengths.tolist())]


def _no_tokens(n_texts: int) -> Tokens:
    empty = np.empty(0, np.int64)
    return Tokens(np.empty(0, np.uint8), empty, empty, np.zeros(n_texts, np.int64))


def _ascii_tokens(arr: pa.Array) -> Tokens | None:
    """The tokens of an ASCII-only batch, found by byte arithmetic in numpy.

    ``None`` when some byte is not ASCII or is a control character other than ``\t\n\v\f\r``
    (0x1C-0x1F are whitespace to Python only): the Unicode path handles those batches. Otherwise the
    same tokens as :func:`_split_tokens`: whitespace is ``\t\n\v\f\r`` and space, upper case A-Z.
    """
    n_texts = len(arr)
    if n_texts == 0 or arr.buffers()[2] is None:
        return _no_tokens(n_texts)
    arr = pc.ascii_lower(arr)  # a fresh array: its offsets start at 0 unless the input's did not
    offs = np.frombuffer(arr.buffers()[1], np.int32, count=n_texts + 1, offset=arr.offset * 4).astype(np.int64)
    if offs[-1] == offs[0]:
        return _no_tokens(n_texts)
    raw = np.frombuffer(arr.buffers()[2], np.uint8)[offs[0]:offs[-1]]
    if raw.max() >= 0x80:
        return None
    word = raw > 32
    controls = raw[raw < 32]
    if controls.size and np.any((controls - np.uint8(9)) >= 5):
        return None
    n = raw.size
    bounds = offs - offs[0]
    # a run of word or of whitespace bytes ends where the kind changes or a text ends
    cut = np.empty(n + 1, bool)
    cut[0] = cut[n] = True
    np.not_equal(word[1:], word[:-1], out=cut[1:n])
    cut[bounds] = True
    edges = np.flatnonzero(cut)
    run_starts = edges[:-1]
    is_word = word[run_starts]
    starts = run_starts[is_word]
    lengths = edges[1:][is_word] - starts
    per_text = np.diff(np.searchsorted(starts, bounds))
    return Tokens(raw, starts, lengths, per_text)


def _tokens(arr: pa.Array) -> Tokens:
    """All tokens of a batch and how many belong to each text."""
    fast = _ascii_tokens(arr)
    if fast is not None:
        return fast
    toks = _split_tokens(arr)
    per_text = pc.list_value_length(toks).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = toks.flatten()
    if len(flat) == 0:
        return _no_tokens(len(arr))
    offs = np.frombuffer(flat.buffers()[1], np.int32, count=len(flat) + 1, offset=flat.offset * 4).astype(np.int64)
    data = np.frombuffer(flat.buffers()[2], np.uint8)[offs[0]:offs[-1]]
    starts = offs[:-1] - offs[0]
    return Tokens(data, starts, np.diff(offs), per_text)


def shingle_hashes(texts: pa.Array | pa.ChunkedArray, ngram: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash values of the shingles of every text.

    Returns ``(hashes, offsets)``: the shingles of text ``i`` are ``hashes[offsets[i]:offsets[i+1]]``
    (uint32 for ``width`` 32, uint64 for 64), in document order.
    """
    dtype = np.uint32 if width == 32 else np.uint64
    mask = MASK32 if width == 32 else MASK64
    toks = _tokens(_as_array(texts))
    lengths = toks.per_text
    ends = np.cumsum(lengths)
    starts = ends - lengths
    th = _token_hashes(toks.data, toks.starts, toks.lengths, width)

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
