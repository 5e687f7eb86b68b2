"""A crawl killed with SIGKILL at random points, again and again, and resumed with ``--resume``
until it finishes, ends with exactly the documents of an uninterrupted crawl of the same site.

tests/test_crawl.py::test_resume_after_a_stop_gives_the_same_documents kills a crawl once, at a
fixed point (after its first ledger writes), on a 60-page site. This test extends it: 400
pages served by the test on 127.0.0.1, several kills at seeded random moments (during
start-up, between and during the short ledger writes: the crawl writes every 0.2 s here), and after
every kill the ledger must open and answer (DuckDB replays its WAL) and every shard it references
must be a complete, readable file.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from crawl.localsite import LocalSite
from crawl.seeds import crawl_key, parse_seeds
from provenance.ledger import EMPTY_SHARD, Ledger
from provenance.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
N_PAGES = 400
SEED = 20260107  # the kill moments are random, but the same on every run of the test
KILLS = 3
SETTINGS = {"delay": 0.0, "autothrottle": False, "retry_times": 0, "timeout": 10.0, "workers": 1,
            "sitemaps": False, "concurrency_per_domain": 4, "flush_seconds": 0.2, "flush_items": 25}


def make_site(root: Path) -> Path:
    """``N_PAGES`` pages in a binary tree (page i links to 2i+1 and 2i+2, and back to the root),
    each with its own text. Each is answered after 40 ms: with 4 requests in flight at most 100
    pages a second on any machine, so the kills below always find work left to interrupt."""
    (root / "p").mkdir(parents=True)
    for i in range(N_PAGES):
        kids = [j for j in (2 * i + 1, 2 * i + 2) if j < N_PAGES]
        links = " ".join(f'<a href="/p/{j}.html">page {j}</a>' for j in [*kids, 0])
        prose = " ".join(f"Line {k} of page {i}: the ferry, the mill and the orchard by the canal."
                         for k in range(25))
        (root / "p" / f"{i}.html").write_text(
            f"<html><head><title>Page {i}</title></head><body><article><h1>Page {i}</h1><p>{prose}</p>"
            f"</article><nav>{links}</nav></body></html>")
    (root / "_headers").write_text("/p/*\n  X-Localsite-Delay: 0.04\n")
    return root


def crawl_child(ws: Path, url: str, *, resume: bool) -> subprocess.Popen:
    """``run_crawl`` (what ``provenance crawl URL [--resume]`` calls) with short ledger writes, so
    kills land inside writes too. Its crawl process, the one killed, is a child of this one."""
    code = ("import sys; from crawl.runner import run_crawl; "
            f"s = run_crawl(sys.argv[1], [sys.argv[2]], {SETTINGS!r}, resume={resume!r}); "
            "sys.exit(0 if s.status == 'finished' else 1)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code, str(ws), url], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def cli_resume(ws: Path, url: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "provenance"
    return subprocess.run([str(exe), "-w", str(ws), "crawl", url, "--resume", "--delay", "0", "--no-autothrottle",
                           "--workers", "1", "--no-sitemaps", "--concurrency-per-domain", "4"],
                          capture_output=True, text=True, timeout=300)


def state_file(ws: Path, url: str) -> Path:
    valid, _ = parse_seeds([url], None)
    return ws / "runs" / "crawl" / crawl_key(valid) / "state.json"


def crawl_state(ws: Path, url: str) -> dict:
    try:
        return json.loads(state_file(ws, url).read_text())
    except (OSError, ValueError):
        return {}


def done_count(ws: Path, url: str) -> int:
    path = state_file(ws, url).with_name("done.log")
    return len(path.read_text().splitlines()) if path.exists() else 0


def documents(ws: Path) -> dict[str, str]:
    rows = Ledger(Workspace(ws)).query("SELECT doc_id, text_sha256 FROM documents").to_pylist()
    return {r["doc_id"]: r["text_sha256"] for r in rows}


def check_ledger_and_shards(ws: Path) -> int:
    """The ledger opens and answers; every shard it references is a complete Parquet file holding
    the rows it was registered with. Returns the number of documents."""
    ledger = Ledger(Workspace(ws))
    n = ledger.query("SELECT count(*) AS n FROM documents").to_pylist()[0]["n"]
    for shard in ledger.query("SELECT shard, n_rows FROM shard_log").to_pylist():
        path = ws / shard["shard"]
        assert path.is_file() and not path.name.endswith(".tmp"), shard
        assert pq.read_metadata(path).num_rows == shard["n_rows"], shard
    missing = ledger.query("SELECT count(*) AS n FROM documents d WHERE d.shard NOT IN "
                           "(SELECT shard FROM shard_log)").to_pylist()[0]["n"]
    assert missing == 0
    return n


def writing_a_shard(ws: Path) -> bool:
    """A ledger write is under way: its shard is still a ``.tmp`` file (renamed at commit)."""
    folder = ws / "shards" / "web"
    try:
        return any(entry.name.endswith(".tmp") for entry in os.scandir(folder))
    except FileNotFoundError:
        return False


def wait_for_kill_moment(mode: str, rng: random.Random, ws: Path, url: str, proc: subprocess.Popen) -> None:
    """Return at a random moment of the running crawl: ``time``, a random time after its process
    started (start-up included); ``pages``, once a random number of further pages is committed;
    ``mid-write``, inside a ledger write (its shard written, not yet committed), after a random
    number of writes."""
    if mode == "time":
        time.sleep(rng.uniform(0.0, 2.0))
    elif mode == "pages":
        target = done_count(ws, url) + rng.randint(1, 80)
        while done_count(ws, url) < target and proc.poll() is None:
            time.sleep(0.01)
    else:
        writes = rng.randint(1, 4)
        for n in range(1, writes + 1):
            while not writing_a_shard(ws) and proc.poll() is None:
                time.sleep(0.001)
            while n < writes and writing_a_shard(ws) and proc.poll() is None:
                time.sleep(0.001)


def started(status: dict, previous_pid: int | None) -> bool:
    """The crawl process of this attempt recorded its run (the state of a killed one says
    'running' too, with its own pid)."""
    return status.get("status") == "running" and status.get("pid") != previous_pid


def kill_crawl_process(ws: Path, url: str, proc: subprocess.Popen) -> None:
    """SIGKILL the crawl process itself (``crawl.runner``, pid in its state file), not its parent."""
    pid = crawl_state(ws, url).get("pid")
    if pid and crawl_state(ws, url).get("status") == "running":
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it finished in the meantime
    proc.wait(timeout=60)


@pytest.mark.slow
def test_crawl_killed_at_random_points_and_resumed_equals_an_uninterrupted_crawl(tmp_path):
    rng = random.Random(SEED)
    site_dir = make_site(tmp_path / "site")
    with LocalSite(site_dir) as site:
        url = site.url("/p/0.html")
        reference = tmp_path / "reference"
        ref = crawl_child(reference, url, resume=False)
        killed = tmp_path / "killed"
        kills, last_pid = 0, None
        modes = rng.sample(["time", "pages", "mid-write"], KILLS)
        proc = crawl_child(killed, url, resume=False)
        while True:
            if kills < KILLS:
                deadline = time.monotonic() + 60
                while not started(crawl_state(killed, url), last_pid) and proc.poll() is None:
                    assert time.monotonic() < deadline, "the crawl process did not start"
                    time.sleep(0.02)
                last_pid = crawl_state(killed, url).get("pid")
                wait_for_kill_moment(modes[kills], rng, killed, url, proc)
                kill_crawl_process(killed, url, proc)
                kills += 1
            else:
                assert proc.wait(timeout=300) == 0, proc.stderr.read()
            if crawl_state(killed, url).get("status") == "finished":
                break
            # after every kill: the ledger is readable, nothing half-written is referenced
            if (killed / "ledger.duckdb").exists():
                check_ledger_and_shards(killed)
            if kills == KILLS:  # the last resume goes through the command line flag, to the end
                result = cli_resume(killed, url)
                assert result.returncode == 0, result.stderr
                assert "finished" in result.stderr
                break
            proc = crawl_child(killed, url, resume=True)
        assert ref.wait(timeout=300) == 0, ref.stderr.read()

    assert kills == KILLS
    expected = documents(reference)
    assert len(expected) == N_PAGES
    assert documents(killed) == expected  # same doc_ids, same texts: none lost, none changed
    assert check_ledger_and_shards(killed) == N_PAGES
    ledger = Ledger(Workspace(killed))
    log = ledger.query("SELECT count(*) AS n, count(DISTINCT doc_id) AS ids FROM document_log").to_pylist()[0]
    assert log == {"n": N_PAGES, "ids": N_PAGES}  # no document stored twice
    corpus = ledger.query("SELECT count(*) AS n, count(DISTINCT doc_id) AS ids FROM corpus").to_pylist()[0]
    assert corpus == {"n": N_PAGES, "ids": N_PAGES}  # no text twice either
    referenced = {r["shard"] for r in ledger.query("SELECT shard FROM shard_log").to_pylist()}
    on_disk = {p.relative_to(killed).as_posix() for p in (killed / "shards").rglob("*") if p.is_file()}
    assert on_disk - {EMPTY_SHARD} == referenced  # shards of writes that never committed are swept
    runs = ledger.query("SELECT status FROM runs ORDER BY started_at").to_pylist()
    assert len(runs) == KILLS + 1 and runs[-1]["status"] == "finished"
    assert all(r["status"] != "running" for r in runs)
