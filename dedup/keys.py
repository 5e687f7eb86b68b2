"""Numbers instead of strings for what dedup matches on, so a run over tens of millions of
documents holds a few bytes a document, not Python or Arrow strings.

* A document's text is named by the pair ``(doc_id, text_sha256)``; dedup matches pairs by their
  two 64-bit keys (``dedup.state.string_keys`` of each string). Two different pairs share both
  keys only if the same document's two texts collide on 64 bits, or two documents collide on
  both (about n^2 / 2^65 and n^2 / 2^129: none in practice at any corpus size).
* A sha256 hex string (the normalised-text key) is held as its 32 bytes: exact, and turned back
  into the same lowercase hex string when it is written.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

HEX_DIGITS = b"0123456789abcdef"
_HEX = np.frombuffer(HEX_DIGITS, np.uint8)
_NIBBLE = np.full(256, 255, np.uint8)
_NIBBLE[_HEX] = np.arange(16, dtype=np.uint8)
SHA256_BYTES = 32


def hex_bytes(values: pa.Array | pa.ChunkedArray, width: int = SHA256_BYTES) -> np.ndarray:
    """``(n, width)`` bytes of lowercase hex strings of ``2 * width`` characters, exactly (no nulls)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    n, chars = len(values), 2 * width
    if n == 0:
        return np.empty((0, width), np.uint8)
    if values.null_count:
        raise ValueError("a hex key is missing (null)")
    offsets = np.frombuffer(values.buffers()[1], np.int32)[values.offset:values.offset + n + 1]
    if not np.all(np.diff(offsets) == chars):
        raise ValueError(f"a hex key is not {chars} characters long")
    data = np.frombuffer(values.buffers()[2], np.uint8)[offsets[0]:offsets[-1]].reshape(n, chars)
    nibbles = _NIBBLE[data]
    if (nibbles == 255).any():
        raise ValueError("a hex key holds a character that is not a lowercase hex digit")
    return (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]


def hex_strings(values: np.ndarray) -> pa.Array:
    """The lowercase hex strings of ``(n, width)`` bytes (the inverse of :func:`hex_bytes`)."""
    n, width = values.shape
    chars = np.empty((n, 2 * width), np.uint8)
    chars[:, 0::2] = _HEX[values >> 4]
    chars[:, 1::2] = _HEX[values & 15]
    offsets = np.arange(0, (n + 1) * 2 * width, 2 * width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def group_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``(n, width)`` bytes grouped by equal bytes: ``(group, first)``, the group number
    of each row and the first row of each group. Sorted on the first 8 bytes, confirmed on all."""
    if len(values) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    prefix = np.ascontiguousarray(values[:, :8]).view(np.uint64).ravel()
    _, first, group = np.unique(prefix, return_index=True, return_inverse=True)
    group = group.ravel()
    if not np.array_equal(values, values[first[group]]):  # two texts share 64 bits: group on all
        whole = np.ascontiguousarray(values).view(np.dtype((np.void, values.shape[1]))).ravel()
        _, first, group = np.unique(whole, return_index=True, return_inverse=True)
        group = group.ravel()
    return group.astype(np.int64), first.astype(np.int64)


class PairIndex:
    """The pairs ``(doc_key, text_key)`` of some documents, sorted for look-ups: 24 bytes a pair."""

    def __init__(self, doc_keys: np.ndarray, text_keys: np.ndarray, rows: np.ndarray | None = None):
        """``rows``: which positions the pairs stand for (default ``0..n-1``)."""
        order = np.argsort(doc_keys, kind="stable")
        self.doc_keys = doc_keys[order]
        self.text_keys = text_keys[order]
        self.rows = order if rows is None else np.asarray(rows, np.int64)[order]

    def __len__(self) -> int:
        return len(self.rows)

    def find(self, doc_keys: np.ndarray, text_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(i, row)`` for every query pair ``i`` equal to a stored pair, ``row`` its position."""
        lo = np.searchsorted(self.doc_keys, doc_keys, "left")
        hi = np.searchsorted(self.doc_keys, doc_keys, "right")
        counts = hi - lo
        hit = np.flatnonzero(counts)
        if len(hit) == 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        counts = counts[hit]
        at = np.repeat(lo[hit] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        i = np.repeat(hit, counts)
        same = self.text_keys[at] == text_keys[i]
        return i[same].astype(np.int64), self.rows[at[same]].astype(np.int64)
