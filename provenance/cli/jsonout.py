"""``--json`` for every command that does work: one JSON object on stdout, human messages on stderr.

The object is built from what the ledger recorded, not from what a command printed: the runs this
process started during the command (``run_log`` has each run's pid and host), each with its status
and counts, plus the outputs a command noted with :func:`note_output`. A command that fails still
prints its object (``"ok": false`` with the error) before exiting non-zero.

Exit codes (every command): 0 success; 1 an error the message explains (bad input, a refused
output, a lost shard, a failed check or verification); 2 a usage error (unknown option, bad value);
130 interrupted (Ctrl-C), with what was committed kept.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import click

OUTPUTS_KEY = "provenance.outputs"
JSON_HELP = ("Print one JSON object on stdout (ok, exit_code, run_id, counts, runs, outputs); "
             "human messages go to stderr.")


def note_output(name: str, path: object) -> None:
    """Record an output of the running command (a report, an export directory) for ``--json``."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().meta.setdefault(OUTPUTS_KEY, {})[name] = str(path)


def with_json_option(command: click.Command) -> click.Command:
    """Give ``command`` a ``--json`` flag (once; a command with its own ``--json`` keeps it)."""
    if any("--json" in getattr(p, "opts", ()) for p in command.params):
        return command
    command.params.append(click.Option(["--json", "as_json"], is_flag=True, help=JSON_HELP))
    callback = command.callback
    assert callback is not None
    command.callback = _json_callback(command.name or "", callback)
    return command


def _json_callback(name: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, as_json: bool = False, **kwargs: Any) -> Any:
        if not as_json:
            return callback(*args, **kwargs)
        ctx = click.get_current_context()
        since = _utcnow() - timedelta(seconds=1)
        error: BaseException | None = None
        code = 0
        try:
            with contextlib.redirect_stdout(sys.stderr):  # human messages never reach stdout
                return callback(*args, **kwargs)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
            raise
        except click.Abort as exc:
            error, code = exc, 130
            raise
        except KeyboardInterrupt as exc:
            error, code = exc, 130
            raise
        except click.ClickException as exc:
            error, code = exc, exc.exit_code
            raise
        except Exception as exc:  # noqa: BLE001 - reported in the object, then raised unchanged
            error, code = exc, 1
            raise
        finally:
            _print(name, ctx, since, code, error)

    return run


def _utcnow() -> datetime:
    from provenance.ids import utcnow

    return utcnow()


def _print(name: str, ctx: click.Context, since: datetime, code: int, error: BaseException | None) -> None:
    root = ctx.find_root()
    workspace = root.obj
    runs = _runs_of_this_process(workspace, since)
    last = runs[-1] if runs else None
    outputs = {"workspace": str(workspace.root), **root.meta.get(OUTPUTS_KEY, {})}
    ok = error is None and code == 0 and all(r["status"] in ("finished", "running") for r in runs)
    obj = {
        "command": name, "ok": ok, "exit_code": code,
        "error": None if error is None else (str(error) or type(error).__name__),
        "run_id": last["run_id"] if last else None,
        "status": last["status"] if last else None,
        "counts": last["counts"] if last else None,
        "runs": runs, "outputs": outputs,
    }
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def _runs_of_this_process(workspace: Any, since: datetime) -> list[dict[str, Any]]:
    from provenance.ledger import Ledger, LedgerError

    if not workspace.ledger_path.exists():
        return []
    try:
        table = Ledger(workspace).query(
            "SELECT run_id, command, status, started_at, finished_at, counts, config FROM runs "
            "WHERE pid = ? AND host = ? AND started_at >= ? ORDER BY started_at, run_id",
            [os.getpid(), socket.gethostname(), since])
    except LedgerError:
        return []
    runs = []
    for row in table.to_pylist():
        for key in ("counts", "config"):
            row[key] = json.loads(row[key]) if row[key] else None
        for key in ("started_at", "finished_at"):
            if row[key] is not None:
                row[key] = row[key].isoformat() + "Z"
        runs.append(row)
    return runs
