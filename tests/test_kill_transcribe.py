"""A `provenance transcribe` process killed with SIGKILL mid-run, then run again, ends with what an
uninterrupted run gives: the same transcript documents, none twice, none missing. The killed
ledger stays readable (DuckDB replays its WAL) and never references a half-written shard.

The run commits after every file (--commit-every 1) so kills land at different points, found by
watching the shard folder: during a commit (a shard being written; a shard published but its
transaction not yet committed), between commits (a file being transcribed), and early (the
model loading). Real processes, real tiny.en.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from provenance.ledger import Ledger
from provenance.workspace import Workspace
from test_transcribe_units import SAMPLE_RATE, encode, speech_samples

CLIP_S = 3.0
OFFSETS_S = (0.0, 1.5, 3.0, 4.5, 6.0, 7.5)  # six different clips of the speech fixture


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    media = tmp_path_factory.mktemp("clips")
    samples = speech_samples()
    return [encode(media / f"clip-{i}.wav", samples[int(o * SAMPLE_RATE): int((o + CLIP_S) * SAMPLE_RATE)])
            for i, o in enumerate(OFFSETS_S)]


def transcribe_process(ws: Path, clips: list[Path]) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "provenance"
    return subprocess.Popen([str(exe), "-w", str(ws), "transcribe", *map(str, clips), "--commit-every", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def documents(ws: Path) -> list[dict]:
    """The transcript documents with their text (from the shards), in a comparable form."""
    return Ledger(Workspace(ws)).query(
        "SELECT d.doc_id, d.url, d.title, d.language, d.n_chars, d.text_sha256, d.consent, c.text "
        "FROM documents d JOIN corpus c USING (doc_id, text_sha256) ORDER BY d.doc_id").to_pylist()


def referenced_shards(ws: Path) -> set[str]:
    return {r["shard"] for r in Ledger(Workspace(ws)).query("SELECT shard FROM shard_log").to_pylist()}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, clips) -> list[dict]:
    ws = tmp_path_factory.mktemp("reference") / "ws"
    proc = transcribe_process(ws, clips)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    docs = documents(ws)
    assert len(docs) == len(clips) and all(d["text"] for d in docs)
    return docs


def shard_files(ws: Path, suffix: str) -> list[Path]:
    folder = ws / "shards" / "transcript"
    return [p for p in folder.iterdir() if p.name.endswith(suffix)] if folder.is_dir() else []


def kill_when(proc: subprocess.Popen, ready, delay_s: float = 0.0, timeout_s: float = 120.0) -> None:
    """SIGKILL ``proc`` ``delay_s`` after ``ready()`` turns true (polled every millisecond)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert proc.poll() is None, f"the run ended before the kill: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.001)
    time.sleep(delay_s)
    assert proc.poll() is None, f"the run ended before the kill: {proc.stderr.read()}"
    os.kill(proc.pid, signal.SIGKILL)


KILL_POINTS = {
    # a shard of the second commit is being written (or, when the poll missed it, just published)
    "shard_being_written": lambda ws: (bool(shard_files(ws, ".parquet.tmp")) and len(shard_files(ws, ".parquet")) >= 1)
    or len(shard_files(ws, ".parquet")) >= 2,
    # the second shard was renamed into place: its transaction is about to commit, or just did
    "second_shard_published": lambda ws: len(shard_files(ws, ".parquet")) >= 2,
    # the run has started: imports done, the run recorded, the model loading
    "ledger_created": lambda ws: (ws / "ledger.duckdb").exists(),
}


@pytest.mark.slow
@pytest.mark.parametrize("point,delay_s", [
    ("shard_being_written", 0.0),  # during a commit, before the shard is published
    ("second_shard_published", 0.0),  # during a commit, between publishing and COMMIT (or right after)
    ("second_shard_published", 0.15),  # between commits: the third file is being transcribed
    ("ledger_created", 0.4),  # early: loading the model or transcribing the first file
])
def test_transcribe_killed_then_rerun_equals_uninterrupted(tmp_path, clips, reference, point, delay_s):
    ws = tmp_path / "ws"
    proc = transcribe_process(ws, clips)
    kill_when(proc, lambda: KILL_POINTS[point](ws), delay_s)
    assert proc.wait(timeout=30) == -signal.SIGKILL

    # the killed ledger opens (its WAL replays); what it references is complete
    if (ws / "ledger.duckdb").exists():
        partial = documents(ws)
        assert len(partial) < len(clips)
        assert len({d["doc_id"] for d in partial}) == len(partial)
        for shard in referenced_shards(ws) - {"shards/_empty.parquet"}:
            table = pq.read_table(ws / shard)  # a complete Parquet file
            assert table.num_rows >= 1
        assert partial == [d for d in reference if d["doc_id"] in {p["doc_id"] for p in partial}]

    # the re-run completes with exactly what an uninterrupted run gives
    rerun = transcribe_process(ws, clips)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert documents(ws) == reference
    ledger = Ledger(Workspace(ws))
    attempts = ledger.query("SELECT doc_id, status, count(*) AS n FROM transcription_log "
                            "GROUP BY ALL ORDER BY doc_id").to_pylist()
    assert attempts == [{"doc_id": d["doc_id"], "status": "done", "n": 1} for d in reference]
    segments = ledger.query("SELECT count(*) AS n, count(text) AS with_text FROM segments").to_pylist()[0]
    assert segments["n"] == segments["with_text"] > 0
    on_disk = {p.relative_to(ws).as_posix() for p in (ws / "shards").rglob("*") if p.is_file()}
    on_disk.discard("shards/_empty.parquet")
    assert on_disk == referenced_shards(ws)  # no orphan or half-written shard left in the corpus


def test_downloads_left_by_a_killed_run_are_removed_by_the_next(workspace, tmp_path, cli):
    from test_transcribe_units import MediaServer

    scratch = workspace.runs_dir / "transcribe-tmp"
    dead, live = scratch / "killed-run", scratch / "running-run"
    for folder in (dead, live):
        folder.mkdir(parents=True)
        (folder / ".lock").touch()
        (folder / "media-1234.part").write_bytes(b"\0" * 4096)
        os.utime(folder / ".lock", (time.time() - 60, time.time() - 60))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys\n"
        f"fh = open({str(live / '.lock')!r}, 'a'); fcntl.flock(fh, fcntl.LOCK_EX)\n"
        "print('locked', flush=True); sys.stdin.readline()")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.html").write_text("<html>not media</html>")
    try:
        assert holder.stdout.readline().strip() == "locked"
        with MediaServer(site) as server:
            r = cli("-w", str(workspace.root), "transcribe", "--allow-private", server.url("page.html"))
    finally:
        holder.communicate("\n", timeout=30)
    assert r.code == 0 and "1 failed" in r.err, r.err
    assert not dead.exists()  # nobody holds its lock: a dead run's downloads
    assert (live / "media-1234.part").exists()  # a live run's: kept
    assert sorted(p.name for p in scratch.iterdir()) == ["running-run"]  # this run's own is gone too
