"""`provenance transcribe --engine ray` gives what `--engine local` gives, on a real local Ray.

The parity test transcribes the same inputs (the speech fixture, a clip made from it, a copy of that
clip, an empty file, and a clip served over HTTP on 127.0.0.1) with both engines, the same model
(the bundled tiny.en) and the same settings, and compares transcripts and ledger rows column by
column, leaving out only what differs by nature: run ids, timestamps, timings and shard file names.
Ray runs with 2 CPUs and 2 actors (one thread each), started once for the module.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from provenance.ledger import Ledger
from provenance.workspace import Workspace
from test_transcribe_units import FIXTURE, MediaServer, clip
from transcribe.distributed import ClusterTooSmallError, plan_workers
from transcribe.model import ModelError

SETTINGS = ("--cpu-threads", "1", "--license", "CC-BY-4.0", "--commit-every", "2")
# columns that differ between two runs of the same work by nature
VOLATILE = {"run_id", "transcription_id", "fetched_at", "transcribed_at", "observed_at", "elapsed_s",
            "real_time_factor", "shard", "discovered_at", "recorded_at"}


def table(ws: Workspace, sql: str) -> list[dict]:
    rows = Ledger(ws).query(sql).to_pylist()
    return sorted(({k: v for k, v in r.items() if k not in VOLATILE} for r in rows), key=repr)


def snapshot(ws: Workspace) -> dict[str, list[dict]]:
    return {
        "documents": table(ws, "SELECT d.*, c.text FROM documents d JOIN corpus c USING (doc_id, text_sha256)"),
        "transcriptions": table(ws, "SELECT * FROM transcriptions"),
        "transcription_log": table(ws, "SELECT * FROM transcription_log"),
        "segments": table(ws, "SELECT * FROM segments"),
        "license_findings": table(ws, "SELECT * FROM license_findings"),
        "fetches": table(ws, "SELECT * FROM fetches"),
    }


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():  # left by an earlier module: this one needs its own 2-CPU Ray
        ray.shutdown()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    speech = media / "speech.flac"
    shutil.copy(FIXTURE, speech)
    short = clip(media / "short.wav", 4.0)
    copy = media / "short-copy.wav"
    copy.write_bytes(short.read_bytes())  # the same audio twice: the first in input order is the transcript
    (media / "empty.wav").write_bytes(b"")
    site = tmp_path_factory.mktemp("site")
    clip(site / "talk.wav", 3.0)
    return media, site


def transcribe(cli, root, media, server, *extra: str):
    args = [str(media / "speech.flac"), str(media / "short.wav"), str(media / "short-copy.wav"),
            str(media / "empty.wav"), server.url("talk.wav")]
    return cli("-w", str(root), "transcribe", "--allow-private", *args, *SETTINGS, *extra)


@pytest.mark.ray
def test_ray_engine_gives_the_same_transcripts_and_rows_as_local(local_ray, inputs, tmp_path, cli):
    media, site = inputs
    with MediaServer(site) as server:  # one server, so one URL, for the three runs
        local = transcribe(cli, tmp_path / "local", media, server)
        remote = transcribe(cli, tmp_path / "ray", media, server, "--engine", "ray", "--workers", "2")
        # idempotent on Ray too: a second run finds everything done (local files by their hash, on
        # the actors) and writes nothing
        again = transcribe(cli, tmp_path / "ray", media, server, "--engine", "ray", "--workers", "2")
    assert local.code == 0, local.err
    assert remote.code == 0, remote.err
    assert "2 Ray workers, 1 CPU thread each (int8) on the Ray already running" in remote.err
    for r in (local, remote):
        assert "3 transcribed" in r.err and "1 failed" in r.err and "1 already transcribed" in r.err, r.err

    a, b = Workspace(tmp_path / "local"), Workspace(tmp_path / "ray")
    expected, got = snapshot(a), snapshot(b)
    assert len(expected["documents"]) == 3 and len(expected["segments"]) >= 3
    assert {d["title"] for d in expected["documents"]} == {"speech.flac", "short.wav", "talk.wav"}
    for name in expected:
        assert got[name] == expected[name], name

    [ra], [rb] = (Ledger(w).query("SELECT config, counts FROM runs WHERE command = 'transcribe' "
                                  "ORDER BY started_at LIMIT 1").to_pylist()
                  for w in (a, b))
    timing = {"wall_s", "model_s", "real_time_factor"}
    ca, cb = ({k: v for k, v in json.loads(r["counts"]).items() if k not in timing} for r in (ra, rb))
    assert ca == cb
    config = json.loads(rb["config"])
    assert (config["engine"], config["workers"], config["cpus_per_worker"]) == ("ray", 2, 1.0)
    assert json.loads(ra["config"])["engine"] == "local"

    assert again.code == 0, again.err
    assert "0 transcribed" in again.err and "4 already transcribed" in again.err, again.err
    assert "1 failed earlier and skipped" in again.err
    assert snapshot(b) == got


@pytest.mark.ray
def test_a_worker_that_cannot_load_the_model_stops_the_run_with_the_reason(local_ray, tmp_path, cli):
    r = cli("-w", str(tmp_path / "ws"), "transcribe", str(FIXTURE), "--engine", "ray", "--workers", "1",
            "--compute-type", "float16")  # a GPU type: CPU workers cannot load the model with it
    assert r.code == 1
    assert "a Ray worker could not load the model" in r.err and "float16 is not supported on cpu" in r.err
    [run] = Ledger(Workspace(tmp_path / "ws")).query("SELECT status FROM runs").to_pylist()
    assert run["status"] == "failed"
    deadline = time.monotonic() + 30  # the actor was stopped: its CPU comes back to the cluster
    while local_ray.available_resources().get("CPU") != 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert local_ray.available_resources().get("CPU") == 2


# --- choices that need no cluster ---------------------------------------------------------------

def test_one_worker_per_gpu_or_per_cpu_threads():
    gpu = plan_workers(32, 4, device="auto", compute_type=None, batch_size=None, cpu_threads=0, workers=None)
    assert (gpu.workers, gpu.gpus_per_worker, gpu.runtime.device, gpu.runtime.compute_type,
            gpu.runtime.batch_size) == (4, 1.0, "cuda", "float16", 16)
    cpu = plan_workers(32, 4, device="cpu", compute_type=None, batch_size=None, cpu_threads=0, workers=None)
    assert (cpu.workers, cpu.cpus_per_worker, cpu.gpus_per_worker, cpu.runtime.cpu_threads) == (8, 4.0, 0.0, 4)
    small = plan_workers(2, 0, device="auto", compute_type=None, batch_size=None, cpu_threads=0, workers=None)
    assert (small.workers, small.runtime.cpu_threads, small.runtime.device) == (1, 2, "cpu")
    asked = plan_workers(8, 0, device="auto", compute_type=None, batch_size=None, cpu_threads=0, workers=3)
    assert (asked.workers, asked.runtime.cpu_threads) == (3, 2)
    with pytest.raises(ClusterTooSmallError, match="need 4 CPUs; the Ray cluster has 2"):
        plan_workers(2, 0, device="cpu", compute_type=None, batch_size=None, cpu_threads=2, workers=2)
    with pytest.raises(ClusterTooSmallError, match="one worker per GPU"):
        plan_workers(32, 2, device="cuda", compute_type=None, batch_size=None, cpu_threads=0, workers=3)
    with pytest.raises(ModelError, match="has no GPU"):
        plan_workers(32, 0, device="cuda", compute_type=None, batch_size=None, cpu_threads=0, workers=None)


def test_ray_options_need_the_ray_engine(cli, tmp_path):
    r = cli("-w", str(tmp_path / "ws"), "transcribe", str(FIXTURE), "--workers", "2")
    assert r.code == 2 and "--engine ray" in r.err


def test_missing_ray_says_how_to_install_it(tmp_path):
    # a real process in which `import ray` fails, as it does without the distributed extra
    code = ("import sys; sys.modules['ray'] = None\n"
            "from provenance.cli import main\n"
            f"main(['-w', {str(tmp_path / 'ws')!r}, 'transcribe', {str(FIXTURE)!r}, '--engine', 'ray'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "pip install 'corpus-provenance[distributed]'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "ws" / "ledger.duckdb").exists()  # nothing ran
