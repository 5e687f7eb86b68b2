"""crawl.analysis.page_metadata: a page's title, author and date exactly as trafilatura's
extract_metadata finds them (which computes more fields a document does not keep), on pages
written to reach each of its paths: meta tags, OpenGraph, JSON-LD (valid, broken, graph),
a lone h1, a <title>, bylines, <time>, dates in the URL, none at all."""

from __future__ import annotations

from copy import deepcopy

import pytest
from trafilatura.metadata import extract_metadata

from crawl.analysis import DATE_PARAMS, PageJob, _parse, page_metadata

BODY = "<p>" + "Some words of the article that says something. " * 20 + "</p>"

PAGES = {
    "meta tags": ('<head><title>Site | The Title</title><meta name="author" content="Ada Lovelace">'
                  '<meta name="date" content="2021-03-04"></head><body><article>' + BODY + "</article></body>"),
    "opengraph": ('<head><meta property="og:title" content="OG title &amp; more">'
                  '<meta property="article:published_time" content="2019-11-02T10:00:00Z">'
                  '<meta property="article:author" content="Grace Hopper"></head><body>' + BODY + "</body>"),
    "one-word author is dropped": ('<head><meta name="author" content="admin"><title>T</title></head>'
                                   '<body><h1>Only heading</h1><div class="byline">By Alan Turing</div>'
                                   + BODY + "</body>"),
    "json-ld": ('<head><script type="application/ld+json">{"@context": "https://schema.org", "@type": '
                '"NewsArticle", "headline": "JSON headline", "datePublished": "2020-05-06", "author": '
                '{"@type": "Person", "name": "Katherine Johnson"}}</script></head><body>' + BODY + "</body>"),
    "json-ld graph": ('<head><script type="application/ld+json">{"@graph": [{"@type": "WebPage", "name": "W"}, '
                      '{"@type": "Article", "headline": "Graph headline", "author": [{"name": "A One"}, '
                      '{"name": "B Two"}], "dateModified": "2018-01-02"}]}</script></head><body>' + BODY + "</body>"),
    "broken json-ld": ('<head><script type="application/ld+json">{"@type": "Article", "headline": "Broken", '
                       '"author": {"name": "Dorothy Vaughan"</script><title>Fallback title</title></head><body>'
                       + BODY + "</body>"),
    "json-ld nested too deep": ('<head><title>Deep</title><script type="application/ld+json">'
                                + "[" * 5000 + "]" * 5000 + "</script></head><body>" + BODY + "</body>"),
    "title tag only": "<head><title>A page - Example Site</title></head><body>" + BODY + "</body>",
    "time element": ('<head><title>Timed</title></head><body><article><time datetime="2017-07-08">8 July</time>'
                     + BODY + "</article></body>"),
    "date in the url": "<head><title>Dated url</title></head><body>" + BODY + "</body>",
    "nothing": "<body>" + BODY + "</body>",
    "escaped twice": '<head><meta property="og:title" content="Tom &amp;amp; Jerry"></head><body>' + BODY + "</body>",
    "long title with entities": ("<head><title>" + "Caf&eacute; &amp; " * 40 + "</title></head><body>"
                                 + BODY + "</body>"),
}
URLS = {"date in the url": "https://news.example/2016/02/03/story.html"}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_metadata_is_what_trafilatura_finds(name):
    url = URLS.get(name, f"https://example.org/{name.replace(' ', '-')}")
    _, root = _parse(PageJob(url, f"<!doctype html><html lang=en>{PAGES[name]}</html>".encode()))
    expected = extract_metadata(deepcopy(root), url, dict(DATE_PARAMS))
    assert page_metadata(root, url) == (expected.title, expected.author, expected.date)


def test_the_pages_reach_the_fields():
    """The table is not vacuous: it holds titles, authors and dates from each kind of source."""
    found = {}
    for name, markup in PAGES.items():
        url = URLS.get(name, "https://example.org/x")
        _, root = _parse(PageJob(url, f"<html>{markup}</html>".encode()))
        found[name] = page_metadata(root, url)
    assert found["meta tags"][1] == "Ada Lovelace" and found["meta tags"][2] == "2021-03-04"
    assert found["json-ld"][:2] == ("JSON headline", "Katherine Johnson")
    assert found["broken json-ld"][:2] == ("Broken", "Dorothy Vaughan")  # read despite the broken JSON
    assert found["one-word author is dropped"][1] == "Alan Turing"  # the byline, not "admin"
    assert found["opengraph"] == ("OG title & more", "Grace Hopper", "2019-11-02")
    assert found["date in the url"][2] == "2016-02-03"
    assert found["time element"][2] == "2017-07-08"
    assert found["nothing"][1:] == (None, None)
    assert found["escaped twice"][0] == "Tom & Jerry"  # trafilatura unescapes the values it keeps
