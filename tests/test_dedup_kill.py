"""A `provenance dedup` killed with SIGKILL and re-run ends with the clusters of an uninterrupted run.

The kill lands at points chosen by watching the signature index fill up (a part being written, the
first part in place, every part in place: clustering and the ledger write): after it, the ledger
reads (DuckDB replays its WAL), every registered signature part is complete on disk, no worker
process is left behind, and the re-run keeps the finished parts, sweeps the rest and gives the
uninterrupted result.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dedup.synthetic import write_corpus_jsonl
from provenance.ledger import Ledger
from provenance.workspace import Workspace

N_DOCS = 20_000  # two row groups of one shard: two signature tasks, two index parts
N_PARTS = 2
CLUSTER_COLUMNS = "doc_id, dup_cluster, is_canonical, similarity, reason"


def provenance(*args: str) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "provenance"
    return subprocess.Popen([str(exe), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def dedup_process(ws: Path) -> subprocess.Popen:
    return provenance("-w", str(ws), "dedup", "--workers", "2")


def finish(proc: subprocess.Popen) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err


def clusters(ws: Path) -> list[dict]:
    return Ledger(Workspace(ws)).query(f"SELECT {CLUSTER_COLUMNS} FROM clusters ORDER BY doc_id").to_pylist()


def index_files(ws: Path) -> list[Path]:
    root = ws / "index" / "minhash"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is pending


# When to kill, watching the index directory of the running dedup.
def part_being_written(files: list[Path]) -> bool:
    return any(p.name.endswith(".tmp") for p in files) or any(p.suffix == ".parquet" for p in files)


def first_part_in_place(files: list[Path]) -> bool:
    return any(p.suffix == ".parquet" for p in files)


def every_part_in_place(files: list[Path]) -> bool:
    return sum(p.suffix == ".parquet" for p in files) >= N_PARTS


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    """An imported workspace (not deduplicated) and the clusters of an uninterrupted dedup of it."""
    tmp = tmp_path_factory.mktemp("dedup-kill")
    data = write_corpus_jsonl(tmp / "corpus.jsonl", N_DOCS, seed=3)
    base = tmp / "base"
    finish(provenance("-w", str(base), "import", str(data)))
    reference = tmp / "reference"
    shutil.copytree(base, reference)
    finish(dedup_process(reference))
    expected = clusters(reference)
    assert len(expected) > 1000
    assert len(index_files(reference)) == N_PARTS
    return {"base": base, "expected": expected}


@pytest.mark.slow
@pytest.mark.parametrize("when, delay", [
    (part_being_written, 0.0),
    (first_part_in_place, 0.0),
    (every_part_in_place, 0.02),
], ids=["part-being-written", "first-part-in-place", "clustering"])
def test_dedup_killed_then_rerun_equals_uninterrupted(tmp_path, corpus, when: Callable[[list[Path]], bool], delay):
    ws = tmp_path / "ws"
    shutil.copytree(corpus["base"], ws)
    proc = dedup_process(ws)
    while not when(index_files(ws)):
        assert proc.poll() is None, "the dedup finished before the kill point: raise N_DOCS"
        time.sleep(0.001)
    time.sleep(delay)
    workers = children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    # no worker outlives the killed run
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if alive(pid)], "worker processes outlived the killed dedup"

    # the ledger reads, and every signature part it registers is complete on disk
    ledger = Ledger(Workspace(ws))
    registered = ledger.query("SELECT part, n_rows FROM minhash_part_log").to_pylist()
    for part in registered:
        assert pq.read_metadata(ws / part["part"]).num_rows == part["n_rows"]
    assert ledger.query("SELECT count(*) AS n FROM documents").to_pylist() == [{"n": N_DOCS}]
    killed = ledger.query("SELECT status, finished_at FROM runs WHERE command = 'dedup'").to_pylist()
    assert len(killed) == 1 and killed[0]["finished_at"] is None, "the kill must land before the run ends"

    # the re-run completes: finished parts are kept, leftovers swept, the result is the uninterrupted one
    finish(dedup_process(ws))
    assert clusters(ws) == corpus["expected"]
    after = {r["part"] for r in Ledger(Workspace(ws)).query("SELECT part FROM minhash_part_log").to_pylist()}
    assert {p["part"] for p in registered} <= after
    assert {p.relative_to(ws).as_posix() for p in index_files(ws)} == after
    rows = sum(pq.read_metadata(ws / p).num_rows for p in after)
    assert rows == N_DOCS  # every text signed exactly once across the killed run and the re-run
