"""The transcription stage: media files and URLs to transcript documents with full lineage.

Modules, each with one job:

* :mod:`transcribe.model` — which Whisper model and runtime (device, compute type, batching),
  the weights checksum.
* :mod:`transcribe.backend` — faster-whisper: load once, transcribe decoded audio.
* :mod:`transcribe.fetch` — download media over HTTP(S) (size cap, streaming, content type).
* :mod:`transcribe.audio` — decode any audio/video file to 16 kHz mono through PyAV.
* :mod:`transcribe.sources` — what to transcribe: media the crawl discovered, paths, URLs.
* :mod:`transcribe.lineage` — license and consent inherited from the embedding page.
* :mod:`transcribe.quality` — Whisper's own statistics turned into flags.
* :mod:`transcribe.rows` — transcription and segment rows for the ledger.
* :mod:`transcribe.work` — the work on one file, whichever engine runs it: prepare, transcribe.
* :mod:`transcribe.pipeline` — the run: plan, let an engine work, commit in batches, resume.
* :mod:`transcribe.distributed` — ``--engine ray``: the work on Ray actors (Ray imported only there).
* :mod:`transcribe.worker` — the body of one Ray actor: the model loaded once.
* :mod:`transcribe.scratch` — download folders, removed even after a run was killed.
* :mod:`transcribe.wer` — word error rate, to check a model against a known transcript.

faster-whisper (and so CTranslate2) is imported only by :mod:`transcribe.backend` and
:mod:`transcribe.model` functions that need it, never at package import; Ray only by
:mod:`transcribe.distributed` functions.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transcribe.pipeline import Settings, Stats

__all__ = ["transcribe"]


def transcribe(workspace: str | os.PathLike, inputs: Sequence[str] = (), *, from_ledger: bool = False,
               license: str | None = None, model: str | None = None, device: str = "auto",
               cpu_threads: int = 0, settings: Settings | None = None) -> tuple[str, Stats]:
    """Transcribe local files or URLs (``inputs``) and/or the media the crawl found
    (``from_ledger=True``) into ``workspace``: the library form of ``provenance transcribe``.
    ``license`` is the license the given inputs carry; ``model`` a name or local directory (default:
    the bundled tiny.en). Returns the run id and its statistics."""
    from provenance.ledger import Ledger
    from transcribe.model import choose_runtime, resolve_model
    from transcribe.pipeline import Request, Settings, transcribe_media

    request = Request(inputs=tuple(inputs), from_ledger=from_ledger, user_license=license)
    return transcribe_media(Ledger(workspace), request, resolve_model(model),
                            choose_runtime(device, cpu_threads=cpu_threads), settings or Settings())
