"""The fast forms of page readings find exactly what their plain forms found.

* ``provenance.licenses.cc._alternation``: the CC title phrases (every language) as one trie
  pattern; it must match where, and as far as, the plain alternation of the phrases longest first
  matches (``finditer`` and ``match`` at any position).
* ``crawl.licensing._page_end``: the end of the page text, read from the last nodes of the tree;
  it must give what the XPath over every text node gave.
* ``crawl.licensing._names_license_host``: the same answer as the case-insensitive pattern.
* ``crawl.media._may_name_media``: never False for a link that resolves to a media URL.
* ``crawl.licensing._marks_region``: the region a class string names, decided from bits cached
  per token; it must be what the words of the whole string name.

The plain forms are written here as the oracles; the inputs are the package's own CC data and
generated text and trees.
"""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree, html

from crawl import licensing
from crawl.licensing import _LICENSE_HOST_HINT, _LICENSE_HOST_WORDS, PAGE_END_CHARS, _names_license_host, _page_end
from crawl.media import _absolute, _may_name_media, is_media_url
from provenance.licenses import cc, fold


def _plain(words) -> re.Pattern[str]:  # type: ignore[no-untyped-def]
    return re.compile("|".join(cc._phrase_regex(w) for w in sorted(words, key=len, reverse=True)))


def _same_matches(words: list[str], text: str) -> None:
    fast, plain = cc._alternation(words), _plain(words)
    assert [m.span() for m in fast.finditer(text)] == [m.span() for m in plain.finditer(text)], text
    for pos in range(len(text) + 1):
        a, b = fast.match(text, pos), plain.match(text, pos)
        assert (a.span() if a else None) == (b.span() if b else None), (text, pos)


_TABLES = cc.tables()
_ELEMENT_WORDS = sorted(_TABLES.element_words)
_SPECIAL = sorted(_TABLES.special_names)
_JURISDICTIONS = sorted(_TABLES.jurisdiction_words)
# Phrases that are prefixes of one another, end or start in a script without word boundaries,
# and hold spaces: the cases where a trie could stop early or late.
_TRICKY = ["by", "by sa", "by-sa", "by sa 4", "nc", "non commercial", "non-commercial", "非営利",
           "表示", "表示 - 非営利", "署名", "署名-非商业性使用", "ab", "abc", "abcd", "a b", "a  b"]


