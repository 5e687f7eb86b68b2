"""WARC imports over several reader processes store exactly what one reader stores, and a Common
Crawl ``warc.paths`` listing is imported from a local directory or an http(s) base (a real HTTP
server on 127.0.0.1), skipping on a re-run the files already imported whole.

The WARC files are written here with warcio (tests/warcs.py): pages of two hosts spread over
several files, a repeat capture of a page in a later file, and the robots.txt captures in a file
of their own that changes its answer between two captures."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import crawl
from crawl.importers.run import ImportOptions
from crawl.localsite import LocalSite
from provenance.ledger import Ledger
from tests.warcs import page, robots, write_warc

MUSEUM = "http://museum.example"
HARBOUR = "http://harbour.example"
BLOCK_GPTBOT = "User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n"
DOC_COLUMNS = ("doc_id, url, fetched_at, text_sha256, n_chars, license, license_evidence, consent, "
               "consent_evidence, title, language")


def crawl_files(folder: Path) -> list[Path]:
    """Four page files and a robotstxt file (the museum blocks GPTBot until March 15th)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(4):
        files.append(write_warc(folder / f"CC-MAIN-pages-{n:05d}.warc.gz", [
            page(f"{MUSEUM}/room-{n}-{k}.html", f"2026-03-{10 + n:02d}T12:00:00Z", f"Room {n} {k}") for k in range(3)
        ] + [page(f"{HARBOUR}/quay-{n}.html", f"2026-03-{10 + n:02d}T13:00:00Z", f"Quay {n}"),
             page(f"{MUSEUM}/hall.html", f"2026-03-{10 + n:02d}T14:00:00Z", f"Hall seen {n}")]))
    files.append(write_warc(folder / "CC-MAIN-robotstxt-00000.warc.gz", [
        robots(f"{MUSEUM}/robots.txt", "2026-03-09T08:00:00Z", BLOCK_GPTBOT),
        robots(f"{MUSEUM}/robots.txt", "2026-03-12T08:00:00Z", "User-agent: *\nDisallow:\n"),
        robots(f"{HARBOUR}/robots.txt", "2026-03-09T08:00:00Z", status=503),
    ]))
    return files


def documents(ws: Path) -> list[dict]:
    return Ledger(ws).query(f"SELECT {DOC_COLUMNS} FROM documents ORDER BY doc_id").to_pylist()


def imported_files(ws: Path) -> list[str]:
    return sorted(Ledger(ws).query(
        "SELECT url FROM fetches WHERE starts_with(reason, 'WARC file imported whole')").column("url").to_pylist())


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[Path]:
    return crawl_files(tmp_path_factory.mktemp("warcs"))


@pytest.fixture(scope="module")
def one_reader(files, tmp_path_factory) -> list[dict]:
    ws = tmp_path_factory.mktemp("one") / "ws"
    summary = crawl.import_files(ws, files, ImportOptions(workers=1))
    assert not summary.failed and summary.totals()["files"] == 5
    return documents(ws)


def test_the_robots_capture_at_each_fetch_time_decides(one_reader):
    by_url = {d["url"]: d for d in one_reader}
    assert by_url[f"{MUSEUM}/room-0-0.html"]["consent"] == "opted_out"  # blocked on March 10th
    assert by_url[f"{MUSEUM}/room-3-0.html"]["consent"] != "opted_out"  # the block was lifted on the 12th
    assert by_url[f"{HARBOUR}/quay-0.html"]["consent"] == "opted_out"  # 5xx: complete disallow
    assert by_url[f"{MUSEUM}/hall.html"]["title"] == "Hall seen 3"  # the latest capture across files
    assert len(one_reader) == 4 * 3 + 4 + 1


@pytest.mark.parametrize("workers", [2, 3])
def test_several_readers_store_the_documents_of_one(files, one_reader, tmp_path, workers):
    for order in (files, list(reversed(files))):
        ws = tmp_path / f"ws-{len(list(tmp_path.iterdir()))}"
        summary = crawl.import_files(ws, order, ImportOptions(workers=workers))
        assert not summary.failed
        assert documents(ws) == one_reader


def test_files_split_across_runs_with_readers_store_the_same(files, one_reader, tmp_path):
    ws = tmp_path / "ws"
    crawl.import_files(ws, files[3:], ImportOptions(workers=2))
    crawl.import_files(ws, files[:3], ImportOptions(workers=2))
    assert documents(ws) == one_reader


