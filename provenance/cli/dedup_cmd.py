"""``provenance dedup``: exact and near-duplicate clusters, with the canonical copy chosen by rights."""

from __future__ import annotations

import click

from dedup.params import (DEFAULT_BATCH_SIZE, DEFAULT_NGRAM, DEFAULT_NUM_PERM, DEFAULT_SCHEME, DEFAULT_SEED,
                          DEFAULT_THRESHOLD, SCHEMES)
from provenance.cli.options import workspace_of
from provenance.progress import Progress


@click.command()
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True), default=DEFAULT_THRESHOLD,
              show_default=True, help="Jaccard similarity of word n-gram sets above which two texts are near-duplicates.")
@click.option("--num-perm", type=click.IntRange(2, 4096), default=DEFAULT_NUM_PERM, show_default=True,
              help="MinHash permutations per signature (more: more accurate, slower).")
@click.option("--ngram", type=click.IntRange(1, 64), default=DEFAULT_NGRAM, show_default=True,
              help="Words per shingle.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: worker processes on this machine. ray: Ray tasks, on a local Ray started for "
                   "the run or on the cluster at --ray-address (needs the distributed extra).")
@click.option("--ray-address", metavar="HOST:PORT", default=None,
              help="With --engine ray: connect to this existing Ray cluster (all its CPUs) instead of "
                   "starting a local one. Every node must see the workspace at the same absolute path.")
@click.option("--workers", type=click.IntRange(1, 1024), default=None,
              help="Worker processes for signatures, or CPUs of a local Ray (default: one per core).")
@click.option("--batch-size", type=click.IntRange(16, 1_000_000), default=DEFAULT_BATCH_SIZE, show_default=True,
              help="Documents hashed together in a worker (bounds its memory).")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=DEFAULT_SEED, show_default=True,
              help="Seed of the MinHash permutations (datasketch's default is 1).")
@click.option("--scheme", type=click.Choice(SCHEMES), default=DEFAULT_SCHEME, show_default=True,
              help="datasketch 2.x permutation scheme (affine64 for very long documents).")
@click.pass_context
def dedup(ctx: click.Context, threshold: float, num_perm: int, ngram: int, engine: str, ray_address: str | None,
          workers: int | None, batch_size: int, seed: int, scheme: str) -> None:
    """Find exact and near-duplicate documents and choose the copy a corpus keeps.

    Exact duplicates (equal text after Unicode, case and whitespace normalisation) are joined
    first; then MinHash signatures of word n-grams, LSH banding tuned for --threshold and a check
    of each candidate pair's estimated Jaccard similarity join near-duplicates into clusters.
    The canonical member of a cluster has the clearest rights (consent granted over unspecified
    over opted_out, an open license over none), then the earliest first fetch of its text.

    Results are in the ledger: `documents` gains dup_cluster, is_canonical, dup_similarity,
    dup_reason and cluster_consent (the most restrictive consent in the cluster); `dup_clusters`
    has one row per cluster. Signatures are kept under index/minhash/ and the clusters' state under
    index/dedup/, so the next run only hashes new texts and redoes only the clusters they touch
    (the same clusters as a run from scratch); a run with nothing new changes nothing; a killed run
    keeps the signatures it finished. --engine ray gives the same clusters as --engine local.
    """
    from dedup.engine import make_engine
    from dedup.pipeline import DedupOptions, run_dedup
    from provenance.ledger import Ledger

    make_engine(engine, workers, batch_size, ray_address)  # refuse an unavailable engine before touching the ledger
    options = DedupOptions(threshold=threshold, num_perm=num_perm, ngram=ngram, seed=seed, scheme=scheme,
                           engine=engine, workers=workers, batch_size=batch_size, ray_address=ray_address)
    workspace = workspace_of(ctx)
    with Progress("dedup: signatures", unit="docs") as shown:
        summary = run_dedup(Ledger(workspace), options, progress=shown.advance)
    if summary.unchanged:
        click.echo(f"run {summary.run_id}: {summary.documents} documents, nothing changed since the last dedup "
                   f"run (same documents, texts, rights and parameters); clusters kept as they are", err=True)
        return
    click.echo(
        f"run {summary.run_id}: {summary.documents} documents, {summary.new_signatures} new signatures "
        f"({summary.reused_signatures} reused); {summary.exact_duplicates} exact duplicates, "
        f"{summary.candidate_edges} near-duplicate pairs; {summary.clusters} clusters holding "
        f"{summary.clustered_documents} documents; {summary.rows_written} cluster rows written "
        f"(threshold {threshold}, {summary.bands} bands x {summary.rows} rows)",
        err=True,
    )
