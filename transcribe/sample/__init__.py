"""A public-domain recording bundled for ``provenance demo`` (see README.md beside this file)."""

from __future__ import annotations

from importlib import resources

from provenance.ledger import Ledger

SAMPLE_NAME = "jfk.opus"
SAMPLE_LICENSE = "public domain"  # a US federal government work; normalised to the Public Domain Mark


def transcribe_sample(ledger: Ledger):  # -> tuple[str, transcribe.pipeline.Stats]
    """Transcribe the bundled sample into ``ledger`` with the bundled model on the CPU (idempotent)."""
    from transcribe.model import choose_runtime, resolve_model
    from transcribe.pipeline import Request, Settings, transcribe_media

    with resources.as_file(resources.files(__name__) / SAMPLE_NAME) as path:
        request = Request(inputs=(str(path),), user_license=SAMPLE_LICENSE)
        return transcribe_media(ledger, request, resolve_model(None), choose_runtime("cpu"), Settings())
