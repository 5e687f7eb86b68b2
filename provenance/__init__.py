"""provenance: AI training corpora with proof of source, license and consent for every document.

Library use: ``provenance.connect(workspace)`` returns a read-only DuckDB connection with every view
ready, sandboxed like ``provenance sql`` (docs/security.md). Importing this package stays light:
DuckDB is loaded only when ``connect`` is called.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provenance.sandbox import ReadOnlyConnection

__all__ = ["connect"]


def connect(workspace: str | os.PathLike | None = None) -> ReadOnlyConnection:
    """A read-only connection to ``workspace``'s ledger (default: $PROVENANCE_WORKSPACE or
    ./workspace): every view ready, only SELECT accepted (judged by DuckDB's parser), file access
    limited to the workspace's shards, extensions neither installed nor loaded, configuration
    locked. ``execute``/``sql``/``query``/``table`` and the usual fetch methods; close it when done
    (or use ``with``)."""
    from provenance.sandbox import connect as sandboxed_connect

    return sandboxed_connect(workspace)
