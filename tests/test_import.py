"""`provenance import` of JSONL and Parquet, end to end on real files and a real ledger."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import write_jsonl

ROWS = [
    {"url": "https://blog.example/a", "text": "An openly licensed post about gardens.", "license": "https://creativecommons.org/licenses/by/4.0/"},
    {"url": "https://blog.example/b", "text": "A post whose owner objects.", "license": "CC BY-SA 4.0", "consent": "opted_out"},
    {"url": "https://news.example/c", "text": "A reserved news story.", "license": "© 2025 News Ltd. All rights reserved."},
    {"url": "https://news.example/d", "text": "No license stated here."},
    {"text": "A row without any URL at all."},
]


def count_docs(cli, ws) -> int:
    result = cli("-w", str(ws.root), "sql", "SELECT count(*) AS n FROM documents", "--format", "json")
    assert result.code == 0, result.err
    return result.json()[0]["n"]


def test_jsonl_import_normalises_license_and_resolves_consent(cli, workspace, tmp_path):
    data = write_jsonl(tmp_path / "data.jsonl", ROWS)
    result = cli("-w", str(workspace.root), "import", str(data))
    assert result.code == 0, result.err
    got = cli("-w", str(workspace.root), "sql",
              "SELECT url, license, consent, consent_evidence, source_type, domain FROM documents ORDER BY url NULLS LAST",
              "--format", "json").json()
    assert [(g["license"], g["consent"]) for g in got] == [
        ("CC-BY-4.0", "granted"),
        ("CC-BY-SA-4.0", "opted_out"),
        ("LicenseRef-all-rights-reserved", "unspecified"),
        (None, "unspecified"),
        (None, "unspecified"),
    ]
    assert "import_column=opted_out" in got[1]["consent_evidence"]
    assert {g["source_type"] for g in got} == {"import"}
    assert got[0]["domain"] == "blog.example" and got[4]["domain"] is None
    texts = cli("-w", str(workspace.root), "sql",
                "SELECT c.text FROM corpus c JOIN documents d USING (doc_id) WHERE d.url = 'https://news.example/d'",
                "--format", "json").json()
    assert texts == [{"text": "No license stated here."}]
    shards = list((workspace.shards_dir / "import").glob("*.parquet"))
    assert len(shards) == 1 and pq.ParquetFile(shards[0]).metadata.row_group(0).column(0).compression == "ZSTD"


def test_importing_the_same_file_twice_changes_nothing(cli, workspace, tmp_path):
    data = write_jsonl(tmp_path / "data.jsonl", ROWS)
    assert cli("-w", str(workspace.root), "import", str(data)).code == 0
    before = count_docs(cli, workspace)
    second = cli("-w", str(workspace.root), "import", str(data))
    assert second.code == 0 and "0 new or changed documents" in second.err
    assert count_docs(cli, workspace) == before == len(ROWS)
    log = cli("-w", str(workspace.root), "sql", "SELECT count(*) AS n FROM document_log", "--format", "json").json()
    assert log == [{"n": len(ROWS)}]
    assert len(list((workspace.shards_dir / "import").glob("*.parquet"))) == 1


def test_parquet_import_with_column_mapping(cli, workspace, tmp_path):
    table = pa.table({
        "body": [r["text"] for r in ROWS[:4]],
        "link": [r["url"] for r in ROWS[:4]],
        "rights": [r.get("license") for r in ROWS[:4]],
        "id": ["r1", "r2", "r3", "r4"],
    })
    path = tmp_path / "corpus.parquet"
    pq.write_table(table, path, row_group_size=2)
    result = cli("-w", str(workspace.root), "import", str(path), "--text-column", "body", "--url-column", "link",
                 "--license-column", "rights", "--id-column", "id")
    assert result.code == 0, result.err
    got = cli("-w", str(workspace.root), "sql", "SELECT url, license FROM documents ORDER BY url", "--format", "json").json()
    assert [g["license"] for g in got] == ["CC-BY-4.0", "CC-BY-SA-4.0", "LicenseRef-all-rights-reserved", None]


def test_missing_text_column_names_the_columns_found(cli, workspace, tmp_path):
    data = write_jsonl(tmp_path / "data.jsonl", [{"body": "x", "link": "https://a.example/"}])
    result = cli("-w", str(workspace.root), "import", str(data))
    assert result.code == 1
    assert "no text column 'text'" in result.err and "body, link" in result.err and "--text-column" in result.err

    pq.write_table(pa.table({"content": ["x"]}), tmp_path / "p.parquet")
    result = cli("-w", str(workspace.root), "import", str(tmp_path / "p.parquet"))
    assert result.code == 1 and "columns found: content" in result.err


def test_malformed_line_is_reported_with_its_number_and_nothing_is_stored(cli, workspace, tmp_path):
    lines = [json.dumps(ROWS[0]), json.dumps(ROWS[1]), '{"text": "broken', json.dumps(ROWS[3])]
    data = write_jsonl(tmp_path / "bad.jsonl", lines)
    result = cli("-w", str(workspace.root), "import", str(data))
    assert result.code == 1
    assert "bad.jsonl:3" in result.err and "invalid JSON" in result.err and "Nothing from bad.jsonl was stored" in result.err
    assert count_docs(cli, workspace) == 0
    assert list((workspace.shards_dir / "import").glob("*")) == [] if (workspace.shards_dir / "import").exists() else True
    runs = cli("-w", str(workspace.root), "sql", "SELECT status FROM runs", "--format", "json").json()
    assert runs == [{"status": "failed"}]


def test_skip_bad_rows_skips_and_records_them(cli, workspace, tmp_path):
    path = tmp_path / "mixed.jsonl"
    with open(path, "wb") as fh:
        fh.write(json.dumps(ROWS[0]).encode() + b"\n")
        fh.write(b'{"text": "\xff\xfe invalid utf-8"}\n')
        fh.write(b'[1, 2]\n')
        fh.write(json.dumps({"url": "https://x.example/", "text": ""}).encode() + b"\n")
        fh.write(json.dumps(ROWS[3]).encode() + b"\n")
    result = cli("-w", str(workspace.root), "import", str(path), "--skip-bad-rows")
    assert result.code == 0, result.err
    assert "3 bad rows skipped" in result.err
    assert count_docs(cli, workspace) == 2
    bad = cli("-w", str(workspace.root), "sql", "SELECT url, outcome, reason FROM fetches ORDER BY url", "--format", "json").json()
    assert [b["url"] for b in bad] == ["import:mixed.jsonl:2", "import:mixed.jsonl:3", "import:mixed.jsonl:4"]
    assert all(b["outcome"] == "error" for b in bad)
    assert "invalid UTF-8" in bad[0]["reason"] and "expected a JSON object" in bad[1]["reason"] and "empty" in bad[2]["reason"]


def test_gzipped_jsonl_and_unknown_consent_value(cli, workspace, tmp_path):
    path = tmp_path / "data.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(json.dumps({"text": "hello", "consent": "maybe"}) + "\n")
    result = cli("-w", str(workspace.root), "import", str(path))
    assert result.code == 1 and "consent value 'maybe'" in result.err


def test_truncated_parquet_gets_a_clear_error(cli, workspace, tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": ["a", "b"]}), path)
    path.write_bytes(path.read_bytes()[:-20])
    result = cli("-w", str(workspace.root), "import", str(path))
    assert result.code == 1 and "not a readable Parquet file" in result.err


def test_unknown_format_and_missing_file(cli, workspace, tmp_path):
    (tmp_path / "x.csv").write_text("text\nhello\n")
    result = cli("-w", str(workspace.root), "import", str(tmp_path / "x.csv"))
    assert result.code == 1 and "--format" in result.err
    result = cli("-w", str(workspace.root), "import", str(tmp_path / "nope.jsonl"))
    assert result.code == 1 and "does not exist" in result.err


def test_large_import_streams_in_batches(cli, workspace, tmp_path):
    from provenance.staging import ROW_GROUP_ROWS

    n = ROW_GROUP_ROWS + 5_000
    path = tmp_path / "big.jsonl"
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"url": f"https://big.example/{i}", "text": f"document {i}"}) + "\n")
    assert cli("-w", str(workspace.root), "import", str(path)).code == 0
    assert count_docs(cli, workspace) == n
    # staged a row group of documents at a time: two shards
    assert len(list((workspace.shards_dir / "import").glob("*.parquet"))) == 2


def _columns(first: int, n: int, *, with_title: bool, text: str = "t"):
    from crawl.importers.tabular import Columns

    return Columns(n=n, where=pa.array([f"f:{i}" for i in range(first, first + n)]),
                   text=pa.array([f"{text}{i}" for i in range(first, first + n)]), text_reason=pa.nulls(n, pa.string()),
                   title=pa.array([f"title {i}" for i in range(first, first + n)]) if with_title else None)


def test_input_batches_are_regrouped_by_rows_and_by_text_bytes():
    from crawl.importers.tabular import _regrouped

    parts = [_columns(0, 7, with_title=True), _columns(7, 5, with_title=False), _columns(12, 9, with_title=True)]
    out = list(_regrouped(iter(parts), 10, 1 << 20))
    assert [b.n for b in out] == [10, 10, 1]
    assert sum((b.where.to_pylist() for b in out), []) == [f"f:{i}" for i in range(21)]
    assert sum((b.text.to_pylist() for b in out), []) == [f"t{i}" for i in range(21)]
    # a column some input batches lack is NULL in their rows
    titles = sum((b.title.to_pylist() for b in out), [])
    assert titles == [f"title {i}" for i in range(7)] + [None] * 5 + [f"title {i}" for i in range(12, 21)]
    # long texts: a batch ends once its texts reach the bound, whatever its rows
    long = [_columns(i * 3, 3, with_title=False, text="x" * 100) for i in range(4)]
    out = list(_regrouped(iter(long), 10, 600))
    assert [b.n for b in out] == [6, 6]
    assert sum((b.where.to_pylist() for b in out), []) == [f"f:{i}" for i in range(12)]


def test_parquet_with_the_wrong_schema_is_refused_and_nothing_stored_is_lost(cli, workspace, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", ROWS[:2])
    assert cli("-w", str(workspace.root), "import", str(good)).code == 0
    wrong = tmp_path / "wrong.parquet"
    pq.write_table(pa.table({"text": [1, 2, 3], "url": ["https://w.example/1", "https://w.example/2", None]}), wrong)
    result = cli("-w", str(workspace.root), "import", str(wrong))
    assert result.code == 1 and "holds int, not a string" in result.err and "wrong.parquet#row=1" in result.err
    assert count_docs(cli, workspace) == 2
    skipped = cli("-w", str(workspace.root), "import", str(wrong), "--skip-bad-rows")
    assert skipped.code == 0 and "3 bad rows skipped" in skipped.err
    assert count_docs(cli, workspace) == 2
