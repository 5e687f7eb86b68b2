"""``--json`` on every command that does work: one JSON object on stdout, built from what the
ledger recorded; human messages on stderr; a failure still prints its object and exits non-zero.
Real processes (the installed console script), a real ledger."""

from __future__ import annotations

import json

import click
import pytest

from provenance.cli import WORK_COMMANDS, cli
from provenance.ledger import Ledger
from tests.conftest import run_process, write_jsonl

ROWS = [
    {"url": "https://example.org/a", "text": "the first text of this small corpus", "license": "CC-BY-4.0"},
    {"url": "https://example.org/b", "text": "the second text of this small corpus"},
]


def one_object(stdout: str) -> dict:
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout  # nothing else on stdout
    return json.loads(lines[0])


def test_every_work_command_takes_json():
    ctx = click.Context(cli)
    names = [n for n in cli.list_commands(ctx) if n in WORK_COMMANDS]
    assert {"crawl", "import", "transcribe", "dedup", "audit", "export", "revoke", "demo"} <= set(names)
    for name in [*names, "check", "verify"]:
        opts = [o for p in cli.get_command(ctx, name).params for o in getattr(p, "opts", [])]
        assert opts.count("--json") == 1, name


def test_import_export_audit_revoke_print_the_ledgers_runs(tmp_path):
    ws = str(tmp_path / "ws")
    data = write_jsonl(tmp_path / "d.jsonl", ROWS)
    r = run_process("-w", ws, "import", str(data), "--json")
    assert r.code == 0, r.err
    obj = one_object(r.out)
    assert "documents stored" in r.err and "documents stored" not in r.out  # human messages: stderr
    [run] = Ledger(tmp_path / "ws").query("SELECT run_id, counts FROM runs WHERE command = 'import'").to_pylist()
    assert (obj["command"], obj["ok"], obj["exit_code"], obj["error"]) == ("import", True, 0, None)
    assert obj["run_id"] == run["run_id"] and obj["counts"] == json.loads(run["counts"])
    assert obj["counts"]["documents"] == 2 and obj["status"] == "finished"
    assert [x["run_id"] for x in obj["runs"]] == [run["run_id"]]

    out = tmp_path / "cleared"
    r = run_process("-w", ws, "export", "--policy", "open", "--out", str(out), "--json")
    assert r.code == 0, r.err
    obj = one_object(r.out)
    assert obj["outputs"]["export"] == str(out) and obj["counts"]["documents"] == 1
    assert "export" in obj["run_id"] and obj["runs"][-1]["command"] == "export"

    r = run_process("-w", ws, "audit", "--json")
    assert r.code == 0, r.err
    obj = one_object(r.out)
    assert obj["outputs"]["report"].endswith("audit.html")
    assert [x["command"] for x in obj["runs"]] == ["audit"] and obj["counts"]["report"] == obj["outputs"]["report"]

    r = run_process("-w", ws, "revoke", "--url", ROWS[1]["url"], "--reason", "owner asked", "--json")
    assert r.code == 0, r.err
    obj = one_object(r.out)
    assert obj["command"] == "revoke" and obj["runs"][0]["command"] == "revoke"


@pytest.mark.parametrize("args", [
    ("import", "no-such-file.jsonl"),
    ("export", "--policy", "no-such-policy", "--out", "x"),
])
def test_a_failure_prints_its_object_and_exits_non_zero(tmp_path, args):
    r = run_process("-w", str(tmp_path / "ws"), *args, "--json", cwd=tmp_path)
    assert r.code != 0
    obj = one_object(r.out)
    assert obj["ok"] is False and obj["exit_code"] == r.code and obj["error"]
    assert "Traceback" not in r.err and obj["error"] in r.err.replace("Error: ", "")


def test_json_with_the_report_on_stdout_is_a_usage_error(tmp_path):
    ws = str(tmp_path / "ws")
    assert run_process("-w", ws, "import", str(write_jsonl(tmp_path / "d.jsonl", ROWS))).code == 0
    r = run_process("-w", ws, "audit", "--out", "-", "--json")
    assert r.code == 2 and "--json" in r.err
