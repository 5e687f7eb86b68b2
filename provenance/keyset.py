"""A growing set of 64-bit keys, held as sorted numpy parts: 8 bytes a key, not a Python object.

A long commit phase keeps in it the hashes of every document id the ledger mentions, so that a
batch of documents none of which the ledger knows can be stored without joining it against the
whole ledger (see :mod:`provenance.staging`). A hash says "maybe known" for a key it holds (two ids
can share a hash) and "not known" exactly: only the second answer is acted on.
"""

from __future__ import annotations

import numpy as np

_KEY = np.uint64


class KeySet:
    """Sorted parts; a new part is merged with the last ones while they are no larger (a binary
    counter), so adding n keys in batches costs O(n log n) and a lookup O(log^2 n). A merge is
    one stable sort of two sorted runs, which numpy's timsort does in linear time; a key added
    twice is held twice (membership does not mind)."""

    def __init__(self, keys: np.ndarray | None = None):
        self._parts: list[np.ndarray] = []
        if keys is not None:
            self.add(keys)

    def __len__(self) -> int:
        """Keys held, each time it was added."""
        return sum(len(p) for p in self._parts)

    def add(self, keys: np.ndarray) -> None:
        part = np.sort(np.asarray(keys, dtype=_KEY))
        if not len(part):
            return
        while self._parts and len(self._parts[-1]) <= len(part):
            part = np.concatenate([self._parts.pop(), part])
            part.sort(kind="stable")  # in place: a merge holds its two parts and their sum, no more
        self._parts.append(part)

    def contains_any(self, keys: np.ndarray) -> bool:
        """Whether any of ``keys`` is in the set."""
        keys = np.sort(np.asarray(keys, dtype=_KEY))  # sorted probes walk each part in order
        if not len(keys):
            return False
        for part in self._parts:
            at = np.searchsorted(part, keys)
            at[at == len(part)] = 0  # past the end: compare with the first key (not equal, or found)
            if (part[at] == keys).any():
                return True
        return False
