"""Text from the ledger made safe to write into Markdown, HTML and JSON-LD (YAML goes through PyYAML).

Titles, authors, URLs, domains and license names come from crawled pages and imported files, so
anyone can put markup in them. What export writes must render as the text it is:

- :func:`md_text` is one line of literal text in Markdown and in the HTML a Markdown renderer makes
  of it: whitespace (newlines included) collapses to one space, Markdown punctuation is
  backslash-escaped and ``<``, ``>``, ``&`` become entities, so no tag, link, image, heading or
  table cell boundary can come from the data;
- :func:`md_link` writes a link only for an ``http``/``https`` URL with a host (never
  ``javascript:``, ``data:``, ``file:`` or a relative path); anything else is written as text;
- :func:`md_code` is an inline code span that the value cannot close;
- :func:`json_for_html` is JSON that stays inert inside an HTML ``<script>`` element (Hugging Face
  embeds a dataset's Croissant file in its page that way).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlsplit

MD_SPECIALS = "\\`*_[]()!|~$"  # $: Hugging Face renders $...$ as math
ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
URL_SAFE = "/:?#@!$&*+,;=%-._~"  # kept as they are inside a URL; anything else is percent-encoded
MD_TABLE = str.maketrans({**{ch: "\\" + ch for ch in MD_SPECIALS}, **ENTITIES})
CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


def one_line(value: object) -> str:
    """``value`` as text on one line: every run of whitespace (newlines, tabs) becomes one space."""
    return " ".join(str(value).split()) if value is not None else ""


def md_text(value: object) -> str:
    """Literal text inside Markdown (and the HTML rendered from it)."""
    return one_line(value).translate(MD_TABLE)


def web_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host and no whitespace or control
    characters; otherwise None."""
    if not isinstance(url, str) or not url or CONTROL_OR_SPACE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def md_link(label: str, url: object) -> str:
    """A Markdown link with an already escaped ``label``, only for a web URL; otherwise the label.
    The target is percent-encoded (spaces, brackets, quotes, parentheses), so it cannot end early."""
    target = web_url(url)
    if target is None:
        return label
    return f"[{label}]({quote(target, safe=URL_SAFE)})"


def md_code(value: object) -> str:
    """An inline code span holding ``value`` (on one line) that the value cannot close."""
    text = one_line(value)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def hostname(value: object) -> str | None:
    """``value`` when it is a plain lower-case DNS host name (IDNA form), else None."""
    return value if isinstance(value, str) and HOSTNAME.match(value) else None


def json_for_html(data: Any) -> str:
    """Pretty JSON whose text holds no ``<``, ``>`` or ``&`` (escaped as ``\\u003c`` etc.)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") + "\n"