def test_a_failing_file_among_readers_stops_no_other(files, one_reader, tmp_path, cli):
    broken = tmp_path / "CC-MAIN-broken-00000.warc.gz"
    broken.write_bytes(files[0].read_bytes()[:-200])  # truncated inside its last gzip member
    ws = tmp_path / "ws"
    result = cli("-w", str(ws), "import", "--workers", "2", *map(str, [broken, *files]))
    assert result.code == 1
    assert f"{broken}: not imported" in result.err
    assert "1 of 6 files were not imported" in result.err
    assert documents(ws) == one_reader
    assert Ledger(ws).query("SELECT status FROM runs").column("status").to_pylist() == ["failed"]


def _listing(folder: Path, names: list[str], *, gz: bool) -> Path:
    text = "".join(f"crawl-data/CC-MAIN-2026-10/segments/1/warc/{name}\n" for name in names)
    if gz:
        path = folder / "warc.paths.gz"
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path = folder / "warc.paths"
        path.write_text(text)
    return path


def _bucket(root: Path, files: list[Path]) -> Path:
    """The files laid out as Common Crawl's bucket names them."""
    where = root / "crawl-data/CC-MAIN-2026-10/segments/1/warc"
    where.mkdir(parents=True)
    for f in files:
        (where / f.name).write_bytes(f.read_bytes())
    return root


def test_a_listing_with_a_directory_base_is_resumable(files, one_reader, tmp_path, cli):
    bucket = _bucket(tmp_path / "bucket", files)
    listing = _listing(tmp_path, [f.name for f in files], gz=False)
    ws = tmp_path / "ws"
    # the first run stops after three files (a listing of three), the second gets the whole listing
    (tmp_path / "first").mkdir()
    first = _listing(tmp_path / "first", [f.name for f in files[:3]], gz=True)
    result = cli("-w", str(ws), "import", str(first), "--base", str(bucket))
    assert result.code == 0, result.err
    result = cli("-w", str(ws), "import", str(listing), "--base", str(bucket), "--workers", "2")
    assert result.code == 0, result.err
    assert result.err.count("skipped, imported whole by an earlier run") == 3
    assert documents(ws) == one_reader
    assert len(imported_files(ws)) == 5
    # a file changed since it was imported is imported again
    changed = bucket / "crawl-data/CC-MAIN-2026-10/segments/1/warc" / files[0].name
    write_warc(changed, [page(f"{MUSEUM}/annex.html", "2026-03-20T12:00:00Z", "Annex")])
    result = cli("-w", str(ws), "import", str(listing), "--base", str(bucket))
    assert result.code == 0, result.err
    assert result.err.count("skipped, imported whole by an earlier run") == 4
    assert f"{MUSEUM}/annex.html" in {d["url"] for d in documents(ws)}


def test_a_listing_with_an_http_base_downloads_through_the_guard_and_resumes(files, one_reader, tmp_path, cli):
    bucket = _bucket(tmp_path / "bucket", files)
    listing = _listing(tmp_path, [f.name for f in files], gz=True)
    ws = tmp_path / "ws"
    with LocalSite(bucket) as site:
        base = site.base_url
        refused = cli("-w", str(ws), "import", str(listing), "--base", base)
        assert refused.code == 1
        assert "private" in refused.err.lower()  # the guard refuses 127.0.0.1 without --allow-private
        assert not any(p.endswith(".warc.gz") for p in site.requested)
        result = cli("-w", str(ws), "import", str(listing), "--base", base, "--allow-private", "--workers", "2")
        assert result.code == 0, result.err
        assert documents(ws) == one_reader
        urls = imported_files(ws)
        assert len(urls) == 5 and all(u.startswith(base) for u in urls)
        before = len(site.requested)
        again = cli("-w", str(ws), "import", str(listing), "--base", base, "--allow-private")
        assert again.code == 0, again.err
        assert again.err.count("skipped, imported whole by an earlier run") == 5
        assert site.requested[before:] == []  # nothing downloaded again
    assert not list((ws / "runs").glob("*/downloads"))  # downloads are removed once read


def test_a_listing_needs_a_base(tmp_path, cli):
    listing = _listing(tmp_path, ["x.warc.gz"], gz=False)
    result = cli("-w", str(tmp_path / "ws"), "import", str(listing))
    assert result.code != 0
    assert "--base" in result.err
