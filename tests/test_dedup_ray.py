"""`dedup --engine ray` gives exactly the clusters of `--engine local`: in this process on a local Ray
with 2 CPUs (started once for the module), through `--ray-address` from another process, and with
the local Ray the command starts itself."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dedup import synthetic
from dedup.pipeline import DedupOptions, run_dedup
from provenance.ledger import Ledger
from provenance.workspace import Workspace

ray = pytest.importorskip("ray", reason="the distributed extra (Ray) is not installed")
pytestmark = pytest.mark.ray

CLUSTER_COLUMNS = "doc_id, dup_cluster, is_canonical, similarity, reason"  # the clusters view less run_id, assigned_at
N_DOCS = 1600


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray with 2 CPUs for this module; yields its address for other processes."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    context = ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                       logging_level=logging.ERROR)
    try:
        yield context.address_info["gcs_address"]
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """A workspace holding a generated corpus with planted duplicates in several shards (several
    signature tasks), not yet deduplicated."""
    root = tmp_path_factory.mktemp("parity") / "stored"
    docs = synthetic.generate(N_DOCS, seed=11, copy_fraction=0.4, edit_rates=(0.0, 0.01, 0.02, 0.05, 0.1, 0.3))
    with Ledger(Workspace(root)).writer() as w:
        run = w.start_run("test")
        synthetic.store(w, docs, run.run_id, batch=450)
        w.finish_run(run)
    return root


@pytest.fixture(scope="module")
def local_result(stored, tmp_path_factory) -> dict:
    ws = copy_of(stored, tmp_path_factory.mktemp("local") / "ws")
    summary = run_dedup(Ledger(ws), DedupOptions(engine="local", workers=2, batch_size=200))
    return {"summary": summary, **result_of(ws)}


def copy_of(stored: Path, dest: Path) -> Workspace:
    shutil.copytree(stored, dest)
    return Workspace(dest)


def result_of(ws: Workspace) -> dict:
    ledger = Ledger(ws)
    parts = ledger.query("SELECT part FROM minhash_part_log").column("part").to_pylist()
    signatures = pa.concat_tables([pq.read_table(ws.absolute(p), columns=["doc_id", "norm_sha256", "signature"])
                                   for p in parts]).sort_by("doc_id")
    return {
        "clusters": ledger.query(f"SELECT {CLUSTER_COLUMNS} FROM clusters ORDER BY doc_id").to_pylist(),
        "signatures": signatures,
        "engines": ledger.query("SELECT engine FROM dedup_params").column("engine").to_pylist(),
    }


def counts(summary) -> dict:
    out = summary.counts()
    out.pop("rows_written")  # both write every row once here; kept for symmetry with a rerun
    return out


def test_the_corpus_has_clusters_to_compare(local_result):
    rows = local_result["clusters"]
    assert len(rows) > 300 and len({r["dup_cluster"] for r in rows}) > 100
    assert any(r["reason"].startswith("exact duplicate") for r in rows)
    assert any(r["reason"].startswith("near duplicate") for r in rows)
    assert local_result["summary"].new_signatures == N_DOCS


def test_ray_engine_equals_local_engine(local_ray, stored, local_result, tmp_path):
    ws = copy_of(stored, tmp_path / "ws")
    summary = run_dedup(Ledger(ws), DedupOptions(engine="ray", batch_size=200))
    assert summary.new_signatures == N_DOCS
    got = result_of(ws)
    assert got["engines"] == ["ray"]
    assert got["signatures"].equals(local_result["signatures"])  # the signature stage
    assert counts(summary) == counts(local_result["summary"])  # the banding stage: same candidate edges
    assert got["clusters"] == local_result["clusters"]  # clusters, canonical choices, similarities, reasons
    # a rerun on Ray hashes nothing and changes nothing
    again = run_dedup(Ledger(ws), DedupOptions(engine="ray"))
    assert (again.new_signatures, again.rows_written) == (0, 0)


def provenance(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "provenance"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=timeout)


def test_cli_connects_to_an_existing_cluster_with_ray_address(local_ray, stored, local_result, tmp_path):
    ws = copy_of(stored, tmp_path / "ws")
    proc = provenance("-w", str(ws.root), "dedup", "--engine", "ray", "--ray-address", local_ray)
    assert proc.returncode == 0, proc.stderr
    assert f"{N_DOCS} new signatures" in proc.stderr
    got = result_of(ws)
    assert got["clusters"] == local_result["clusters"]
    config = Ledger(ws).query("SELECT config FROM runs WHERE command = 'dedup'").column("config")[0].as_py()
    assert f'"ray_address": "{local_ray}"' in config and '"workers": 2' in config  # the cluster's CPUs


def test_cli_starts_a_local_ray_without_an_address(stored, local_result, tmp_path):
    ws = copy_of(stored, tmp_path / "ws")
    proc = provenance("-w", str(ws.root), "dedup", "--engine", "ray", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    assert result_of(ws)["clusters"] == local_result["clusters"]
    assert "WARNING" not in proc.stderr and "INFO" not in proc.stderr  # Ray kept quiet


def test_an_address_where_no_cluster_listens_fails_fast_with_what_to_do(stored, tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ws = copy_of(stored, tmp_path / "ws")
    proc = provenance("-w", str(ws.root), "dedup", "--engine", "ray", "--ray-address", f"127.0.0.1:{port}", timeout=60)
    assert proc.returncode == 1
    assert f"no Ray cluster answers at 127.0.0.1:{port}" in proc.stderr and "omit --ray-address" in proc.stderr
    assert Ledger(ws).query("SELECT count(*) AS n FROM runs WHERE command = 'dedup'").to_pylist() == [{"n": 0}]


def test_ray_banding_tasks_give_the_pairs_of_the_local_banding(local_ray):
    """The banding stage as Ray tasks (band groups, pair chunks) equals the in-process one, with
    buckets larger than max_bucket too."""
    from dedup.engine import LocalEngine
    from dedup.params import LshParams
    from dedup.ray_engine import RayEngine

    rng = np.random.default_rng(3)
    base = rng.integers(0, 2**32, (300, 128), dtype=np.uint64).astype(np.uint32)
    sigs = base[rng.integers(0, 300, 2000)].copy()
    sigs[rng.random(sigs.shape) < 0.08] = 7  # perturb slots: partial matches, some bands shared
    lsh = LshParams.for_threshold(0.7, 128)
    expected = LocalEngine().similar_pairs(sigs, lsh, 8)
    with RayEngine(workers=5) as engine:
        assert engine.workers == 2  # connected to the module's Ray: its CPUs
        got = engine.similar_pairs(sigs, lsh, 8)
    assert len(expected[0]) > 1000
    assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


def test_a_worker_that_cannot_see_a_shard_says_the_workspace_must_be_shared(local_ray, tmp_path):
    from dedup.engine import DedupError, SignatureTask
    from dedup.params import SignatureParams
    from dedup.ray_engine import RayEngine

    elsewhere = str(tmp_path / "not-mounted-here" / "shard.parquet")
    task = SignatureTask(shard=elsewhere, row_group=0, rows=np.array([0]))
    with RayEngine() as engine, pytest.raises(DedupError, match="same absolute path") as raised:
        list(engine.signatures([task], SignatureParams()))
    assert elsewhere in str(raised.value)
