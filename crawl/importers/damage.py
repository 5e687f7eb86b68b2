"""Finding where a compressed input file is damaged, and reading only what comes before.

An importer must never store part of a file without saying so: a truncated or corrupt file fails
with its name and the byte offset of the damage (nothing of it stored), or, with
``--skip-bad-rows``, keeps what precedes the damage and records the damage as a ``fetches`` row.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from provenance.errors import InputError

CHUNK = 1 << 20
OUT_CAP = 1 << 20  # bytes of output per decompress call: a zip bomb cannot fill memory


@dataclass(frozen=True, slots=True)
class Damage:
    """Where a file stops being readable: the byte offset in the file and why.

    ``intact_before``: the data before this byte offset is whole and verified (the gzip members
    that precede the damaged one); None when that is not known (a plain file read up to an error).
    ``truncated``: the file merely ends early (what was decoded before the end is sound).
    """

    offset: int
    reason: str
    intact_before: int | None = None
    truncated: bool = False

    def where(self, path: Path) -> str:
        return f"{path.name}#offset={self.offset}"


class DamagedInput(InputError):
    """A file is truncated or corrupt; nothing of it was stored."""

    def __init__(self, path: Path, damage: Damage, *, detail: str = ""):
        self.damage = damage
        super().__init__(
            f"{path} is damaged at byte {damage.offset:,}{detail}: {damage.reason}. Nothing from "
            f"{path.name} was stored; restore the file, or pass --skip-bad-rows to keep what comes "
            f"before the damage (the damage is recorded in `fetches`).")


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (libraries put newlines in theirs)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def is_gzip_name(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def gzip_damage(path: Path) -> Damage | None:
    """Stream every gzip member of ``path`` (output discarded, CRC and length checked by zlib);
    None when the file is a whole, intact gzip stream. The offset is where the damaged member starts."""
    decomp: zlib._Decompress | None = None
    start = offset = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            view = chunk
            while view:
                if decomp is None:
                    decomp, start = zlib.decompressobj(wbits=31), offset
                try:
                    decomp.decompress(view, OUT_CAP)
                    while decomp.unconsumed_tail and not decomp.eof:
                        decomp.decompress(decomp.unconsumed_tail, OUT_CAP)
                except zlib.error as exc:
                    return Damage(start, f"the gzip member starting there is corrupt ({one_line(exc)})", intact_before=start)
                if decomp.eof:
                    rest = decomp.unused_data
                    offset += len(view) - len(rest)
                    view, decomp = rest, None
                else:
                    offset += len(view)
                    view = b""
    if decomp is not None:
        return Damage(offset, f"the file ends inside the gzip member that starts at byte {start:,}: "
                              f"it is truncated", intact_before=start, truncated=True)
    return None


class LimitedReader:
    """A read-only binary file that ends at ``limit`` (what precedes a damaged member)."""

    def __init__(self, fh: BinaryIO, limit: int):
        self._fh = fh
        self._limit = limit

    def read(self, size: int = -1) -> bytes:
        left = self._limit - self._fh.tell()
        if left <= 0:
            return b""
        return self._fh.read(left if size is None or size < 0 else min(size, left))

    def readline(self, size: int = -1) -> bytes:
        left = self._limit - self._fh.tell()
        if left <= 0:
            return b""
        return self._fh.readline(left if size is None or size < 0 else min(size, left))

    def tell(self) -> int:
        return self._fh.tell()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._fh.close()


__all__ = ["Damage", "DamagedInput", "LimitedReader", "one_line", "gzip_damage", "is_gzip_name"]
