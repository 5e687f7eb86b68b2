"""Option sets shared by several commands (one decorator each, not copied per command)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

OUTPUT_FORMATS = ("table", "csv", "json")


def output_format(default: str = "table") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default=default,
                        show_default=True, help="Output format (json: one array of objects).")


def workspace_of(ctx: click.Context):  # -> Workspace
    return ctx.find_root().obj
