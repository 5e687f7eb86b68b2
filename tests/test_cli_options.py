"""Options mean the same in every command: sizes like 20MB, durations like 30m, defaults from the library."""

from __future__ import annotations

import click
import pytest

from crawl.config import CrawlSettings
from provenance.cli import cli
from provenance.cli.options import format_size, parse_duration, parse_size


@pytest.mark.parametrize(("text", "n_bytes"), [
    ("1048576", 1048576), ("500K", 500 * 1024), ("20MB", 20 << 20), ("20mb", 20 << 20), ("2G", 2 << 30),
    ("1.5M", int(1.5 * (1 << 20))), ("3KiB", 3072),
])
def test_sizes(text, n_bytes):
    assert parse_size(text) == n_bytes


@pytest.mark.parametrize("text", ["", "M", "-5M", "10 parsecs", "1e6"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(click.BadParameter):
        parse_size(text)


def test_size_spelling_round_trips():
    for n in (10 << 20, 5 << 20, 2 << 30, 1500, 4096):
        assert parse_size(format_size(n)) == n


def test_durations():
    assert [parse_duration(t) for t in ("90", "90s", "30m", "4h")] == [90.0, 90.0, 1800.0, 14400.0]


def test_every_byte_limit_takes_a_size_and_crawl_defaults_are_the_librarys():
    ctx = click.Context(cli)
    for name in cli.list_commands(ctx):
        for param in cli.get_command(ctx, name).params:
            if param.name and param.name.endswith("bytes"):
                assert param.type.name == "SIZE", (name, param.name)
    crawl = {p.name: p for p in cli.get_command(ctx, "crawl").params}
    defaults = CrawlSettings()
    assert parse_size(crawl["max_bytes"].default) == defaults.max_bytes
    assert parse_size(crawl["max_extract_bytes"].default) == defaults.max_extract_bytes
    assert (crawl["max_pages"].default, crawl["delay"].default, crawl["timeout"].default) == \
        (defaults.max_pages, defaults.delay, defaults.timeout)


def test_a_bad_size_is_a_usage_error(cli, tmp_path):
    r = cli("-w", str(tmp_path / "ws"), "crawl", "http://127.0.0.1:9/", "--max-bytes", "lots")
    assert r.code == 2 and "is not a size" in r.err and not (tmp_path / "ws").exists()


def test_cli_defaults_are_the_librarys_defaults():
    from crawl.config import CrawlSettings
    from dedup.pipeline import DedupOptions
    from provenance.cli import cli
    from provenance.cli.options import parse_duration, parse_size
    from transcribe.settings import Settings

    def defaults(name: str) -> dict:
        import click

        command = cli.get_command(click.Context(cli), name)
        return {p.name: p.default for p in command.params}

    dedup, library = defaults("dedup"), DedupOptions()
    for name in ("threshold", "num_perm", "ngram", "seed", "scheme", "batch_size", "engine", "workers"):
        assert dedup[name] == getattr(library, name), name
    transcribe, settings = defaults("transcribe"), Settings()
    assert parse_size(transcribe["max_bytes"]) == settings.max_bytes
    assert parse_duration(transcribe["max_duration"]) == settings.max_duration_s
    assert transcribe["timeout_s"] == settings.timeout_s and transcribe["commit_every"] == settings.commit_every
    assert transcribe["beam_size"] == settings.options.beam_size and transcribe["vad"] == settings.options.vad_filter
    from crawl.importers.options import ImportOptions

    imported, import_options = defaults("import"), ImportOptions()
    for name in ("text", "url", "license", "consent", "title", "id", "fetched_at", "language"):
        assert imported[f"{name}_column"] == getattr(import_options.columns, name), name
    assert imported["engine"] == import_options.engine and imported["workers"] == import_options.workers
    crawl, crawl_settings = defaults("crawl"), CrawlSettings()
    assert crawl["max_pages"] == crawl_settings.max_pages and crawl["delay"] == crawl_settings.delay
