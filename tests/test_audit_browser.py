"""The HTML audit in a real headless Chromium: it renders, its charts are there, no console errors.

Needs Chromium from Debian packages (`apt-get update && apt-get install -y chromium`); CI installs
it. The browser gets no network: the report must be self-contained.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_audit_fixture import build_fixture

from provenance.audit import write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr",
         "--v=0", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>")
CONSOLE = re.compile(r"CONSOLE|Uncaught|Failed to load resource|ERR_", re.IGNORECASE)


def browser() -> str:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed: run `apt-get update && apt-get install -y chromium` "
                "(Debian) to run the browser check of the HTML audit; CI installs it")


def run_browser(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                          text=True, timeout=120)


class Counter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    fx = build_fixture(root / "ws")
    path = root / "report" / "audit.html"
    write_report(fx.ledger, path, "html")
    return path


def test_the_report_renders_with_its_sections_and_charts(report_file, tmp_path):
    exe = browser()
    done = run_browser(exe, tmp_path / "profile", "--dump-dom", report_file.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = Counter()
    dom.feed(done.stdout)
    for section in ("summary", "licenses", "consent", "conflicts", "transcripts", "dedup", "revocations",
                    "policies", "top-domains", "consent-drift", "appendix"):
        assert section in dom.ids, f"section {section} missing from the rendered DOM"
    assert dom.tags.get("svg", 0) >= 6 and dom.tags.get("rect", 0) >= 20  # charts with bars
    assert dom.tags.get("table", 0) >= 15
    errors = [line for line in done.stderr.splitlines() if CONSOLE.search(line)]
    assert not errors, errors


def test_the_report_paints(report_file, tmp_path):
    exe = browser()
    shot = tmp_path / "shot.png"
    done = run_browser(exe, tmp_path / "profile", "--window-size=1200,2000", f"--screenshot={shot}",
                       report_file.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a blank page compresses to far less
    errors = [line for line in done.stderr.splitlines() if CONSOLE.search(line)]
    assert not errors, errors


def test_the_console_check_catches_errors(tmp_path):
    """The check above can fail: a page with a script error is caught."""
    exe = browser()
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script></body></html>")
    done = run_browser(exe, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert any(CONSOLE.search(line) for line in done.stderr.splitlines())
