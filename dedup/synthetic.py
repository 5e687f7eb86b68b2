"""A generated corpus with planted duplicates, for tests and benchmarks (deterministic per seed).

Documents are paragraphs of English-looking sentences drawn from a fixed vocabulary with a
Zipf-like word distribution. A fraction of them are copies of an earlier document with words
substituted, deleted or inserted at a known edit rate (rate 0 with changed case and spacing: an
exact duplicate after normalisation). Each document carries a license, a consent value and a fetch
time, so the canonical choice has something to decide. :func:`generate` yields typed documents to
store directly; :func:`write_corpus_jsonl` writes many short ones fast, as a file for
``provenance import`` (the scale benchmark's corpus).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from provenance.ids import doc_id_for_url, domain_of, text_sha256
from provenance.records import Consent, Document

WORDS = """
the of and to in a is that for it as was with be by on not he this are or his from at which but
have an they you were her she there been one all we their has would when if so what no more
about can said out them some could into time only other new these two may first then do any
like my now over such our man me even most made after also did many before must through back
years where much your way well down should because each just those people how too little state
good very make world still own see men work long get here between both life being under never
day same another know while last might us great old year off come since against go came right
used take three states himself few house use during without again place around however home
small found thought went say part once general high upon school every does got united left
number course war until always away something fact though water less public put think almost
hand enough far took head yet government system better set told nothing night end why called
didn't eyes find going look asked later knew point next program city business give group toward
young days let room president side social present given several order national possible rather
second face per among form important often things looking early white case john become large
big need four within felt along children saw best church ever least power development light
thing seemed family interest want members mind country area others done turned although open
god service certain kind problem began different door thus help sense means whole matter perhaps
itself york times law human line above name example action company hands local show whether five
history gave today either act feet across taken past quite anything seen having death experience
body word half really week field car words already themselves information tell college together
money period held keep sure probably free seems real behind cannot political air question making
office brought whose special heard major problems ago became federal moment study available known
result street economic boy position reason change south board individual job areas society west
close turn love community true court force full seem am front art services market level soil
garden river bread starter yeast harbour bridge railway village forest meadow lantern copper
""".split()

LICENSES: tuple[str | None, ...] = (
    "CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CC-BY-NC-4.0", "LicenseRef-all-rights-reserved", None, None, None,
)
CONSENTS: tuple[Consent, ...] = ("granted", "unspecified", "unspecified", "opted_out")
EPOCH = datetime(2026, 1, 1)


@dataclass(frozen=True, slots=True)
class SyntheticDoc:
    url: str
    text: str
    license: str | None
    consent: Consent
    fetched_at: datetime
    source: int | None = None  # index of the document this one copies, None for an original
    edit_rate: float | None = None

    def document(self, shard: str = "") -> Document:
        return Document(doc_id=doc_id_for_url(self.url), url=self.url, domain=domain_of(self.url),
                        source_type="import", fetched_at=self.fetched_at, text_sha256=text_sha256(self.text),
                        n_chars=len(self.text), shard=shard, license=self.license, consent=self.consent)


def _zipf_weights(n: int) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** 1.05
    return w / w.sum()


class CorpusGenerator:
    """Makes original documents and edited copies of them."""

    def __init__(self, seed: int = 0, min_words: int = 120, max_words: int = 400):
        self.rng = np.random.default_rng(seed)
        self.words = np.array(WORDS, dtype=object)
        self.weights = _zipf_weights(len(WORDS))
        self.min_words = min_words
        self.max_words = max_words

    def _word_ids(self, n: int) -> np.ndarray:
        return self.rng.choice(len(self.words), size=n, p=self.weights)

    def original_words(self) -> list[str]:
        n = int(self.rng.integers(self.min_words, self.max_words + 1))
        return list(self.words[self._word_ids(n)])

    def render(self, words: Sequence[str]) -> str:
        """Sentences of 6-18 words, capitalised, with commas, in paragraphs of 3-6 sentences."""
        out: list[str] = []
        sentence: list[str] = []
        target = int(self.rng.integers(6, 19))
        in_paragraph = 0
        for w in words:
            sentence.append(w)
            if len(sentence) >= target:
                sentence[0] = sentence[0].capitalize()
                if len(sentence) > 8:
                    sentence[len(sentence) // 2] += ","
                out.append(" ".join(sentence) + ".")
                in_paragraph += 1
                if in_paragraph >= int(self.rng.integers(3, 7)):
                    out.append("\n\n")
                    in_paragraph = 0
                else:
                    out.append(" ")
                sentence = []
                target = int(self.rng.integers(6, 19))
        if sentence:
            sentence[0] = sentence[0].capitalize()
            out.append(" ".join(sentence) + ".")
        return "".join(out).strip()

    def edit(self, words: Sequence[str], rate: float) -> list[str]:
        """Substitute, delete or insert a word at each position with probability ``rate``."""
        out: list[str] = []
        draws = self.rng.random(len(words))
        kinds = self.rng.integers(0, 3, len(words))
        fresh = self._word_ids(len(words))
        for w, d, k, f in zip(words, draws, kinds, fresh):
            if d >= rate:
                out.append(w)
            elif k == 0:
                out.append(self.words[f])
            elif k == 1:
                continue
            else:
                out.extend((w, self.words[f]))
        return out


def generate(n_docs: int, *, seed: int = 0, copy_fraction: float = 0.25,
             edit_rates: Sequence[float] = (0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3),
             domain: str = "synthetic.example", min_words: int = 120, max_words: int = 400) -> Iterator[SyntheticDoc]:
    """``n_docs`` documents; about ``copy_fraction`` of them edited copies of earlier originals."""
    gen = CorpusGenerator(seed, min_words, max_words)
    originals: list[tuple[int, str]] = []
    for i in range(n_docs):
        license = LICENSES[int(gen.rng.integers(len(LICENSES)))]
        consent = CONSENTS[int(gen.rng.integers(len(CONSENTS)))]
        fetched = EPOCH + timedelta(minutes=int(gen.rng.integers(0, 60 * 24 * 365)))
        url = f"https://{domain}/{i // 1000}/doc-{i}"
        if originals and gen.rng.random() < copy_fraction:
            src, original = originals[int(gen.rng.integers(len(originals)))]
            rate = float(edit_rates[int(gen.rng.integers(len(edit_rates)))])
            if rate == 0.0:
                text = original.upper().replace(" ", "  ")  # the same text once normalised
            else:
                text = " ".join(gen.edit(original.split(" "), rate))
            yield SyntheticDoc(url, text, license, consent, fetched, src, rate)
        else:
            text = gen.render(gen.original_words())
            originals.append((i, text))
            yield SyntheticDoc(url, text, license, consent, fetched)


def store(writer, docs: Iterable[SyntheticDoc], run_id: str, batch: int = 20_000) -> int:
    """Store documents through ``provenance.store.DocumentStore`` (one shard per batch)."""
    from provenance.store import DocumentStore, PendingDocument

    store_ = DocumentStore(writer, run_id, "import")
    written = 0
    pending: list = []

    def flush() -> int:
        result = store_.write_batch(pending)
        pending.clear()
        return result.documents

    for doc in docs:
        pending.append(PendingDocument(doc=doc.document(), text=doc.text))
        if len(pending) >= batch:
            written += flush()
    if pending:
        written += flush()
    return written


def write_corpus_jsonl(path: Path, n: int, *, seed: int = 0, copy_fraction: float = 0.25,
                       edit_rates: Sequence[float] = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1),
                       min_words: int = 30, max_words: int = 90, domain: str = "synthetic.example",
                       block: int = 10_000, pool: int = 50_000) -> Path:
    """Write ``n`` short generated documents as JSONL (``url``, ``text``, ``license``, ``consent``,
    ``fetched_at``) for ``provenance import``; returns ``path``. Deterministic per ``seed``.

    About ``copy_fraction`` of the documents are copies of an earlier original (one of the last
    ``pool``) with words substituted or deleted at a rate drawn from ``edit_rates`` (rate 0: the
    same text upper-cased with doubled spaces, an exact duplicate once normalised). Words are drawn
    ``block`` documents at a time with numpy, so a million documents take seconds, not minutes.
    """
    rng = np.random.default_rng(seed)
    vocabulary = np.array(WORDS, dtype=object)
    weights = _zipf_weights(len(WORDS))
    originals: list[np.ndarray] = []  # word ids of recent originals (a ring of ``pool`` entries)
    slot = 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for start in range(0, n, block):
            size = min(block, n - start)
            lengths = rng.integers(min_words, max_words + 1, size)
            drawn = np.split(rng.choice(len(vocabulary), int(lengths.sum()), p=weights), np.cumsum(lengths)[:-1])
            copies = rng.random(size) < copy_fraction
            lic = rng.integers(len(LICENSES), size=size)
            con = rng.integers(len(CONSENTS), size=size)
            minutes = rng.integers(0, 60 * 24 * 365, size)
            lines = []
            for k in range(size):
                i = start + k
                exact = False
                if copies[k] and originals:
                    ids = originals[int(rng.integers(len(originals)))]
                    rate = float(edit_rates[int(rng.integers(len(edit_rates)))])
                    if rate == 0.0:
                        exact = True
                    else:
                        ids = ids.copy()
                        changed = rng.random(len(ids)) < rate
                        ids[changed] = rng.choice(len(vocabulary), int(changed.sum()), p=weights)
                        kept = ids[rng.random(len(ids)) >= rate / 3]
                        ids = kept if len(kept) else ids
                else:
                    ids = drawn[k]
                    if len(originals) < pool:
                        originals.append(ids)
                    else:
                        originals[slot] = ids
                        slot = (slot + 1) % pool
                text = " ".join(vocabulary[ids].tolist())
                text = text[:1].upper() + text[1:] + "."
                if exact:
                    text = text.upper().replace(" ", "  ")  # the same text once normalised
                when = EPOCH + timedelta(minutes=int(minutes[k]))
                row = {"url": f"https://{domain}/{i // 1000}/doc-{i}", "text": text,
                       "license": LICENSES[int(lic[k])], "consent": CONSENTS[int(con[k])],
                       "fetched_at": when.isoformat()}
                lines.append(json.dumps(row))
            fh.write("\n".join(lines) + "\n")
    return path
