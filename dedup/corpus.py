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

LEDGER_MEMORY = "512MiB"  # DuckDB's share in a dedup run's big reads and writes (it spills past it)
BATCH_ROWS = 65_536

DOCUMENTS_SQL = """
    SELECT d.doc_id, d.shard, d.text_sha256, d.license, d.consent, f.first_fetched_at
    FROM documents d
    JOIN (SELECT doc_id, text_sha256, min(fetched_at) AS first_fetched_at, min(seq) AS first_seq
          FROM document_log GROUP BY doc_id, text_sha256) f USING (doc_id, text_sha256)
    ORDER BY f.first_seq, d.doc_id
"""
WATERMARK_SQL = "SELECT coalesce(max(seq), 0) AS w FROM document_log"
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

    def pairs(self, rows: np.ndarray | None = None) -> PairIndex:
        """The ``(doc_key, text_key)`` pairs of these rows (every row by default), for look-ups."""
        if rows is None:
            return PairIndex(self.doc_keys, self.text_keys)
        return PairIndex(self.doc_keys[rows], self.text_keys[rows], rows)

    def wanted(self, rows: np.ndarray) -> Wanted:
        """These rows' texts, as the signature stage takes them."""
        codes = self.shards.indices.to_numpy(zero_copy_only=False)
        if len(rows) == len(self):  # every row (a first run): no copies
            return Wanted(self.doc_ids, self.doc_keys, self.text_keys, self.shards.dictionary.to_pylist(), codes)
        return Wanted(self.doc_ids.take(pa.array(rows, pa.int64())), self.doc_keys[rows], self.text_keys[rows],
                      self.shards.dictionary.to_pylist(), codes[rows])


def load_corpus(ledger: Ledger) -> tuple[int, Corpus]:
    """The watermark (largest ``document_log.seq``) and every document, in one read snapshot."""
    ids: list[pa.Array] = []
    doc_keys: list[np.ndarray] = []
    text_keys: list[np.ndarray] = []
    coded: dict[str, list[pa.Array]] = {"shard": [], "consent": [], "license": []}
    fetched: list[np.ndarray] = []
    with ledger.reader() as con:
        con.execute(f"SET memory_limit = '{LEDGER_MEMORY}'")
        watermark = int(con.sql(WATERMARK_SQL).fetchall()[0][0])
        for batch in con.sql(DOCUMENTS_SQL).to_arrow_reader(BATCH_ROWS):
            doc_id = batch.column("doc_id")
            ids.append(pa.concat_arrays([doc_id, _NO_IDS]))  # a copy: the batch's other columns can go
            doc_keys.append(string_keys(doc_id))
            text_keys.append(string_keys(batch.column("text_sha256")))
            for name, values in coded.items():
                values.append(batch.column(name).dictionary_encode())  # new buffers
            fetched.append(batch.column("first_fetched_at").to_numpy(zero_copy_only=False).astype("datetime64[us]"))
            del batch, doc_id
    encoded = pa.table({name: pa.chunked_array(values, pa.dictionary(pa.int32(), pa.string()))
                        for name, values in coded.items()}).unify_dictionaries().combine_chunks()
    return watermark, Corpus(
        doc_ids=pa.chunked_array(ids, pa.string()),
        doc_keys=_concat(doc_keys, np.uint64), text_keys=_concat(text_keys, np.uint64),
        shards=encoded.column("shard").chunk(0) if encoded.num_rows else _empty_codes(),
        consent=encoded.column("consent").chunk(0) if encoded.num_rows else _empty_codes(),
        license=encoded.column("license").chunk(0) if encoded.num_rows else _empty_codes(),
        first_fetched_at=_concat(fetched, "datetime64[us]"))


def _concat(parts: list[np.ndarray], dtype: str | type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.empty(0, dtype)


def _empty_codes() -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array([], pa.int32()), pa.array([], pa.string()))
