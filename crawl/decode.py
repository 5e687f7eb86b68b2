"""Bytes of a page -> text, for declared and undeclared charsets.

Order (as browsers do): a byte order mark, then the charset of the ``Content-Type`` header, then
a ``<meta charset>`` / ``http-equiv`` declaration (w3lib, which also maps labels the WHATWG way,
e.g. ``iso-8859-1`` -> ``cp1252``). Undeclared: UTF-8 when the bytes are valid UTF-8; otherwise
``charset_normalizer``'s guess when it reads the page as a non-Latin script (Cyrillic, Greek, CJK,
...), else ``cp1252``, the web's fallback for Western pages (short Latin texts fool statistical
detectors into Baltic or Central European code pages).
"""

from __future__ import annotations

import re
import unicodedata

from w3lib.encoding import html_to_unicode

FALLBACK = "cp1252"
_SAMPLE_BYTES = 64 * 1024
_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD.

    JSON escapes such as ``"\\ud800"`` (JSON-LD, tdmrep.json) decode to lone surrogates, which no
    UTF-8 writer (Arrow, Parquet, DuckDB) accepts: one such value would fail a whole ledger write.
    """
    return _SURROGATE.sub("\ufffd", text)


def _latin_share(text: str) -> float:
    letters = [c for c in text if ord(c) > 127 and c.isalpha()]
    if not letters:
        return 1.0
    latin = sum(1 for c in letters if unicodedata.name(c, "").startswith("LATIN"))
    return latin / len(letters)


def guess_encoding(body: bytes) -> str:
    """The encoding of bytes that declare none."""
    sample = body[:_SAMPLE_BYTES]
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 4 and len(body) > len(sample):
            return "utf-8"  # a multi-byte character cut by the sample boundary
    import charset_normalizer

    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        return FALLBACK
    text = sample.decode(best.encoding, "replace")
    return FALLBACK if _latin_share(text) >= 0.5 else best.encoding


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """``(encoding, text)`` of an HTML body given its ``Content-Type`` header value."""
    encoding, text = html_to_unicode(content_type, body, default_encoding=FALLBACK,
                                     auto_detect_fun=guess_encoding)
    return encoding, text
