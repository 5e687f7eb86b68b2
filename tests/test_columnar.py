"""provenance.columnar gives, element by element, what provenance.ids gives (its scalar twin);
canonical_url's shortcut for plain URLs gives what w3lib's canonicalisation gives."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.columnar import Hasher
from provenance.ids import (
    _simple_canonical, _w3lib_canonical, doc_id_for_key, doc_id_for_text, doc_id_for_url, domain_of, text_sha256,
)

TRICKY_URLS = [
    "https://Example.ORG/Path?Q=1#frag", "HTTP://www.Example.org:80/", "https://example.org:443",
    "https://example.org:0443/x", "https://example.org:0/x", "http://example.org:8080/a?b?c#d",
    "https://example.org?q=1", "https://example.org/p?", "https://example.org/p?#f", "https://example.org#only",
    "https://example.org//double//slash", "https://www./x", "https://./x", "https://example.org./x",
    "https://user:pw@Example.org/x", "https://[::1]:8080/x", "https://bücher.example/ü", "ftp://Example.org/x",
    "https://example.org/a b", "https://example.org/%41%42", "https://example.org:/x", "https://example.org:65535/x",
    "https://ex_ample.org/x", "https://example.org/a@b", "https://example.org/a\\b", "mailto:someone@example.org",
    "https://example.org/\x7f", "https://EXAMPLE.org/Q?A=B&C=D", "https://www.WWW.example.org/",
    # canonical_url (w3lib rules): sorted query, unreserved escapes decoded, dot segments resolved
    "https://example.org/a?b=2&a=1", "https://example.org/%7euser", "https://example.org/a/../b",
    "https://example.org/./b", "https://example.org/p?a", "https://example.org/caf%c3%a9",
]


def check_shortcut(url: str) -> None:
    """Where the shortcut answers, w3lib's path (what canonical_url did for every URL) agrees."""
    text = url.strip()
    short = _simple_canonical(text)
    if short is not None:
        assert short == _w3lib_canonical(text), url


def check_urls(urls: list[str]) -> None:
    for url in urls:
        check_shortcut(url)
    with Hasher() as h:
        ids, domains = h.doc_ids_for_urls(pa.array(urls, pa.string()))
    assert ids.to_pylist() == [doc_id_for_url(u) for u in urls]
    assert domains.to_pylist() == [domain_of(u) for u in urls]


def test_tricky_urls_match_the_scalar_functions():
    check_urls(TRICKY_URLS)


def test_the_shortcut_takes_plain_urls_only():
    taken = [u for u in TRICKY_URLS if _simple_canonical(u.strip()) is not None]
    assert "https://Example.ORG/Path?Q=1#frag" in taken and "HTTP://www.Example.org:80/" in taken
    for odd in ("https://example.org/a?b=2&a=1", "https://example.org/a/../b", "https://example.org/%7euser",
                "https://bücher.example/ü", "https://example.org./x", "https://example.org:99999/x"):
        assert _simple_canonical(odd) is None, odd


URL_PIECES = st.sampled_from(["a", "B", ".", "-", "/", "?", "#", ":", "80", "443", "0", "@", "%2F", "www.", "é", " ", "=", "&", "_", "~"])


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(["http", "HTTPS", "https", "Http"]),
       host=st.text(alphabet="abcXYZ.-0129_w", min_size=1, max_size=12),
       rest=st.lists(URL_PIECES, max_size=10).map("".join))
def test_generated_urls_match_the_scalar_functions(scheme, host, rest):
    url = f"{scheme}://{host}{rest}"
    try:
        doc_id_for_url(url)
    except ValueError:  # the scalar function refuses it (e.g. a bad port): so does the vector one
        return
    check_urls([url])


def test_text_and_key_ids_and_text_hash():
    texts = ["hello", "héllo 😀", "a\x00b", "  spaced  "]
    with Hasher() as h:
        assert h.doc_ids_for_texts(pa.array(texts)).to_pylist() == [doc_id_for_text(t) for t in texts]
        assert h.doc_ids_for_keys("f.parquet", pa.array(texts)).to_pylist() == [doc_id_for_key("f.parquet", t) for t in texts]
        assert h.sha256_hex(pa.array(texts)).to_pylist() == [text_sha256(t) for t in texts]


def test_values_over_many_scan_batches_keep_their_rows():
    """Arrays longer than one scan batch are hashed on every thread and come back row for row."""
    from provenance.columnar import SCAN_BATCH_ROWS

    n = 3 * SCAN_BATCH_ROWS + 123
    urls = [f"https://h{i % 97}.example/p/{i}" if i % 11 else f"https://h{i}.example/a/../{i}" for i in range(n)]
    texts = [f"text {i}" for i in range(n)]
    with Hasher() as h:
        doc_ids, domains = h.doc_ids_for_urls(pa.array(urls))
        assert doc_ids.to_pylist() == [doc_id_for_url(u) for u in urls]
        assert domains.to_pylist() == [domain_of(u) for u in urls]
        assert h.sha256_hex(pa.chunked_array([texts[:1000], texts[1000:]])).to_pylist() == [text_sha256(t) for t in texts]
