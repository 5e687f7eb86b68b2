"""The documents a full dedup run works on, read from the ledger and held compactly.

Every document's current state in node order (``dedup.state``): its id (one Arrow string
array), the 64-bit keys of its id and text (``dedup.keys``), its shard, consent and license as
dictionary codes, and when its current text was first fetched: about 60 bytes a document. The
ledger query runs under a DuckDB memory limit and is read a batch at a time (DuckDB spills the
sort past the limit), so neither side holds the documents as rows of strings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dedup.keys import PairIndex
from dedup.state import string_keys
from dedup.tasks import Wanted
from provenance.ledger import Ledger

LEDGER_MEMORY = "512MiB"  # DuckDB's share in a dedup run's reads over the whole ledger (it spills past it)
BATCH_ROWS = 65_536

DOCUMENTS_SQL = """
    SELECT d.doc_id, d.shard, d.text_sha256, d.license, d.consent, f.first_fetched_at
    FROM documents d
    JOIN (SELECT doc_id, text_sha256, min(fetched_at) AS first_fetched_at, min(seq) AS first_seq
          FROM document_log GROUP BY doc_id, text_sha256) f USING (doc_id, text_sha256)
    ORDER BY f.first_seq, d.doc_id
"""
WATERMARK_SQL = "SELECT coalesce(max(seq), 0) AS w FROM document_log"
COUNT_SQL = "SELECT count(*) FROM documents"
_NO_IDS = pa.array([], pa.string())


@dataclass(frozen=True)
class Corpus:
    """Every document, in node order (the order texts arrived in the ledger)."""

    doc_ids: pa.ChunkedArray  # string
    doc_keys: np.ndarray  # uint64 (dedup.state.string_keys)
    text_keys: np.ndarray  # uint64, of the current text's text_sha256
    shards: pa.DictionaryArray
    consent: pa.DictionaryArray
    license: pa.DictionaryArray
    first_fetched_at: np.ndarray  # datetime64[us]: when the current text was first fetched

    def __len__(self) -> int:
        return len(self.doc_keys)

    def pairs(self) -> PairIndex:
        """Every row's ``(doc_key, text_key)`` pair, for look-ups."""
        return PairIndex(self.doc_keys, self.text_keys)

    def wanted(self, rows: np.ndarray) -> Wanted:
        """These rows' texts, as the signature stage takes them."""
        codes = self.shards.indices.to_numpy(zero_copy_only=False)
        if len(rows) == len(self):  # every row (a first run): no copies
            return Wanted(self.doc_ids, self.doc_keys, self.text_keys, self.shards.dictionary.to_pylist(), codes)
        return Wanted(self.doc_ids.take(pa.array(rows, pa.int64())), self.doc_keys[rows], self.text_keys[rows],
                      self.shards.dictionary.to_pylist(), codes[rows])


class _Codes:
    """Dictionary codes of one string column over all batches, the dictionary grown as values
    come (a few distinct values: shards, consents, licenses)."""

    def __init__(self, n: int):
        self.codes = np.empty(n, np.int32)
        self.values: dict[str | None, int] = {}

    def put(self, at: int, column: pa.Array) -> None:
        encoded = column.dictionary_encode()
        local = [self.values.setdefault(v, len(self.values)) for v in encoded.dictionary.to_pylist()]
        if column.null_count:
            local.append(self.values.setdefault(None, len(self.values)))
        indices = encoded.indices.fill_null(len(local) - 1) if column.null_count else encoded.indices
        self.codes[at:at + len(column)] = np.asarray(local, np.int32)[indices.to_numpy(zero_copy_only=False)]

    def array(self) -> pa.DictionaryArray:
        names = list(self.values)
        null = self.values.get(None)
        mask = self.codes == null if null is not None else None
        return pa.DictionaryArray.from_arrays(pa.array(self.codes, pa.int32(), mask=mask),
                                              pa.array(names, pa.string()))


def load_corpus(ledger: Ledger) -> tuple[int, Corpus]:
    """The watermark (largest ``document_log.seq``) and every document, in one read snapshot.
    Each column goes straight into an array of the final size (no copies of the whole)."""
    ids: list[pa.Array] = []
    with ledger.reader(LEDGER_MEMORY) as con:
        watermark = int(con.sql(WATERMARK_SQL).fetchall()[0][0])
        n = int(con.sql(COUNT_SQL).fetchall()[0][0])
        doc_keys, text_keys = np.empty(n, np.uint64), np.empty(n, np.uint64)
        fetched = np.empty(n, "datetime64[us]")
        coded = {"shard": _Codes(n), "consent": _Codes(n), "license": _Codes(n)}
        at = 0
        for batch in con.sql(DOCUMENTS_SQL).to_arrow_reader(BATCH_ROWS):
            k = batch.num_rows
            if at + k > n:
                raise RuntimeError(f"the ledger holds more documents than it counted ({n}); this is a bug")
            doc_id = batch.column("doc_id")
            ids.append(pa.concat_arrays([doc_id, _NO_IDS]))  # a copy: the batch's other columns can go
            doc_keys[at:at + k] = string_keys(doc_id)
            text_keys[at:at + k] = string_keys(batch.column("text_sha256"))
            for name, codes in coded.items():
                codes.put(at, batch.column(name))
            fetched[at:at + k] = batch.column("first_fetched_at").to_numpy(zero_copy_only=False)
            at += k
            del batch, doc_id
    if at != n:
        raise RuntimeError(f"the ledger gave {at} documents of the {n} it counted; this is a bug")
    return watermark, Corpus(doc_ids=pa.chunked_array(ids, pa.string()), doc_keys=doc_keys, text_keys=text_keys,
                             shards=coded["shard"].array(), consent=coded["consent"].array(),
                             license=coded["license"].array(), first_fetched_at=fetched)
