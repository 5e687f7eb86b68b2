"""The distribution's name and version, defined once."""

from __future__ import annotations

DISTRIBUTION = "corpus-provenance"  # `provenance` on PyPI is an unrelated project


def install_hint(extra: str) -> str:
    """The pip command that installs ``extra`` of this distribution (never PyPI's `provenance`)."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def version() -> str:
    """The installed version of this distribution ("0" when running from an uninstalled tree)."""
    from importlib import metadata  # here, not at import: `provenance sql` starts without it

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0"
