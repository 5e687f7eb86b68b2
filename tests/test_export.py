"""Exports: what a policy clears, with text, manifest, attribution, Croissant and data card; recorded
in the ledger; byte-identical for the same ledger and policy."""

from __future__ import annotations

import json
import shutil

import pyarrow.parquet as pq
import pytest
from test_audit_fixture import EXPECTED, build_fixture, spec_of, text_for

from provenance.export import ExportError, audit_and_export, export_policy
from provenance.export.files import checksums
from provenance.policies import builtin, parse_policy


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    fx = build_fixture(root / "ws")
    url = "https://data.example/datasets/open"
    first = export_policy(fx.ledger, builtin("open"), root / "a" / "open", creator="Test Lab", url=url)
    second = export_policy(fx.ledger, builtin("open"), root / "b" / "open-again", creator="Test Lab", url=url)
    return fx, first, second


def test_same_ledger_and_policy_give_byte_identical_files(exported):
    _, first, second = exported
    assert first.out_dir != second.out_dir
    assert (first.out_dir / "manifest.parquet").read_bytes() == (second.out_dir / "manifest.parquet").read_bytes()
    assert checksums(first.out_dir) == checksums(second.out_dir) == first.files
    assert sorted(first.files) == ["ATTRIBUTION.md", "README.md", "croissant.json", "data/train-00000.parquet",
                                   "manifest.parquet", "provenance-export.json"]


def test_manifest_lists_the_cleared_documents_with_their_evidence(exported):
    fx, first, _ = exported
    manifest = pq.read_table(first.out_dir / "manifest.parquet")
    assert manifest.column_names[:6] == ["doc_id", "url", "license", "consent", "evidence", "cluster"]
    rows = manifest.to_pylist()
    assert fx.keys(r["doc_id"] for r in rows) == EXPECTED["policies"]["open"]
    assert [r["doc_id"] for r in rows] == sorted(r["doc_id"] for r in rows)
    a3 = next(r for r in rows if r["doc_id"] == fx.ids["A3"])
    assert a3["license"] == "CC-BY-SA-4.0" and a3["cluster"] == "K1" and a3["consent"] == "granted"
    assert a3["evidence"] == "license: rel_license: CC-BY-SA-4.0; consent: license=CC-BY-SA-4.0"
    assert a3["file"] == "data/train-00000.parquet"


def test_data_files_hold_the_text_from_the_shards_with_provenance(exported):
    fx, first, _ = exported
    data = pq.read_table(first.out_dir / "data" / "train-00000.parquet")
    meta = pq.ParquetFile(first.out_dir / "data" / "train-00000.parquet").metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    back = {v: k for k, v in fx.ids.items()}
    for row in data.to_pylist():
        key = back[row["id"]]
        assert row["text"] == text_for(spec_of(key))
        assert row["license"] == spec_of(key).license and row["source_run_id"]
    assert {"license_url", "consent_evidence", "cluster", "fetched_at"} <= set(data.column_names)


def test_attribution_lists_every_work_whose_license_requires_it(exported):
    fx, first, _ = exported
    text = (first.out_dir / "ATTRIBUTION.md").read_text()
    items = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(items) == len(EXPECTED["attribution"]) == first.n_attribution
    for key in EXPECTED["attribution"]:
        spec = spec_of(key)
        line = next(i for i in items if spec.title in i)
        assert spec.license in line
        if spec.url:
            assert spec.url in line
        if spec.author:
            assert f"by {spec.author}" in line
    assert "Open two" not in text  # CC0 requires no attribution
    assert "https://creativecommons.org/licenses/by-sa/4.0/" in text


