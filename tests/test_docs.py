"""The docs document every command, option and view, the generated references are current, and
the README stays a short front page."""

from __future__ import annotations

import re

import click

from provenance.cli import cli
from provenance.cli.reference import VIEW_ORDER, main as reference_main
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
CLI_DOC = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
SQL_DOC = (REPO / "docs" / "sql.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands():
    first = README.split("\n## ")[0]
    assert "make demo" in first and "make test" in first


def test_readme_is_a_short_front_page():
    assert len(README.encode("utf-8")) <= 15 * 1024


def test_readme_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (REPO / target).exists(), target


def test_reference_docs_are_current():
    assert reference_main(["--check"]) == 0, "run: python -m provenance.cli.reference"


def test_every_command_and_option_is_in_the_cli_reference():
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        assert f"### `provenance {name}`" in CLI_DOC, name
        assert f"Usage: provenance {name} " in CLI_DOC, name
        for param in cli.get_command(ctx, name).params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in CLI_DOC, f"{name} {opt} undocumented"


def test_every_view_has_a_description():
    assert "undocumented" not in SQL_DOC
    for view in VIEW_ORDER:
        assert re.search(rf"\*\*`{view}`\*\*", SQL_DOC), view


def test_ci_runs_make_test_and_the_makefile_installs_from_the_locks():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "requirements.lock" in makefile and "requirements-dev.lock" in makefile
    assert "\ntest:" in makefile and "\ndemo:" in makefile and "\ncheck:" in makefile
