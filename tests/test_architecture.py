"""The structure docs/architecture.md promises, read from the source with Python's own parser:
stages never import each other, the hub imports a stage only from its CLI, DuckDB is opened only
inside provenance/, and runs are opened and closed only through the stage contract."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("crawl", "transcribe", "dedup")
PACKAGES = (*STAGES, "provenance")


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    """Top-level package names a module imports (at any depth, type-checking blocks included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _calls(path: Path, names: set[str]) -> list[int]:
    """Lines where a method or function of one of ``names`` is called."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in names:
                lines.append(node.lineno)
    return lines


def test_the_packages_are_where_the_test_looks():
    for package in PACKAGES:
        assert len(_modules(package)) >= 10, package


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_never_imports_another_stage(stage):
    others = set(STAGES) - {stage}
    offending = {str(p.relative_to(ROOT)): sorted(_imports(p) & others) for p in _modules(stage)}
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_hub_imports_a_stage_only_from_its_cli():
    offending = {}
    for path in _modules("provenance"):
        if "cli" in path.relative_to(ROOT / "provenance").parts:
            continue
        stages = sorted(_imports(path) & set(STAGES))
        if stages:
            offending[str(path.relative_to(ROOT))] = stages
    assert offending == {}


@pytest.mark.parametrize("stage", STAGES)
def test_duckdb_is_opened_only_inside_the_hub(stage):
    assert [str(p.relative_to(ROOT)) for p in _modules(stage) if "duckdb" in _imports(p)] == []


def test_runs_are_opened_and_closed_only_through_the_stage_contract():
    allowed = {ROOT / "provenance" / "ledger.py", ROOT / "provenance" / "stage.py"}
    offending = {str(p.relative_to(ROOT)): lines for package in PACKAGES for p in _modules(package)
                 if p not in allowed and (lines := _calls(p, {"start_run", "finish_run"}))}
    assert offending == {}
