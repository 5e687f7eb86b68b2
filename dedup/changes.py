"""The cluster rows a dedup run writes: those that changed, in parts of whole groups of clusters.

A run's assignments (a Parquet file of every member of every cluster) are compared in DuckDB with
the current clusters, and only the rows that differ are written, with one row saying so for a
document that was in a cluster and is in none now.

A run writes its result as ``cluster_log`` rows, and the write folds them into ``document_state``
with an UPDATE, which DuckDB holds in memory until the commit and does not spill (the 2.6M rows
of a first run over 10M documents took 3.3 GB in one write). A large result is therefore written
in parts, one short write each. For a reader between two parts to see only whole clusters, a part
holds whole *groups*: the clusters a run assigns and the clusters documents are in now, linked
whenever one document moves from one to the other. A reader between two parts then sees each
group either as it was before the run or as the run leaves it, never a cluster with some of its
members moved out and others not yet.

One read-only pass (:func:`plan_parts`) finds the rows that change, counts them, and when they
need several parts finds the groups: the cluster ids those rows name, coded as integers by
DuckDB, with the links between codes joined by :func:`dedup.clusters.components`. The driver
holds a few integers per cluster; the ids stay in DuckDB and in one Parquet file that maps each
cluster id to its part. Only changed rows need linking: a document that keeps its cluster is
written by no part.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from dedup.clusters import components
from provenance.ledger import Ledger

PARTS_MEMORY = "512MiB"  # DuckDB's share while the changes are counted and the groups found (it spills past it)
IN_SCOPE = "doc_id IN (SELECT unnest($scope))"  # SQL: a row of one of the ``$scope`` documents

# The rows that differ from the current clusters (of the scope's documents, when a scope is given),
# with the cluster each document is in now (``c_cluster``).
_CHANGED_SQL = """
    SELECT doc_id, dup_cluster, is_canonical, similarity, reason, c_cluster
    FROM (
        SELECT coalesce(w.doc_id, c.doc_id) AS doc_id, w.dup_cluster,
               CASE WHEN w.doc_id IS NULL THEN true ELSE w.is_canonical END AS is_canonical,
               w.similarity,
               CASE WHEN w.doc_id IS NULL THEN $no_longer ELSE w.reason END AS reason,
               w.doc_id IS NOT NULL AS wanted_here,
               c.dup_cluster AS c_cluster, c.is_canonical AS c_canonical, c.similarity AS c_similarity,
               c.reason AS c_reason
        FROM {wanted} w
        FULL OUTER JOIN (SELECT doc_id, dup_cluster, is_canonical, similarity, reason FROM clusters {scope}) c
          ON w.doc_id = c.doc_id
    )
    WHERE (wanted_here OR c_cluster IS NOT NULL)
      AND NOT (dup_cluster IS NOT DISTINCT FROM c_cluster AND is_canonical IS NOT DISTINCT FROM c_canonical
               AND similarity IS NOT DISTINCT FROM c_similarity AND reason IS NOT DISTINCT FROM c_reason)
"""
_INSERT_SQL = """
    INSERT INTO cluster_log (seq, doc_id, dup_cluster, is_canonical, similarity, reason, assigned_at, run_id)
    SELECT nextval('cluster_seq'), doc_id, dup_cluster, is_canonical, similarity, reason, $assigned_at, $run_id
    FROM ({changed}) ORDER BY doc_id
"""
_THIS_PART = "dup_cluster IN (SELECT dup_cluster FROM read_parquet($part_map) WHERE part = $part)"

# The changed rows' clusters, after and before: `ids` codes every cluster id they name 0..n-1,
# and `links` holds, for each document whose cluster changes from one to another, the two codes.
_PAIRS_SQL = "CREATE TEMP TABLE _pairs AS SELECT dup_cluster AS new, c_cluster AS old FROM ({changed})"
_IDS_SQL = """
    CREATE TEMP TABLE _ids AS
    SELECT id, (row_number() OVER () - 1)::BIGINT AS code
    FROM (SELECT new AS id FROM _pairs WHERE new IS NOT NULL UNION SELECT old FROM _pairs WHERE old IS NOT NULL)
"""
_LINKS_SQL = """
    SELECT a.code AS a, b.code AS b
    FROM _pairs p JOIN _ids a ON a.id = p.new JOIN _ids b ON b.id = p.old
    WHERE p.new <> p.old
"""
_MAP_SQL = "COPY (SELECT i.id AS dup_cluster, p.part FROM _ids i JOIN _part_of p USING (code)) TO '{out}' (FORMAT parquet)"


def changed_sql(scope: pa.Array | None, in_parts: bool) -> str:
    """SQL: the rows that differ (of one part's groups, ``$part`` of ``$part_map``, when ``in_parts``)."""
    where = [] if scope is None else [IN_SCOPE]
    wanted = "read_parquet($wanted)"
    if in_parts:
        where.append(_THIS_PART)
        wanted = f"(SELECT * FROM {wanted} WHERE {_THIS_PART})"
    return _CHANGED_SQL.format(wanted=wanted, scope=f"WHERE {' AND '.join(where)}" if where else "")


def insert_sql(scope: pa.Array | None, in_parts: bool) -> str:
    """SQL: the INSERT of the rows that differ into ``cluster_log`` (``$assigned_at``, ``$run_id``)."""
    return _INSERT_SQL.format(changed=changed_sql(scope, in_parts))


def sql_values(assignments: Path, no_longer: str, scope: pa.Array | None, part: int | None = None,
               part_map: Path | None = None) -> dict:
    """The named values of :func:`changed_sql` (add ``assigned_at`` and ``run_id`` for :func:`insert_sql`)."""
    values: dict = {"wanted": str(assignments), "no_longer": no_longer}
    if scope is not None:
        values["scope"] = scope.to_pylist()
    if part_map is not None:
        values.update(part=part, part_map=str(part_map))
    return values


def plan_parts(ledger: Ledger, assignments: Path, no_longer: str, scope: pa.Array | None, commit_rows: int,
               out: Path) -> int:
    """How many parts the run's changed rows take, about ``commit_rows`` rows each (at least 1).
    For more than one, also write ``out``: a Parquet file of ``(dup_cluster, part)`` for every
    cluster id the changed rows name, each group's clusters in one part among ``0 .. parts - 1``."""
    with ledger.reader(PARTS_MEMORY) as con:
        con.execute(_PAIRS_SQL.format(changed=changed_sql(scope, False)), sql_values(assignments, no_longer, scope))
        changed = int(con.sql("SELECT count(*) FROM _pairs").fetchall()[0][0])
        parts = max(1, -(-changed // max(1, commit_rows)))
        if parts == 1:
            return 1
        con.execute(_IDS_SQL)
        n = int(con.sql("SELECT count(*) FROM _ids").fetchall()[0][0])
        links = con.sql(_LINKS_SQL).fetchnumpy()
        root = components(n, links["a"], links["b"])  # each code's group: its smallest code
        con.register("_part_of", pa.table({"code": pa.array(np.arange(n, dtype=np.int64)),
                                           "part": pa.array((root % parts).astype(np.int64))}))
        con.execute(_MAP_SQL.format(out=str(out).replace("'", "''")))
    return parts
