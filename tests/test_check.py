"""`provenance check`: every loss or change of what the ledger records is found and named."""

from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_process, write_jsonl


@pytest.fixture
def filled(cli, workspace, tmp_path):
    rows = [{"url": f"https://site{i % 2}.example/{i}", "text": f"the text of page {i}"} for i in range(8)]
    assert cli("-w", str(workspace.root), "import", str(write_jsonl(tmp_path / "d.jsonl", rows))).code == 0
    return workspace


def _shard(ws):
    return next((ws.root / "shards" / "import").glob("*.parquet"))


def _check(cli, ws):
    result = cli("-w", str(ws.root), "check", "--json")
    return result, result.json()


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_whole_workspace_passes(cli, filled):
    ledger = _digest(filled.ledger_path)
    result, report = _check(cli, filled)
    assert result.code == 0, result.err
    assert report["ok"] and report["problems"] == [] and report["counts"] == {}
    assert report["shards_registered"] == report["shards_present"] == 1
    assert report["texts_checked"] == report["texts_matching"] == 8
    assert _digest(filled.ledger_path) == ledger
    human = cli("-w", str(filled.root), "check")
    assert human.code == 0 and "ok: nothing lost or changed" in human.out


def test_a_changed_text_is_named(cli, filled):
    shard = _shard(filled)
    table = pq.read_table(shard)
    victim = table["doc_id"][3].as_py()
    texts = table["text"].to_pylist()
    texts[3] = texts[3] + " (edited after the fact)"
    table = table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts))
    pq.write_table(table, shard)  # text_sha256 column left as it was: a quiet edit
    result, report = _check(cli, filled)
    assert result.code == 1
    assert report["counts"] == {"text_changed": 1}
    assert report["problems"][0]["subject"] == victim
    assert report["texts_matching"] == 7
    human = cli("-w", str(filled.root), "check")
    assert human.code == 1 and victim in human.out
    assert human.err.startswith("Error: ") and human.err.count("\n") == 1


def test_a_removed_row_is_named(cli, filled):
    shard = _shard(filled)
    table = pq.read_table(shard)
    victim = table["doc_id"][0].as_py()
    pq.write_table(table.filter(pc.not_equal(table["doc_id"], victim)), shard)
    result, report = _check(cli, filled)
    assert result.code == 1 and report["counts"] == {"text_missing": 1}
    assert report["problems"][0]["subject"] == victim


def test_a_missing_shard_is_named(cli, filled, tmp_path):
    shard = _shard(filled)
    shard.rename(tmp_path / "elsewhere.parquet")
    result, report = _check(cli, filled)
    assert result.code == 1 and report["counts"] == {"shard_missing": 1}
    assert report["problems"][0]["subject"] == shard.relative_to(filled.root).as_posix()
    assert "8 documents" in report["problems"][0]["detail"]


def test_an_unreadable_shard_is_named(cli, filled):
    shard = _shard(filled)
    shard.write_bytes(b"not parquet at all")
    result, report = _check(cli, filled)
    assert result.code == 1 and report["counts"] == {"shard_unreadable": 1}


def test_dangling_references_are_named(cli, filled):
    con = duckdb.connect(str(filled.ledger_path))
    con.execute("INSERT INTO cluster_log VALUES (nextval('cluster_seq'), 'no-such-doc', 'c1', true, 1.0, 'x', now(), 'r')")
    con.execute("UPDATE document_state SET shard = 'shards/import/gone.parquet' WHERE doc_id = (SELECT min(doc_id) FROM document_state)")
    con.close()
    result, report = _check(cli, filled)
    assert result.code == 1
    assert report["counts"]["dangling"] == 1 and report["counts"]["shard_unregistered"] == 1
    subjects = {p["subject"] for p in report["problems"]}
    assert {"no-such-doc", "shards/import/gone.parquet"} <= subjects


def test_no_ledger_or_a_broken_one_is_a_one_line_error(tmp_path):
    result = run_process("-w", str(tmp_path / "none"), "check")
    assert result.code == 1 and "no ledger" in result.err and "Traceback" not in result.err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "ledger.duckdb").write_bytes(b"this is not a database" * 100)
    result = run_process("-w", str(broken), "check")
    assert result.code == 1 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_the_stored_corpus_view_names_a_missing_shard(filled, tmp_path):
    from provenance.ledger import Ledger, LedgerError

    ledger = Ledger(filled)
    assert ledger.query("SELECT count(*) AS n FROM corpus").column("n")[0].as_py() == 8
    shard = _shard(filled)
    shard.rename(tmp_path / "elsewhere.parquet")
    with pytest.raises((duckdb.Error, LedgerError), match=shard.name):
        ledger.query("SELECT count(*) AS n FROM corpus")
    assert ledger.query("SELECT count(*) AS n FROM documents").column("n")[0].as_py() == 8
