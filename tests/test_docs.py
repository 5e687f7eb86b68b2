"""The README documents every command, option and view, and its reference is current."""

from __future__ import annotations

import re

import click

from provenance.cli import cli
from provenance.cli.reference import VIEW_ORDER, main as reference_main
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_setup_commands():
    first = README.split("\n## ")[0]
    assert "make demo" in first and "make test" in first


def test_reference_blocks_are_current():
    assert reference_main(["--check"]) == 0, "run: python -m provenance.cli.reference"


def test_every_command_and_option_is_in_the_readme():
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        assert f"provenance {name}" in README, name
        for param in cli.get_command(ctx, name).params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in README, f"{name} {opt} undocumented"


def test_every_view_has_a_description():
    block = README.split("<!-- sql-reference:start -->")[1].split("<!-- sql-reference:end -->")[0]
    assert "undocumented" not in block
    for view in VIEW_ORDER:
        assert re.search(rf"\*\*`{view}`\*\*", block), view


def test_ci_runs_make_test_and_the_makefile_installs_from_the_lock():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    makefile = (REPO / "Makefile").read_text()
    assert "requirements.lock" in makefile and "\ntest:" in makefile and "\ndemo:" in makefile
