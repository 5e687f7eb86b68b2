"""Creative Commons: every license, version and port, read from URLs and from titles in any language.

The facts come from ``provenance/data/cc_licenses.json`` (derived from CC's license RDF by
``provenance/data/derive_cc.py``): the licenses CC publishes (code, version, port), the phrases that
name license elements in CC's deed titles, and the phrases that name jurisdiction ports. They are
loaded on first use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

ELEMENTS: tuple[str, ...] = ("by", "nc", "nd", "sa")
# Ports SPDX has ids for use the SPDX suffix ('uk' is CC's England and Wales port).
_SPDX_JURISDICTION = {"igo": "IGO"}


# Common spellings that are not in CC's titles (the project's own, English and German).
_EXTRA_WORDS: dict[str, str] = {
    "share alike": "sa", "share-alike": "sa", "sharealike": "sa",
    "non commercial": "nc", "non-commercial": "nc", "noncommercial": "nc",
    "no derivatives": "nd", "no-derivatives": "nd", "no derivs": "nd", "no-derivs": "nd",
    "no derivative works": "nd", "noderivs": "nd", "noderivatives": "nd",
    "nicht kommerziell": "nc", "nichtkommerziell": "nc", "keine bearbeitungen": "nd",
}
_EXTRA_JURISDICTIONS: dict[str, str] = {
    "england and wales": "uk", "england & wales": "uk", "uk: england and wales": "uk",
}


@dataclass(frozen=True, slots=True)
class CCLicense:
    head: str  # 'licenses' | 'publicdomain'
    code: str  # 'by-nc-sa', 'zero', 'mark', 'sampling+', ...
    version: str | None
    jurisdiction: str | None  # CC's URL segment: 'de', 'igo', 'scotland'
    deprecated: bool


@dataclass(frozen=True, slots=True)
class CCTables:
    licenses: tuple[CCLicense, ...]
    by_key: dict[tuple[str, str | None, str | None], CCLicense]  # (code, version, jurisdiction)
    element_words: dict[str, frozenset[str]]
    jurisdiction_words: dict[str, str]  # folded phrase -> jurisdiction segment ('' unported)
    max_jurisdiction_chars: int
    element_pattern: re.Pattern[str]  # pieces that may start a title
    piece_pattern: re.Pattern[str]  # every piece
    signatures: dict[frozenset[str], frozenset[str]]  # a title's pieces -> what they name together
    special_pattern: re.Pattern[str]  # names of Sampling, Developing Nations, the Mark
    special_names: dict[str, str]
    input_sha256: str


def _load_json() -> dict[str, Any]:
    text = resources.files("provenance").joinpath("data/cc_licenses.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


_NO_BOUNDARY = re.compile(r"[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def _phrase_regex(phrase: str) -> str:
    body = re.escape(phrase).replace(r"\ ", r"\s+")
    head = "" if _NO_BOUNDARY.match(phrase[0]) else r"(?<!\w)"
    tail = "" if _NO_BOUNDARY.match(phrase[-1]) else r"(?!\w)"
    return head + body + tail


@cache
def tables() -> CCTables:
    data = _load_json()
    licenses = tuple(CCLicense(h, c, v, j, bool(d)) for h, c, v, j, d in data["licenses"])
    by_key = {(lic.code, lic.version, lic.jurisdiction): lic for lic in licenses}
    words = {w: frozenset(e.split("-")) if e else frozenset() for w, e in data["element_words"].items()}
    words.update({w: frozenset([e]) for w, e in _EXTRA_WORDS.items() if w not in words})
    # Pieces too short to be told from ordinary words ("in", "i") start no title; inside one they count.
    anchors = [w for w in words if not (len(w) < 4 and w.isascii())]
    short = {e: frozenset([e]) for e in ELEMENTS}
    signatures = {frozenset(k.split("|")): frozenset(v.split("-")) for k, v in data["title_signatures"].items()}
    return CCTables(licenses, by_key, {**words, **short}, {**_EXTRA_JURISDICTIONS, **data["jurisdiction_words"]},
                    max(len(k) for k in data["jurisdiction_words"]), _alternation(anchors),
                    _alternation(words), signatures, _alternation(data["special_names"]),
                    data["special_names"], data.get("input_sha256", ""))


def _alternation(words: list[str] | dict[str, frozenset[str]]) -> re.Pattern[str]:
    """One pattern matching any of the phrases (:func:`_phrase_regex` each), the longest where
    several match at one place: the same matches as ``"|".join`` of the phrases longest first,
    written as a trie so that a failed position costs a few character tests, not one per phrase
    (thousands of CC title phrases; each sentence of a notice is searched for them)."""
    if any(char.isspace() and char != " " for phrase in words for char in phrase):
        # a phrase's tab or no-break space would be a branch beside the one for any run of whitespace
        return re.compile("|".join(_phrase_regex(w) for w in sorted(words, key=len, reverse=True)))
    trie: dict = {}
    for phrase in words:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[None] = "" if _NO_BOUNDARY.match(phrase[-1]) else r"(?!\w)"  # where a phrase ends: its tail
    bounded = [c for c in trie if not _NO_BOUNDARY.match(c)]
    parts = [r"(?<!\w)" + _trie_branches(trie, bounded)] if bounded else []
    unbounded = [c for c in trie if _NO_BOUNDARY.match(c)]
    if unbounded:
        parts.append(_trie_branches(trie, unbounded))
    return re.compile("|".join(parts))


def _trie_branches(node: dict, chars: list[str] | None = None) -> str:
    """The pattern of a trie node: each next character (a space: any run of whitespace) with what
    follows it, then the tail of a phrase ending here. At most one branch can go on from a place
    (the next characters differ, and the phrases hold no whitespace but plain spaces), and going on
    comes before ending, so the first match found is the longest."""
    branches = [(r"\s+" if c == " " else re.escape(c)) + _trie_branches(node[c])
                for c in sorted(k for k in (node if chars is None else chars) if k is not None)]
    if chars is None and None in node:
        branches.append(node[None])
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def exists(code: str, version: str | None, jurisdiction: str | None) -> bool:
    return (code, version, jurisdiction) in tables().by_key


def code_of(elements: frozenset[str]) -> str:
    return "-".join(e for e in ELEMENTS if e in elements)


def license_id(code: str, version: str | None, jurisdiction: str | None, spdx_ids: frozenset[str]) -> str:
    """The id of a CC license: SPDX's where it has one, else ``LicenseRef-CC-<CODE>-<VER>[-<PORT>]``."""
    upper = code.upper()
    if version is None:
        return f"LicenseRef-CC-{upper}"
    if jurisdiction:
        port = _SPDX_JURISDICTION.get(jurisdiction, jurisdiction.upper())
        spdx = f"CC-{upper}-{version}-{port}"
        return spdx if spdx in spdx_ids else "LicenseRef-" + spdx
    spdx = f"CC-{upper}-{version}"
    return spdx if spdx in spdx_ids else "LicenseRef-" + spdx


