"""The distribution as a user installs it: its own name, `python -m provenance`, typed packages."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata, resources

from provenance.version import DISTRIBUTION, version


def test_distribution_has_its_own_name_and_the_provenance_command():
    dist = metadata.distribution(DISTRIBUTION)
    assert dist.metadata["Name"] == "corpus-provenance"
    assert version() == dist.version
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts == {"provenance": "provenance.cli:main"}


def test_python_dash_m_is_the_cli():
    proc = subprocess.run([sys.executable, "-m", "provenance", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: provenance ")
    proc = subprocess.run([sys.executable, "-m", "provenance", "--version"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"provenance, version {version()}"


def test_packages_are_marked_typed():
    for package in ("provenance", "crawl", "transcribe", "dedup"):
        assert resources.files(package).joinpath("py.typed").is_file(), package