def _pieces(words: list[str]):  # type: ignore[no-untyped-def]
    """Text made of phrases, their near misses (a letter before or after, a space doubled, upper
    case) and separators."""
    phrase = st.sampled_from(words)
    near = st.one_of(
        phrase.map(lambda w: "x" + w), phrase.map(lambda w: w + "x"), phrase.map(lambda w: w.replace(" ", "  ", 1)),
        phrase.map(lambda w: w.upper()), phrase.map(lambda w: w[: max(1, len(w) // 2)]))
    glue = st.sampled_from([" ", "-", ", ", "", "  ", "\n", " 4.0 ", "(", ")", "ü", "版"])
    return st.lists(st.one_of(phrase, near, glue, st.text(max_size=4)), max_size=12).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_pieces(_ELEMENT_WORDS + _TRICKY))
def test_element_phrases_match_as_the_plain_alternation(text: str) -> None:
    _same_matches(_ELEMENT_WORDS, text)
    _same_matches(_TRICKY, text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_pieces(_SPECIAL + _JURISDICTIONS))
def test_special_names_and_ports_match_as_the_plain_alternation(text: str) -> None:
    _same_matches(_SPECIAL, text)
    _same_matches(_JURISDICTIONS, text)


def test_every_cc_phrase_is_found_alone_and_in_a_sentence() -> None:
    fast = cc._alternation(_ELEMENT_WORDS)
    for word in _ELEMENT_WORDS:
        sentence = fold(f"Licensed under {word} 4.0.")
        assert fast.fullmatch(word), word
        assert [m.span() for m in fast.finditer(sentence)] == [m.span() for m in _plain(_ELEMENT_WORDS).finditer(sentence)]


def test_the_longest_phrase_wins_where_several_match() -> None:
    fast = cc._alternation(["by", "by sa", "by-sa", "表示", "表示 - 非営利"])
    assert fast.match("by  sa 4.0").group(0) == "by  sa"
    assert fast.match("by-sab").group(0) == "by"  # "by-sa" would end inside a word
    assert fast.match("表示 - 非営利です").group(0) == "表示 - 非営利"  # no word boundary after CJK
    assert fast.search("xby") is None


# --- the end of the page ----------------------------------------------------------------------

_ALL_TEXT = etree.XPath("(.//text()[not(parent::script or parent::style or parent::noscript"
                        " or parent::template)])[position() > last() - 60]", smart_strings=False)


def _page_end_by_xpath(root) -> str:  # type: ignore[no-untyped-def]
    body = root.find("body")
    parts: list[str] = []
    size = 0
    for text in reversed(_ALL_TEXT(body if body is not None else root)):
        parts.append(text)
        size += len(text)
        if size >= PAGE_END_CHARS * 2:
            break
    return " ".join(" ".join(reversed(parts)).split())[-PAGE_END_CHARS:]


_TAGS = ["div", "p", "span", "script", "style", "noscript", "template", "footer", "a", "!--"]
_TEXT = st.one_of(st.just(""), st.text(alphabet="ab ©\n", max_size=8), st.text(alphabet="xyz ", min_size=200, max_size=700))


@st.composite
def _tree(draw, depth: int = 0) -> str:  # type: ignore[no-untyped-def]
    parts = [draw(_TEXT)]
    for _ in range(draw(st.integers(0, 4 if depth < 4 else 0))):
        tag = draw(st.sampled_from(_TAGS))
        if tag == "!--":
            parts.append(f"<!--{draw(_TEXT)}-->")
        elif tag in ("script", "style"):
            parts.append(f"<{tag}>{draw(st.text(alphabet='qrs ', max_size=30))}</{tag}>")
        else:
            parts.append(f"<{tag}>{draw(_tree(depth + 1))}</{tag}>")
        parts.append(draw(_TEXT))
    return "".join(parts)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_tree(), many=st.integers(0, 80))
def test_the_page_end_is_the_last_text_nodes(body: str, many: int) -> None:
    markup = f"<html><head><title>t</title></head><body>{body}{'<i>w</i> ' * many}</body></html>"
    for parser in (html.HTMLParser(), html.HTMLParser(remove_comments=True)):
        root = html.document_fromstring(markup, parser=parser)
        assert _page_end(root) == _page_end_by_xpath(root)
        for el in root.iter("div", "footer", "p"):
            assert _page_end(el) == _page_end_by_xpath(el)


# --- link pretests ------------------------------------------------------------------------------

_HOSTISH = st.lists(st.one_of(st.sampled_from([*_LICENSE_HOST_WORDS, "CreativeCommons", "GNU.ORG", "ſpdx.org",
                                               "\u212aey", "https://", "/", "."]),
                              st.text(max_size=5)), max_size=6).map("".join)


@settings(max_examples=400, deadline=None)
@given(href=_HOSTISH)
def test_license_host_pretest_is_the_pattern(href: str) -> None:
    assert _names_license_host(href) == (_LICENSE_HOST_HINT.search(href) is not None)


_BASES = ["https://e.org/a/b.html", "https://e.org/a/clip.mp3", "http://e.org/", "https://e.org/x.mp4?y=1#z"]
_REF_ATOMS = ["a", "b.mp3", ".", "..", "/", "?", "#", "x", "MP3", ".Mp4", "http:", "https:", "//", "h.org", ";p=1",
              "\t", " ", "%2e", "mailto:", "[", ":", ".webm"]


@settings(max_examples=600, deadline=None)
@given(base=st.sampled_from(_BASES), ref=st.lists(st.sampled_from(_REF_ATOMS), min_size=1, max_size=7).map("".join))
def test_media_pretest_never_drops_a_media_link(base: str, ref: str) -> None:
    url = _absolute(base, ref)
    if url is not None and is_media_url(url):
        assert _may_name_media(ref), (base, ref, url)


def test_media_pretest_skips_ordinary_links() -> None:
    assert not _may_name_media("/about/team.html")
    assert not _may_name_media("https://e.org/p/")
    assert _may_name_media("?page=2")  # the page's own path: resolved
    assert _may_name_media("/files/talk.MP3;jsessionid=1")  # a session parameter is not the extension
    assert not _may_name_media("/files/talk.html;jsessionid=1.mp3")
    assert _may_name_media("/files/talk.mp3?dl=1")


def test_phrases_with_other_whitespace_match_as_the_plain_alternation() -> None:
    # a tab is a character of its own in a phrase, where a space stands for any run of whitespace:
    # "a\tb" and "a b-c" both go on from "a" on a tab, and the plain alternation takes the longer
    words = ["a\tb", "a b-c", "by", "by\tsa", "by sa", "nc\u00a0nd", "nc"]
    for text in ["a\tb-c", "a b-c", "a\tb", "by\tsa", "by  sa", "nc\u00a0nd nc", "by\tsax by"]:
        _same_matches(words, text)


def test_the_page_end_of_a_tree_deeper_than_python_recursion() -> None:
    root = html.Element("html")
    node = etree.SubElement(root, "body")
    for _ in range(5000):  # built by hand (a parser stops at 256 levels), text only at the bottom
        node = etree.SubElement(node, "div")
    node.text = "the deepest words"
    assert _page_end(root) == _page_end_by_xpath(root) == "the deepest words"


# --- regions named by class and id words ----------------------------------------------------------

def _region_by_words(marks: str) -> str | None:
    """The region the words of a whole class string name (the plain form)."""
    words: set[str] = set()
    for token in marks.split():
        low = token.lower()
        if licensing._LAYOUT_TOKEN.search(low):
            continue
        words |= {low, low.replace("-", "").replace("_", ""), *(w.lower() for w in licensing._WORD_SPLIT.split(token) if w)}
    if words & licensing._MEDIA_WORDS:
        return "media"
    if words & licensing._SUBJECT_WORDS and not words & licensing._FOOTER_WORDS:
        return "subject"
    if words & {"copyright", "copyrights", "credit", "credits", "source", "quelle", "nachweis"}:
        return "credit"
    if words & licensing._FOOTER_WORDS or any(w.startswith(licensing._FOOTER_PREFIXES) for w in words):
        return "footer"
    if words & licensing._SIDEBAR_WORDS:
        return "sidebar"
    if words & licensing._NAV_WORDS:
        return "nav"
    if any(licensing._MAIN_TOKENS.match(w) for w in words):
        return "main"
    return None


_CLASS_WORDS = sorted(licensing._MEDIA_WORDS | licensing._SUBJECT_WORDS | licensing._FOOTER_WORDS
                      | licensing._SIDEBAR_WORDS | licensing._NAV_WORDS | licensing._CREDIT_WORDS
                      | {"entry-content", "postBody", "article_text", "MainContent", "container", "row"})
_TOKEN = st.builds(lambda w, before, after, upper: (w.upper() if upper else w) if not (before or after) else f"{before}{w}{after}",
                   st.sampled_from(_CLASS_WORDS), st.sampled_from(["", "site-", "has-", "x_", "bottom"]),
                   st.sampled_from(["", "-wrap", "_inner", "Nav", "-with-sidebar", "s", "-and-sidebar"]), st.booleans())


@settings(max_examples=800, deadline=None)
@given(tokens=st.lists(_TOKEN, max_size=5))
def test_class_strings_name_the_region_their_words_name(tokens: list[str]) -> None:
    marks = " ".join(tokens)
    assert licensing._marks_region(marks) == _region_by_words(marks), marks