def element_code(code: str) -> str | None:
    """'by-nd-nc' (CC's 1.0 order) -> 'by-nc-nd'; None for codes that are not element sets."""
    parts = code.split("-")
    if not parts or not set(parts) <= set(ELEMENTS) or len(set(parts)) != len(parts):
        return None
    return code_of(frozenset(parts))


def find_code(code: str, version: str | None) -> str | None:
    """The URL code CC uses for these elements in this version ('by-nd-nc' in 1.0), if any."""
    t = tables()
    elements = frozenset(code.split("-"))
    for lic in t.licenses:
        if lic.version == version and lic.head == "licenses" and element_code(lic.code) is not None \
                and frozenset(lic.code.split("-")) == elements:
            return lic.code
    return None


@dataclass(frozen=True, slots=True)
class TitleRead:
    start: int
    end: int
    elements: frozenset[str]
    version: str | None
    jurisdiction: str | None  # CC segment, None: unported or not stated
    readable: bool  # False: a piece of the title could not be read


_SEP = re.compile(r"[\s\-/,:;·()\[\]«»\"“”„‹›'’+|&_]*")
_VERSION = re.compile(r"(?:version|ver\.?|v\.?)?\s*(\d{1,2})\s*[.,]\s*(\d{1,2})(?![\d.]*\d)|(?:version|ver\.?|v\.?)\s*(\d)(?![\d.,]*\d)|(\d)(?![\w.,]*\d)")
_FILLER = re.compile(r"(?:licen[cs]e|lizenz|licencia|licenca|licenza|licentie|licencja|public|publique|publica|"
                     r"international|internacional)(?!\w)")
_WORD = re.compile(r"\w")
_CODE_END = re.compile(r"\s*(?:$|[^\w\s]|licen[cs]e|lizenz)")
_VERSION_SOON = re.compile(r"(?:[^\W\d]+[\s\-]+){1,3}(?:v\.?\s*)?\d{1,2}\.\d(?!\d)")


