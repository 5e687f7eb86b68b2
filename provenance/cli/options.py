"""Option sets shared by several commands (one decorator each, not copied per command)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

OUTPUT_FORMATS = ("table", "csv", "json")


def output_format(default: str = "table") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--format", "fmt", type=click.Choice(OUTPUT_FORMATS), default=default,
                        show_default=True, help="Output format (json: one array of objects).")


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$", re.IGNORECASE)


def parse_size(value: str | int) -> int:
    """'500M', '2G', '20MB', '1048576' -> bytes (binary multiples: 1K = 1024)."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(value)
    if not match:
        raise click.BadParameter(f"{value!r} is not a size such as 500K, 20MB, 2G or 1048576")
    power = " kmgt".index(match[2].lower() or " ")
    return int(float(match[1]) * (1024 ** power))


def format_size(n_bytes: int) -> str:
    """Bytes -> the shortest exact SIZE spelling ('10M', '2G', '1500')."""
    for power, unit in ((4, "T"), (3, "G"), (2, "M"), (1, "K")):
        if n_bytes and n_bytes % (1024 ** power) == 0:
            return f"{n_bytes // 1024 ** power}{unit}"
    return str(n_bytes)


def parse_duration(value: str | float) -> float:
    """'90', '90s', '30m', '4h' -> seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(value)
    if not match:
        raise click.BadParameter(f"{value!r} is not a duration such as 90s, 30m or 4h")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2].lower()]


class Size(click.ParamType):
    """A size in bytes, written like 500K, 20MB, 2G or 1048576: the same for every command."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return parse_size(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


class Duration(click.ParamType):
    """A duration in seconds, written like 90, 90s, 30m or 4h."""

    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            return parse_duration(value)
        except click.BadParameter as exc:
            self.fail(exc.message, param, ctx)


SIZE = Size()
DURATION = Duration()


def workspace_of(ctx: click.Context):  # -> Workspace
    return ctx.find_root().obj