def test_croissant_metadata_is_filled_from_the_ledger(exported):
    fx, first, _ = exported
    meta = json.loads((first.out_dir / "croissant.json").read_text())
    assert "http://mlcommons.org/croissant/1.1" in meta["conformsTo"]
    assert "http://mlcommons.org/croissant/RAI/1.0" in meta["conformsTo"]
    for key in ("name", "description", "license", "url", "creator", "datePublished", "distribution", "recordSet"):
        assert meta[key], key
    assert meta["creator"]["name"] == "Test Lab"
    assert meta["url"] == "https://data.example/datasets/open" and meta["version"] == "1.0.0"
    assert meta["identifier"] == f"urn:sha256:{first.root_sha256}"
    assert meta["datePublished"].endswith("Z")
    files = {d["@id"]: d for d in meta["distribution"]}
    assert files["manifest.parquet"]["sha256"] == first.manifest_sha256
    assert files["data/train-00000.parquet"]["sha256"] == first.files["data/train-00000.parquet"]
    assert sorted(meta["license"]) == sorted([
        "https://creativecommons.org/licenses/by/4.0/", "https://creativecommons.org/licenses/by-sa/4.0/",
        "https://creativecommons.org/publicdomain/zero/1.0/", "https://spdx.org/licenses/MIT.html"])
    assert meta["rai:dataCollectionTimeframe"] == ["2026-03-01T12:00:00Z", "2026-03-01T13:00:00Z"]
    assert "Web Scraping" in meta["rai:dataCollectionType"]
    assert meta["rai:dataCollection"] and meta["rai:dataLimitations"] and meta["rai:personalSensitiveInformation"]
    assert {e["name"] for e in meta["prov:wasDerivedFrom"]} == {"open.example", "blog.example"}
    labels = [a["prov:label"] for a in meta["prov:wasGeneratedBy"]]
    assert labels[:-1] == ["crawl", "import", "transcribe", "dedup"] and "export" in labels[-1]
    fields = {f["name"] for f in meta["recordSet"][0]["field"]}
    assert {"id", "text", "license", "consent"} <= fields


def test_readme_data_card(exported):
    _, first, _ = exported
    card = (first.out_dir / "README.md").read_text()
    assert card.startswith("---\n") and "# provenance export: policy `open`" in card
    assert f"{len(EXPECTED['policies']['open'])} documents" in card
    assert first.manifest_sha256 in card and "ATTRIBUTION.md" in card and "## Limitations" in card


def test_exports_are_recorded_in_the_ledger(exported):
    fx, first, second = exported
    exports = fx.ledger.query("SELECT * FROM exports ORDER BY created_at").to_pylist()
    assert [e["export_id"] for e in exports] == [first.export_id, second.export_id]
    assert exports[0]["n_documents"] == len(EXPECTED["policies"]["open"])
    assert exports[0]["manifest_sha256"] == exports[1]["manifest_sha256"] == first.manifest_sha256
    assert json.loads(exports[0]["files"]) == first.files
    members = fx.ledger.query(f"SELECT doc_id, file FROM export_members WHERE export_id = '{first.export_id}'")
    assert fx.keys(members.column("doc_id").to_pylist()) == EXPECTED["policies"]["open"]
    runs = fx.ledger.query("SELECT status FROM runs WHERE command = 'export'").column("status").to_pylist()
    assert runs == ["finished", "finished"]


def test_exporting_again_to_the_same_place_adds_nothing(exported):
    fx, first, _ = exported
    again = export_policy(fx.ledger, builtin("open"), first.out_dir, creator="Test Lab",
                          url="https://data.example/datasets/open")
    assert not again.recorded and again.export_id == first.export_id and again.files == first.files
    assert fx.ledger.query("SELECT count(*) AS n FROM export_member_log WHERE export_id = ?",
                           [first.export_id]).column("n")[0].as_py() == len(EXPECTED["policies"]["open"])


