"""Near-duplicate detection: exact and MinHash/LSH clusters over the Parquet shards, rights-aware.

Modules, in pipeline order: ``params`` (what signatures depend on), ``shingles`` (word n-grams and
their hashes), ``minhash`` (datasketch-identical signatures in numpy batches), ``tasks`` (the signature stage as
pure tasks), ``engine`` (the
signature stage over row groups and the banding stage: the local engine, worker processes), ``index`` (signatures kept between runs),
``lsh`` (bands, candidate pairs, verification), ``clusters`` (components, canonical choice) and
``state`` and ``incremental`` (what a run keeps, and a run over what changed since) and
``pipeline`` (the ``provenance dedup`` run). ``ray_engine`` runs the signature and banding stages
as Ray tasks (``--engine ray``; Ray is imported only there). ``synthetic`` generates test and
benchmark corpora.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dedup.pipeline import DedupOptions, DedupSummary

__all__ = ["dedup"]


def dedup(workspace: str | os.PathLike, options: DedupOptions | None = None, **fields: Any) -> DedupSummary:
    """Find exact and near-duplicate documents in ``workspace`` (the library form of
    ``provenance dedup``). Pass a :class:`dedup.pipeline.DedupOptions`, or its fields as keywords
    (``threshold=0.8``, ``num_perm=128``, ``ngram=5``, ``engine="local"``, ...)."""
    from dedup.engine import make_engine
    from dedup.pipeline import DedupOptions, run_dedup
    from provenance.ledger import Ledger

    if options is not None and fields:
        raise TypeError("pass either options or keyword fields, not both")
    chosen = options if options is not None else DedupOptions(**fields)
    make_engine(chosen.engine, chosen.workers, chosen.batch_size, chosen.ray_address)  # fail before any write
    return run_dedup(Ledger(workspace), chosen)
