"""Shared fixtures: real workspaces in temp dirs, the CLI run in-process or as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from provenance.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture
def cli(capsys):
    """Run ``provenance ARGS`` in this process; returns exit code, stdout, stderr."""
    from provenance.cli import main

    def run(*args: str, stdin: str | None = None) -> CliResult:
        capsys.readouterr()
        old_stdin = sys.stdin
        if stdin is not None:
            import io

            sys.stdin = io.StringIO(stdin)
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.stdin = old_stdin
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_process(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300,
                stdin: str | None = None) -> CliResult:
    """Run the installed ``provenance`` console script as a real process."""
    exe = Path(sys.executable).parent / "provenance"
    proc = subprocess.run([str(exe), *args], cwd=cwd, env={**os.environ, **(env or {})}, input=stdin,
                          capture_output=True, text=True, timeout=timeout)
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def write_jsonl(path: Path, rows: list) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


# Modules whose tests run real crawls, kill processes, stream damaged archives or read whole
# conformance corpora: all in `make test`, left out of the fast `make check` (-m "not slow").
# Chosen from `pytest --durations=0` (each takes 6-75 s on 2 cores).
SLOW_MODULES = frozenset({
    "test_import_damage.py", "test_crawl.py", "test_license_vocab.py", "test_crawl_hostile.py",
    "test_warc_robots.py", "test_dedup_pipeline.py", "test_net.py", "test_transcribe.py", "test_cli_json.py",
    "test_crawl_net.py", "test_columnar.py", "test_transcribe_net.py", "test_readers.py",
    "test_import_parallel.py",
})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
