"""Where the WARC files of an import come from: local files, or a Common Crawl ``warc.paths`` listing.

A listing (``warc.paths`` or ``warc.paths.gz``, one path a line, relative to the bucket, as
Common Crawl publishes them) is joined to a ``--base``: a local directory (the files are read in
place) or an http(s) URL (each file is downloaded by the reader that imports it, through the
guarded client of :mod:`provenance.net`, which obeys robots.txt and refuses private addresses
unless ``allow_private``; the download lives under the run's folder and is deleted once read).

An input read whole is recorded as one ``fetches`` row (url: the file's URL or absolute path,
outcome 'not_text', the reason naming its sha256), so a listing imported again skips the files
already imported: a URL is skipped by its name (Common Crawl never changes a published file), a
local file when its sha256 is the one recorded.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from crawl.importers.warc import ReadOptions
from provenance.errors import InputError
from provenance.ids import utcnow
from provenance.records import FetchRecord

Source = str  # an absolute local path, or an http(s) URL
IMPORTED = "WARC file imported whole"
DOWNLOAD_TIMEOUT_S = 6 * 3600.0  # one deadline covers a whole download (a Common Crawl file is ~1 GB)
MAX_DOWNLOAD_BYTES = 16 * 1024 ** 3
_SHA = re.compile(r"sha256 ([0-9a-f]{64})")


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How readers get and read their inputs (plain data: it travels to reader processes)."""

    read: ReadOptions = field(default_factory=ReadOptions)
    download_dir: str | None = None  # where URL inputs are downloaded (the run's folder)
    allow_private: bool = False  # let downloads reach private addresses (a test server)
    hash_local: bool = False  # hash local inputs read whole (a listing's, to skip them on a re-run)


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


def is_listing(path: Path) -> bool:
    """Whether a file names Common Crawl's listing of WARC files (``warc.paths``, ``*.paths.gz``)."""
    name = path.name.lower()
    return name.endswith((".paths", ".paths.gz"))


def read_listing(path: Path, base: str | None) -> list[Source]:
    """The inputs a ``warc.paths(.gz)`` listing names, joined to ``base`` (a directory or URL)."""
    if base is None:
        raise InputError(f"{path} is a listing of WARC files: pass --base, the directory or URL "
                         f"its paths are relative to (e.g. --base https://data.commoncrawl.org/)")
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: the listing cannot be read ({exc})") from exc
    names = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if is_url(base):
        root = base if base.endswith("/") else base + "/"
        return [urljoin(root, name.lstrip("/")) for name in names]
    directory = Path(base)
    if not directory.is_dir():
        raise InputError(f"--base {base} is neither an http(s) URL nor a directory")
    return [str((directory / name).resolve()) for name in names]


@dataclass
class LocalFile:
    """An input as a local file (downloaded or not), with its size and, on request, its sha256."""

    path: Path
    n_bytes: int
    _sha256: str | None = None

    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        return self._sha256


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def open_source(source: Source, options: SourceOptions) -> Iterator[LocalFile]:
    """The input as a local file; a URL is downloaded first (and the download removed after)."""
    if not is_url(source):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{path} does not exist")
        yield LocalFile(path, path.stat().st_size)
        return
    download = _download(source, options)
    try:
        yield download
    finally:
        download.path.unlink(missing_ok=True)


def _download(url: str, options: SourceOptions) -> LocalFile:
    from provenance.net import AddressPolicy, Client, NetError, RobotsCache, user_agent

    client = Client(user_agent=user_agent(), policy=AddressPolicy(allow_private=options.allow_private),
                    timeout_s=DOWNLOAD_TIMEOUT_S, max_bytes=MAX_DOWNLOAD_BYTES)
    folder = Path(options.download_dir or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    name = os.path.basename(urlsplit(url).path) or "download"
    fd, tmp = tempfile.mkstemp(prefix="warc-", suffix="-" + name, dir=folder)
    path = Path(tmp)
    digest = hashlib.sha256()
    n = 0
    try:
        with os.fdopen(fd, "wb") as out:
            with client.open(url, before=RobotsCache(client).require) as response:
                if not 200 <= response.status < 300:
                    raise InputError(f"{url}: HTTP {response.status} {response.reason}".strip())
                for block in response.iter_bytes():
                    n += len(block)
                    digest.update(block)
                    out.write(block)
    except NetError as exc:
        path.unlink(missing_ok=True)
        raise InputError(f"{url}: the download failed after {n:,} bytes: {exc}") from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return LocalFile(path, n, digest.hexdigest())


def imported_row(source: Source, sha256: str, n_bytes: int, records: int) -> FetchRecord:
    """The ``fetches`` row that records an input read whole (what a re-run skips)."""
    return FetchRecord(url=source, outcome="not_text", fetched_at=utcnow(), status=200 if is_url(source) else None,
                       reason=f"{IMPORTED}: sha256 {sha256}, {records} records", content_type="application/warc",
                       n_bytes=n_bytes)


def already_imported(recorded: dict[str, set[str]], source: Source) -> bool:
    """Whether ``source`` was imported whole before (``recorded``: url -> sha256s in its rows)."""
    hashes = recorded.get(source)
    if not hashes:
        return False
    if is_url(source):
        return True
    path = Path(source)
    return path.exists() and file_sha256(path) in hashes


def sha256_of_reason(reason: str) -> str | None:
    match = _SHA.search(reason or "")
    return match[1] if match else None


__all__ = ["IMPORTED", "LocalFile", "Source", "SourceOptions", "already_imported", "imported_row", "is_listing",
           "is_url", "open_source", "read_listing"]