def read_title(text: str, start: int, *, versionless_ok: bool) -> TitleRead | None:
    """Read a CC title in folded ``text`` from ``start`` (an element phrase): elements, version, port."""
    t = tables()
    pos = start
    elements: set[str] = set()
    pieces: set[str] = set()
    n = 0
    last_sep = ""
    while True:
        m = (t.element_pattern if n == 0 else t.piece_pattern).match(text, pos)
        if m is None:
            m2 = re.match(r"(by|nc|nd|sa)(?!\w)", text[pos:])
            if m2 is None:
                break
            elements.add(m2.group(1))
            pos += m2.end()
        else:
            piece = " ".join(m.group(0).split())
            pieces.add(piece)
            elements |= t.element_words[piece]
            pos = m.end()
        n += 1
        sep = _SEP.match(text, pos)
        assert sep is not None
        last_sep = sep.group(0)
        pos = sep.end()
    if n == 0:
        return None
    elements |= t.signatures.get(frozenset(pieces), frozenset())
    end_elements = pos
    v = _VERSION.match(text, pos)
    if v is not None and not versionless_ok and v.group(1) is None:
        v = None  # outside a "CC ..." statement only a full "N.N" is a version
    readable = True
    version = None
    if v is not None:
        if v.group(1) is not None:
            version = f"{v.group(1)}.{v.group(2)}"
        else:
            version = f"{v.group(3) or v.group(4)}.0"
        pos = v.end()
    else:
        # an unknown word after the elements: a title we cannot fully read ("Attribution Foo 4.0");
        # without a "CC" before it, an ordinary word after an element name is just text
        if pos < len(text) and _WORD.match(text, pos) and not _FILLER.match(text, pos):
            # unreadable when joined to the elements by a hyphen, or when a version follows within
            # a few words ("Attribution Foo Bar 4.0"); otherwise the title simply ended
            # ("CC BY-SA unless otherwise noted")
            if "-" in last_sep or _VERSION_SOON.match(text, pos):
                readable = False
            elif not versionless_ok:
                return None
        if not versionless_ok and readable:
            return None
    jurisdiction = None
    if version is not None:
        jurisdiction, pos = read_jurisdiction(text, pos, code_of(frozenset(elements)) if elements else "", version)
    return TitleRead(start, max(pos, end_elements), frozenset(elements), version, jurisdiction, readable)


def read_jurisdiction(text: str, pos: int, code: str, version: str) -> tuple[str | None, int]:
    """The port named after a version at ``pos`` (None: unported or unnamed) and where it ends."""
    t = tables()
    jurisdiction = None
    if True:
        sep = _SEP.match(text, pos)
        assert sep is not None
        jpos = sep.end()
        window = text[jpos: jpos + t.max_jurisdiction_chars + 1]
        for length in range(min(len(window), t.max_jurisdiction_chars), 0, -1):
            phrase = window[:length].rstrip(" -/,:;·()[]«»\"“”„‹›'’.")
            if len(phrase) != length:
                continue
            found = t.jurisdiction_words.get(phrase)
            if found is None:
                continue
            nxt = window[length:length + 1]
            if nxt and _WORD.match(nxt) and not _NO_BOUNDARY.match(phrase[-1]):
                continue
            if len(phrase) <= 3 and phrase.isascii() and not _CODE_END.match(text, jpos + length):
                continue  # "at", "us" name a port only at the end of the title ("CC BY 3.0 at example.org")
            jurisdiction = found or None
            pos = jpos + length
            break
        else:
            m = re.match(r"([a-z]{2,3}|scotland)(?=\s*(?:$|[^\w\s]|licen[cs]e|lizenz))", text[jpos:])
            if m and (exists(code, version, m.group(1)) or exists(find_code(code, version) or "", version,
                                                                    m.group(1))):
                jurisdiction = m.group(1)
                pos = jpos + m.end()
    return jurisdiction, pos


def read_special(text: str) -> tuple[int, int, str, str | None, str | None] | None:
    """The leftmost name of Sampling, Sampling Plus, Developing Nations or the Public Domain Mark:
    (start, end, code, version, port); the version is the one CC published when none is stated."""
    t = tables()
    m = t.special_pattern.search(text)
    if m is None:
        return None
    code = t.special_names[" ".join(m.group(0).split())]
    pos = m.end()
    v = _VERSION.match(text, pos)
    if v is not None and v.group(1) is not None:
        version: str | None = f"{v.group(1)}.{v.group(2)}"
        pos = v.end()
    else:
        versions = {lic.version for lic in t.licenses if lic.code == code}
        version = versions.pop() if len(versions) == 1 else None
    jurisdiction = None
    if version is not None:
        jurisdiction, pos = read_jurisdiction(text, pos, code, version)
    return m.start(), pos, code, version, jurisdiction


def find_element_anchors(text: str) -> list[int]:
    return [m.start() for m in tables().element_pattern.finditer(text)]
