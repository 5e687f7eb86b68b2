"""Generate the CLI and SQL references (docs/cli.md, docs/sql.md) from the code itself, so the
docs cannot drift.

``python -m provenance.cli.reference`` rewrites both files; ``--check`` exits 1 when either is out
of date (the test suite runs it).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

# The views users meet first, in this order; the rest follow alphabetically. Descriptions come
# from the views' own comments (COMMENT ON VIEW in the migrations).
VIEW_ORDER = ("documents", "corpus", "fetches", "consent_signals", "license_findings", "media",
              "clusters", "revocations", "runs")
MACRO_DESCRIPTIONS: dict[str, str] = {
    "documents_as_of": "`documents_as_of(ts)`: the `documents` view as it stood at time `ts` (UTC).",
}


def _command_help(name: str, command: click.Command, parent: click.Context) -> str:
    ctx = click.Context(command, info_name=name, parent=parent, terminal_width=100,
                        max_content_width=100)
    return command.get_help(ctx)


def cli_reference() -> str:
    from provenance.cli import cli

    root = click.Context(cli, info_name="provenance", terminal_width=100,
                         **cli.context_settings)
    parts = ["```", cli.get_help(root), "```"]
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        assert command is not None, name
        parts += ["", f"### `provenance {name}`", "", "```", _command_help(name, command, root), "```"]
    return "\n".join(parts)


def sql_reference() -> str:
    from provenance.ledger import Ledger
    from provenance.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Workspace(Path(tmp)))
        with ledger.writer():
            pass
        comments = {r["view_name"]: r["comment"] for r in ledger.query(
            "SELECT view_name, comment FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'"
        ).to_pylist()}
        views = sorted(comments)
        macros = ledger.query(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'table_macro' "
            "AND NOT internal ORDER BY 1").column("function_name").to_pylist()
        columns = {v: ledger.query(f"DESCRIBE {v}").to_pylist() for v in views}
    ordered = [v for v in VIEW_ORDER if v in views] + [v for v in views if v not in VIEW_ORDER]
    parts = []
    for view in ordered:
        desc = comments[view] or "(undocumented: add COMMENT ON VIEW to its migration)"
        cols = ", ".join(f"`{c['column_name']}` {c['column_type']}" for c in columns[view])
        parts.append(f"- **`{view}`**: {desc}\n  Columns: {cols}.")
    for macro in macros:
        parts.append(f"- **{MACRO_DESCRIPTIONS.get(macro, f'`{macro}(...)` (undocumented)')}**")
    return "\n".join(parts)


CLI_HEADER = """# CLI reference

Generated from `--help` by `python -m provenance.cli.reference`; a test checks it is current.
`python -m provenance` is the same command as `provenance`.

**Machine-readable output.** Every command that does work (crawl, import, transcribe, dedup, audit,
export, revoke, demo; check and verify too) takes `--json`: it prints one JSON object on stdout and
its human messages on stderr. The object is built from what the ledger recorded: `ok`, `exit_code`,
`error`, the last run's `run_id`, `status` and `counts`, every run the command started (`runs`) and
its `outputs` (the workspace, a report, an export directory). A command that fails prints its object
too, with `"ok": false` and the error.

**Exit codes.** 0 success; 1 an error the message explains (bad input, a refused output, a lost
shard, a failed check or verification); 2 a usage error (unknown option, bad value); 130 interrupted
(Ctrl-C), with what was already committed kept.

"""
SQL_HEADER = """# SQL reference

The stable views of the ledger, generated from its schema (the views' own comments) by
`python -m provenance.cli.reference`; a test checks it is current. Tables ending in `_log` hold the
raw, append-only history behind them. Query them with `provenance sql` or `provenance.connect()`.

"""

# file under docs/ -> how to make its whole text
DOCS = {
    "cli.md": lambda: CLI_HEADER + cli_reference() + "\n",
    "sql.md": lambda: SQL_HEADER + sql_reference() + "\n",
}


def docs_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "docs"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    stale = []
    for name, make in DOCS.items():
        path = docs_dir() / name
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        updated = make()
        if updated == current:
            continue
        if "--check" in argv:
            import difflib

            diff = difflib.unified_diff(current.splitlines(True), updated.splitlines(True), f"docs/{name}", "generated")
            sys.stderr.writelines(list(diff)[:60])
            stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(updated, encoding="utf-8")
    if stale:
        print(f"docs/{', docs/'.join(stale)} out of date: run `python -m provenance.cli.reference`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
