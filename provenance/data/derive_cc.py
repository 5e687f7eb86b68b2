"""Derive the project's Creative Commons tables from CC's license metadata (its license RDF).

Usage (from the repository root, by hand; nothing here runs when the package is used)::

    python provenance/data/derive_cc.py PATH/TO/cc-licenses.json

The input is a compact JSON made from ``creativecommons/cc.licenserdf``
(``cc/licenserdf/licenses/*.rdf``): one record per license URI with ``uri``, ``identifier``,
``version``, ``jurisdiction``, ``deprecated`` and ``titles`` (one per deed language). It writes:

``provenance/data/cc_licenses.json``
    every license (code, version, jurisdiction port, deprecated) and the words the project reads
    titles with, learned from the titles: which folded phrase names which license element
    (``by``/``nc``/``nd``/``sa``) in any language, and which phrase after the version names which
    jurisdiction port (``""``: unported, "International", "Unported", "Generic", ...).
``provenance/data/cc_titles.json.gz``
    every title per language and license (the conformance data of ``tests/test_license_vocab.py``).

How phrases are learned (per title: the part before the version number names the elements, the
part after it names the jurisdiction):

- the element part is split at punctuation (hyphens, dashes, brackets, quotes, commas); a piece
  names the elements that every license whose title contains it has, in any language (the
  intersection: "noncommercial" -> nc, Estonian "autorile viitamine + mitteariline eesmark" ->
  by-nc); a piece whose intersection is only ``by`` but that never names plain Attribution (e.g.
  "no" of "No-Comercial") names nothing (``""``): it may stand in a title;
- a title whose pieces name fewer elements than its license has (CC's slips: some Romanian
  by-nc-sa titles say "FărăModificări", NoDerivatives; or one text titling two licenses: Kazakh
  "Коммерциялық емес 1.0" is both nc/1.0 and by-nc/1.0) is kept as a signature (its set of
  pieces) naming the union of the elements of every license it titles: the more restrictive
  reading, never the less;
- the jurisdiction part (trimmed of punctuation) names the port of every license with it; a phrase
  that names two different ports (or a port and unported) is dropped.

Known slip of the upstream data, handled here: the South African 3.0 ports (``.../3.0/za/``) carry
the titles of the United States ports in most languages; a ``za`` title equal to the ``us`` title of
the same license and language is dropped (it names the US port, not ZA).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from provenance.licenses import fold  # noqa: E402  (one folding for derivation and reading)

ELEMENTS = ("by", "nc", "nd", "sa")
VERSION = re.compile(r"(?<![\d.])(\d)\s*[.,]\s*(\d)(?![\d.])")
PIECE_SPLIT = re.compile(r"[\-/,:;·()\[\]«»\"“”„‹›'’<>]+|\s+-\s+")
TRIM = " -/,:;·()[]«»\"“”„‹›'’.<>"
# Licenses without elements whose names are learned from their titles ("publicdomain", CC's old
# certification titled just "Public Domain", is left out: that text is no license by itself).
SPECIAL_CODES = ("sampling", "sampling+", "nc-sampling+", "devnations", "mark", "zero")
SOURCE = "creativecommons/cc.licenserdf cc/licenserdf/licenses/*.rdf"
OUT = Path(__file__).resolve().parent


def _elements(code: str) -> frozenset[str] | None:
    """by-nc-sa -> {'by','nc','sa'}; None for the non-element licenses (sampling, devnations...)."""
    parts = code.split("-")
    return frozenset(parts) if set(parts) <= set(ELEMENTS) else None


def _parse_uri(uri: str) -> tuple[str, str, str | None, str | None] | None:
    """http://creativecommons.org/licenses/by-sa/3.0/de/ -> ('licenses', 'by-sa', '3.0', 'de')."""
    m = re.match(r"^https?://creativecommons\.org/(licenses|publicdomain)/([^/]+)/(?:([\d.]+)/)?(?:([a-z\-]+)/)?$",
                 uri)
    if not m:
        return None
    return m.group(1), m.group(2), m.group(3), m.group(4)


def _split_title(title: str) -> tuple[str, str, str] | None:
    folded = fold(title)
    m = VERSION.search(folded)
    if not m:
        return None
    return folded[: m.start()], f"{m.group(1)}.{m.group(2)}", folded[m.end():].strip(TRIM)


def _pieces(element_part: str) -> list[str]:
    return [p.strip(TRIM) for p in PIECE_SPLIT.split(element_part) if p.strip(TRIM)]


