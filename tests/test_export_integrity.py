"""Tamper-evident exports: export re-hashes every text and refuses a changed shard; the manifest's
root hash and ``provenance verify`` say exactly what changed in an export, without a workspace."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from test_audit_fixture import build_fixture

from provenance.export import export_policy
from provenance.export.integrity import root_of
from provenance.export.verify import NotAnExport, verify_export
from provenance.outputs import EXPORT_MARKER
from provenance.policies import builtin


def rewrite(path: Path, change) -> None:
    """Rewrite a Parquet file with ``change(table) -> table`` (same schema)."""
    table = pq.read_table(path)
    pq.write_table(change(table).cast(table.schema), path)


def set_value(table: pa.Table, key: str, key_value: str, column: str, value) -> pa.Table:
    hit = pc.equal(table[key], key_value)
    new = pc.if_else(hit, pa.scalar(value, table.schema.field(column).type), table[column])
    return table.set_column(table.schema.get_field_index(column), column, new)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def manual_root(manifest: Path) -> str:
    """The documented recipe (docs/security.md), written out independently of the code under test."""
    rows = pq.read_table(manifest, columns=["doc_id", "text_sha256"]).to_pylist()
    lines = sorted(f"{r['doc_id']}\t{r['text_sha256']}\n" for r in rows)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    fx = build_fixture(root / "ws")
    result = export_policy(fx.ledger, builtin("open"), root / "good")
    return fx, result


@pytest.fixture
def copy(good, tmp_path):
    _, result = good
    target = tmp_path / "copy"
    shutil.copytree(result.out_dir, target)
    return target


# -- export refuses changed text -------------------------------------------------------------------------


def test_export_refuses_a_shard_whose_text_changed_and_names_the_documents(tmp_path, cli):
    fx = build_fixture(tmp_path / "ws")
    target = fx.ids["A1"]
    shard = fx.ledger.query("SELECT shard FROM documents WHERE doc_id = ?", [target]).column("shard")[0].as_py()
    path = fx.workspace.absolute(shard)
    # The text changes, its text_sha256 column is left as it was: only re-hashing can see it.
    rewrite(path, lambda t: set_value(t, "doc_id", target, "text", "a quietly edited text"))
    out = tmp_path / "out"
    result = cli("-w", str(fx.workspace.root), "export", "--policy", "open", "--out", str(out))
    assert result.code == 1 and target in result.err and "no longer matches" in result.err
    assert "Traceback" not in result.err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["ws"]  # nothing half-written
    assert fx.ledger.query("SELECT count(*) AS n FROM exports").column("n")[0].as_py() == 0
    status = fx.ledger.query("SELECT status FROM runs WHERE command = 'export'").column("status").to_pylist()
    assert status == ["failed"]


def test_export_refuses_a_shard_whose_text_and_hash_column_changed(tmp_path):
    from provenance.export import ExportError

    fx = build_fixture(tmp_path / "ws")
    target = fx.ids["A3"]
    shard = fx.ledger.query("SELECT shard FROM documents WHERE doc_id = ?", [target]).column("shard")[0].as_py()
    new = "rewritten with its hash"
    rewrite(fx.workspace.absolute(shard), lambda t: set_value(
        set_value(t, "doc_id", target, "text", new), "doc_id", target, "text_sha256", sha(new)))
    with pytest.raises(ExportError, match=target):
        export_policy(fx.ledger, builtin("open"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- the root hash --------------------------------------------------------------------------------------


def test_root_hash_is_the_documented_recipe(good):
    fx, result = good
    counts = fx.ledger.query("SELECT counts FROM runs WHERE command = 'export'").column("counts")[0].as_py()
    assert json.loads(counts)["root_sha256"] == result.root_sha256  # the ledger keeps it, for --root
    marker = json.loads((result.out_dir / EXPORT_MARKER).read_text())
    assert result.root_sha256 == marker["root_sha256"] == manual_root(result.out_dir / "manifest.parquet")
    assert result.root_sha256 in (result.out_dir / "README.md").read_text()
    assert json.loads((result.out_dir / "croissant.json").read_text())["sha256"] == result.root_sha256
    assert marker["files"]["manifest.parquet"] == result.manifest_sha256
    assert root_of([]) == hashlib.sha256(b"").hexdigest()
    assert root_of([("b", "2"), ("a", "1")]) == sha("a\t1\nb\t2\n")


# -- verify -----------------------------------------------------------------------------------------------


def test_an_intact_export_verifies_anywhere(good, copy, cli):
    _, result = good
    out = cli("verify", str(copy))
    assert out.code == 0 and out.out.startswith("OK:") and result.root_sha256 in out.out
    assert cli("verify", str(copy), "--root", result.root_sha256).code == 0


def test_verify_names_a_changed_text(good, copy, cli):
    fx, _ = good
    target = fx.ids["A2"]
    data = copy / "data" / "train-00000.parquet"
    rewrite(data, lambda t: set_value(t, "id", target, "text", "not what was exported"))
    out = cli("verify", str(copy), "--json")
    assert out.code == 1
    report = json.loads(out.out)
    assert not report["ok"]
    assert report["counts"] == {"file_modified": 1, "text_modified": 1}
    kinds = {(f["kind"], f["subject"]) for f in report["findings"]}
    assert kinds == {("file_modified", "data/train-00000.parquet"), ("text_modified", target)}


def test_verify_sees_a_text_whose_hashes_were_rewritten_everywhere_but_the_root(good, copy):
    fx, _ = good
    target, new = fx.ids["A2"], "forged text"
    data, manifest = copy / "data" / "train-00000.parquet", copy / "manifest.parquet"
    rewrite(data, lambda t: set_value(set_value(t, "id", target, "text", new), "id", target, "text_sha256", sha(new)))
    rewrite(manifest, lambda t: set_value(t, "doc_id", target, "text_sha256", sha(new)))
    marker = json.loads((copy / EXPORT_MARKER).read_text())
    for rel in ("data/train-00000.parquet", "manifest.parquet"):  # the forger fixes the file hashes too
        marker["files"][rel] = hashlib.sha256((copy / rel).read_bytes()).hexdigest()
    (copy / EXPORT_MARKER).write_text(json.dumps(marker))
    result = verify_export(copy)
    assert result.counts == {"manifest_tampered": 1}
    # ... and one who also rewrites the marker's root is caught against the root kept elsewhere.
    original = marker["root_sha256"]
    marker["root_sha256"] = manual_root(manifest)
    (copy / EXPORT_MARKER).write_text(json.dumps(marker))
    assert verify_export(copy).ok
    caught = verify_export(copy, expected_root=original)
    assert caught.counts == {"root_mismatch": 1}


def test_verify_names_added_and_removed_documents_and_files(good, copy):
    fx, _ = good
    data = copy / "data" / "train-00000.parquet"
    removed = fx.ids["A1"]

    def change(t: pa.Table) -> pa.Table:
        kept = t.filter(pc.not_equal(t["id"], removed))
        extra = kept.slice(0, 1)
        extra = set_value(extra, "id", extra["id"][0].as_py(), "id", "feedfacefeedfacefeedface")
        return pa.concat_tables([kept, extra])

    rewrite(data, change)
    (copy / "ATTRIBUTION.md").unlink()
    (copy / "data" / "extra.parquet.txt").write_text("smuggled\n")
    result = verify_export(copy)
    found = {(f.kind, f.subject) for f in result.findings}
    assert found == {("file_modified", "data/train-00000.parquet"), ("file_removed", "ATTRIBUTION.md"),
                     ("file_added", "data/extra.parquet.txt"), ("doc_removed", removed),
                     ("doc_added", "feedfacefeedfacefeedface")}


def test_verify_refuses_a_directory_that_is_not_an_export(tmp_path, cli):
    (tmp_path / "manifest.parquet").write_text("x")
    with pytest.raises(NotAnExport):
        verify_export(tmp_path)
    out = cli("verify", str(tmp_path))
    assert out.code == 1 and "provenance-export.json" in out.err and "Traceback" not in out.err
    bad = cli("verify", str(tmp_path), "--root", "xyz")
    assert bad.code == 2


def test_verify_needs_no_workspace_and_writes_nothing(good, tmp_path):
    from conftest import run_process

    _, result = good
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(result.out_dir, elsewhere / "copy")
    before = sorted(p.relative_to(elsewhere).as_posix() for p in elsewhere.rglob("*"))
    out = run_process("verify", "copy", cwd=elsewhere, env={"PROVENANCE_WORKSPACE": str(tmp_path / "none")})
    assert out.code == 0 and out.out.startswith("OK:"), out.err
    assert sorted(p.relative_to(elsewhere).as_posix() for p in elsewhere.rglob("*")) == before
    assert not (tmp_path / "none").exists()