def test_missing_shards_are_reported(tmp_path):
    fx = build_fixture(tmp_path / "ws")
    for path in (fx.workspace.shards_dir / "web").glob("*.parquet"):
        shutil.move(path, tmp_path / path.name)
    with pytest.raises(ExportError, match="restore the workspace's shards/"):
        export_policy(fx.ledger, builtin("open"), tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert fx.ledger.query("SELECT count(*) AS n FROM exports").column("n")[0].as_py() == 0


def test_empty_export_and_user_policy_from_the_cli(exported, cli, tmp_path):
    fx, _, _ = exported
    policy = tmp_path / "none.toml"
    policy.write_text('name = "nothing"\nlicenses = ["CC-BY-NC-SA-4.0"]\n')
    out = cli("-w", str(fx.workspace.root), "export", "--policy", str(policy), "--out", str(tmp_path / "e"))
    assert out.code == 0, out.err
    assert "cleared no document" in out.err
    assert pq.read_table(tmp_path / "e" / "manifest.parquet").num_rows == 0
    assert "No document of this export" in (tmp_path / "e" / "ATTRIBUTION.md").read_text()
    bad = cli("-w", str(fx.workspace.root), "export", "--policy", "opne", "--out", str(tmp_path / "x"))
    assert bad.code == 1 and "built-in policies: open, research, strict" in bad.err


def test_strict_cli_export_and_audit_and_export(tmp_path, cli):
    fx = build_fixture(tmp_path / "ws")
    out = cli("-w", str(fx.workspace.root), "export", "--policy", "strict", "--out", str(tmp_path / "strict"))
    assert out.code == 0, out.err
    rows = pq.read_table(tmp_path / "strict" / "manifest.parquet").column("doc_id").to_pylist()
    assert fx.keys(rows) == EXPECTED["policies"]["strict"]
    both = audit_and_export(fx.workspace, policy="research")
    assert both.report == fx.workspace.reports_dir / "audit.html" and both.report.exists()
    assert both.export.out_dir == fx.workspace.exports_dir / "research"
    assert both.export.n_documents == len(EXPECTED["policies"]["research"])
    assert "exports_list" in both.report.read_text() and str(both.export.out_dir) in both.report.read_text()


def test_a_policy_with_quality_minimum_never_fails_open(tmp_path):
    fx = build_fixture(tmp_path / "ws")
    policy = parse_policy('extends = "open"\n[transcripts]\nmax_no_speech_prob = 0.1')
    result = export_policy(fx.ledger, policy, tmp_path / "q")
    ids = pq.read_table(tmp_path / "q" / "manifest.parquet").column("doc_id").to_pylist()
    assert fx.keys(ids) == EXPECTED["policies"]["open"] - {"T1"} and result.n_documents == 4


def test_large_exports_split_into_several_data_files(tmp_path, monkeypatch):
    from provenance.export import run

    monkeypatch.setattr(run, "ROWS_PER_FILE", 2)
    fx = build_fixture(tmp_path / "ws")
    result = export_policy(fx.ledger, builtin("research"), tmp_path / "r")
    data = sorted(p.name for p in (tmp_path / "r" / "data").iterdir())
    assert data == ["train-00000.parquet", "train-00001.parquet", "train-00002.parquet", "train-00003.parquet"]
    manifest = pq.read_table(tmp_path / "r" / "manifest.parquet").to_pylist()
    assert len(manifest) == result.n_documents == len(EXPECTED["policies"]["research"])
    for row in manifest:  # every document is in the file the manifest names, in doc_id order
        ids = pq.read_table(tmp_path / "r" / row["file"]).column("id").to_pylist()
        assert row["doc_id"] in ids and ids == sorted(ids)
    members = fx.ledger.query("SELECT file, count(*) AS n FROM export_members GROUP BY file ORDER BY file").to_pylist()
    assert [m["n"] for m in members] == [2, 2, 2, 2]


def test_a_reader_answers_while_an_export_runs(tmp_path):
    """The export computes from a read-only snapshot: another process reads the ledger (waiting
    at most 2 s for the lock) while the export streams its documents, and the export's run is
    recorded by the short writes around it."""
    import subprocess
    import sys

    fx = build_fixture(tmp_path / "ws")
    probe = ("import sys; from provenance.ledger import Ledger; "
             "print(Ledger(sys.argv[1], lock_wait_s=2).query('SELECT count(*) AS n FROM documents').to_pylist()[0]['n'])")
    answers: list[subprocess.CompletedProcess] = []

    def progress(n: int) -> None:  # called while the export writes its data files
        if not answers:
            answers.append(subprocess.run([sys.executable, "-c", probe, str(fx.ledger.workspace.root)],
                                          capture_output=True, text=True))

    result = export_policy(fx.ledger, builtin("open"), tmp_path / "out", progress=progress)
    assert answers and answers[0].returncode == 0, answers[0].stderr[-300:] if answers else "no progress"
    assert int(answers[0].stdout) == fx.ledger.query("SELECT count(*) AS n FROM documents").to_pylist()[0]["n"]
    runs = fx.ledger.query("SELECT status, n_documents FROM runs WHERE command = 'export'").to_pylist()
    assert runs == [{"status": "finished", "n_documents": result.n_documents}] and result.n_documents > 0
    members = fx.ledger.query("SELECT count(*) AS n FROM export_members WHERE export_id = ?", [result.export_id])
    assert members.to_pylist() == [{"n": result.n_documents}]
    assert not (fx.ledger.workspace.runs_dir / "export-members.parquet").exists()