def derive(records: list[dict]) -> tuple[dict, dict]:
    licenses: list[list] = []
    titles: dict[str, list[list]] = defaultdict(list)
    piece_sets: dict[str, list[frozenset[str]]] = defaultdict(list)
    piece_in_plain_by: set[str] = set()
    signature_sets: dict[str, list[frozenset[str]]] = defaultdict(list)
    special: dict[str, set[str]] = defaultdict(set)
    suffix_ports: dict[str, set[str]] = defaultdict(set)
    us_titles: dict[tuple[str, str, str], str] = {}
    for r in records:
        parsed = _parse_uri(r["uri"])
        if parsed and parsed[3] == "us":
            for lang, t in r["titles"].items():
                us_titles[(parsed[1], parsed[2] or "", lang.lower())] = t
    dropped_slips = 0
    for r in sorted(records, key=lambda r: r["uri"]):
        parsed = _parse_uri(r["uri"])
        if parsed is None or parsed[1] in ("BSD", "GPL", "LGPL", "MIT"):
            continue  # CC's wrappers of BSD/GPL/LGPL/MIT are not CC licenses
        head, code, version, jur = parsed
        index = len(licenses)
        licenses.append([head, code, version, jur, bool(r["deprecated"])])
        elements = _elements(code) if head == "licenses" else None
        seen_langs: set[str] = set()
        for lang, title in sorted(r["titles"].items()):
            lang = lang.lower()
            if lang in seen_langs:
                continue  # 'sr-Latn' and 'sr-latn' are one language
            seen_langs.add(lang)
            if jur == "za" and us_titles.get((code, version or "", lang)) == title:
                dropped_slips += 1
                continue
            titles[lang].append([index, title])
            split = _split_title(title)
            if elements is None and code in SPECIAL_CODES:
                name = (split[0] if split else fold(title)).strip(TRIM)
                name = re.sub(r"<[^>]+>", "", name).strip(TRIM)
                if name:
                    special[name].add(code)
            if elements is None or split is None:
                continue
            element_part, _, suffix = split
            pieces = _pieces(element_part)
            signature_sets["|".join(sorted(set(pieces)))].append(elements)
            for piece in pieces:
                piece_sets[piece].append(elements)
                if elements == {"by"}:
                    piece_in_plain_by.add(piece)
            suffix_ports[suffix].add(jur or "")
    words: dict[str, str] = {}
    for piece, sets in piece_sets.items():
        common = frozenset.intersection(*sets)
        if common == {"by"} and piece not in piece_in_plain_by:
            common = frozenset()  # e.g. "no" of "No-Comercial": names nothing by itself
        words[piece] = "-".join(e for e in ELEMENTS if e in common)  # "" : neutral
    # A title whose pieces name fewer elements than its license has (CC's slips, or one title for
    # two licenses): the whole set of pieces names the union of the licenses it titles.
    signatures: dict[str, str] = {}
    for signature, sets in signature_sets.items():
        union = frozenset().union(*sets)
        named = frozenset(e for p in signature.split("|") for e in words[p].split("-") if e)
        if union - named:
            signatures[signature] = "-".join(e for e in ELEMENTS if e in union)
    suffixes = {s: next(iter(p)) for s, p in suffix_ports.items() if len(p) == 1}
    vocab = {
        "source": SOURCE,
        "note": "Facts derived by provenance/data/derive_cc.py; see provenance/data/README.md.",
        "licenses": licenses,
        "element_words": dict(sorted(words.items())),
        "jurisdiction_words": dict(sorted(suffixes.items())),
        "title_signatures": dict(sorted(signatures.items())),
        "special_names": {n: next(iter(c)) for n, c in sorted(special.items())
                          if len(c) == 1 and n not in words and len(n) >= 4},
    }
    title_table = {"source": SOURCE, "licenses": licenses, "titles": dict(sorted(titles.items())),
                   "dropped_za_slips": dropped_slips}
    return vocab, title_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="cc-licenses.json (CC license RDF as JSON)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: provenance/data)")
    args = parser.parse_args(argv)
    raw = args.input.read_bytes()
    data = json.loads(raw)
    vocab, title_table = derive(data["licenses"])
    vocab["input_sha256"] = title_table["input_sha256"] = hashlib.sha256(raw).hexdigest()
    (args.out / "cc_licenses.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=0) + "\n",
                                               encoding="utf-8")
    blob = json.dumps(title_table, ensure_ascii=False, separators=(",", ":")).encode()
    with gzip.GzipFile(args.out / "cc_titles.json.gz", "wb", mtime=0) as fh:
        fh.write(blob)
    n_titles = sum(len(v) for v in title_table["titles"].values())
    print(f"{len(vocab['licenses'])} licenses, {n_titles} titles in {len(title_table['titles'])} languages, "
          f"{len(vocab['element_words'])} element phrases, {len(vocab['jurisdiction_words'])} jurisdiction "
          f"phrases, {title_table['dropped_za_slips']} za slips dropped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
