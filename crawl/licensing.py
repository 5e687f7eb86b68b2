"""License statements of a page, read from its parsed HTML, each with its scope (DESIGN.md,
"License detection").

Sources (the ranking itself is :data:`provenance.licenses.SOURCE_STRENGTH`):

``rel_license``        ``<a rel="license" href=...>``; ``itemprop="license"`` links and metas
``link_rel_license``   ``<link rel="license" href=...>``, and the same link as an HTTP header
                       (``Link: <...>; rel="license"``, :func:`header_licenses`)
``jsonld``             ``license`` of a top-level JSON-LD object (or of an ``@graph`` item);
                       licenses of nested objects (an image, a cited work) are not the page's
``dcterms``            ``<meta name="dcterms.license|dc.rights|dcterms.rights|rights|license">``,
                       ``<meta property="og:license">``, and a license named in ``<meta name="copyright">``
``footer_link``        a license link, or a license named in the text, of a site notice: the page
                       footer or bottom bar, a sidebar widget, a navigation bar
``copyright_notice``   an explicit reservation ("All rights reserved") in a site notice, or in a
                       ``<meta name="copyright|rights">``
``body_link``          a license link anywhere else (the article, a comment, a tag cloud)

Scope: what a statement is about (:data:`SCOPES`). Only ``content`` statements decide the page's
license (:func:`decide`); the others are kept as evidence.

``content``   the page's own content: head metadata, the main JSON-LD entity, ``rel=license``
              outside media, site notices (footer, bottom bar, sidebar widget, navigation bar), a
              sentence in the article that declares the article's own license
``media``     embedded media: figures, captions, image and photo credits (an element whose class
              or id names an image, a caption or a credit; a copyright element next to an image),
              JSON-LD ``ImageObject``/``VideoObject``/``AudioObject``
``software``  the site software: a software license (GPL, MIT, Apache ...) in a site notice or a
              menu, a sentence about the theme, the CMS or the code, JSON-LD software
``subject``   what the text is about: a license link in the article or in comments, tag and
              category links (an article that discusses licenses)

Everything is read in the one parse of the page: one walk over the tree, plus bounded walks up the
ancestors of the few elements that make a statement and over the text of the few notice regions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from crawl.decode import valid_text
from provenance import licenses
from provenance.records import LicenseDecision, LicenseFinding

MAX_RAW_CHARS = 2000
MAX_JSONLD_CHARS = 200_000  # a longer block is cut, so it no longer parses: skipped
MAX_JSONLD_DEPTH = 8  # @graph and license lists nested deeper are not followed
MAX_JSONLD_ITEMS = 1000
MAX_ANCESTORS = 40  # a statement's region is decided by its nearest 40 ancestors
MAX_REGION_CHARS = 4000  # text read from one notice region
MAX_REGIONS = 300
MAX_NOTICE_CHARS = 60_000  # text read from all notice regions together
PAGE_END_CHARS = 600  # the end of the page text, read for a reservation
_MAX_SENTENCES = 60
_MAX_EVIDENCE_CHARS = 300

SCOPES = ("content", "media", "software", "subject")
# Creative Commons named without saying which license (the vocabulary's "unread" form: not open).
UNSPECIFIED_CC = "LicenseRef-unread-creative-commons"

_LICENSE_HOSTS = ("creativecommons.org", "licensebuttons.net", "opensource.org", "gnu.org", "spdx.org",
                  "choosealicense.com", "apache.org", "unlicense.org", "mozilla.org", "eclipse.org")
_META_NAMES = {"dcterms.license", "dc.rights", "dcterms.rights", "dc.license", "license", "rights",
               "dcterms:license", "dc:rights", "dc.rights.license", "rights-standard", "copyright-license"}
_META_PROPERTIES = {"og:license", "dc:rights", "dcterms:license", "dcterms.license", "license",
                    "dc:license", "cc:license", "xhv:license"}
_SKIP_TEXT_TAGS = {"script", "style", "noscript", "template", "svg", "select", "option", "textarea"}

# Region words, matched against the words of an element's class and id tokens ("site-footer" ->
# "site", "footer"; "seitenfuss" is one word). Non-English bottom bars too: German Fuß(zeile),
# Portuguese rodapé, Spanish pie (de página), French pied de page, Italian piè di pagina, Dutch voet,
# Polish stopka, Chinese pinyin dibu (底部) and banquan (版权).
_FOOTER_WORDS = frozenset({
    "footer", "foot", "footnote-site", "sitefooter", "pagefooter", "colophon", "siteinfo", "bottom",
    "bottombar", "bottomline", "copyright", "copyrights", "copy", "legal", "fuss", "fusszeile",
    "fussbereich", "seitenfuss", "fuß", "fußzeile", "seitenfuß", "rodape", "rodapé", "pie",
    "piedepagina", "pied", "piedepage", "piede", "pie-pagina", "voet", "voettekst", "stopka",
    "dibu", "banquan", "imprint", "bot", "btm", "credits", "license", "licence", "lizenz", "licencia", "licenca",
})
_FOOTER_PREFIXES = ("footer", "seitenfuss", "fusszeile", "rodape", "copyright", "bottom")
_SIDEBAR_WORDS = frozenset({"sidebar", "widget", "widgets", "aside", "secondary", "tertiary", "rail",
                            "textwidget", "seitenleiste", "sidebar1", "sidebar2", "sidenav"})
_NAV_WORDS = frozenset({"nav", "navbar", "navigation", "menu", "menubar", "topbar", "topnav", "header",
                        "masthead", "breadcrumb", "breadcrumbs"})
_MEDIA_WORDS = frozenset({
    "caption", "figcaption", "figure", "image", "images", "img", "photo", "photos", "foto", "fotos",
    "bild", "bilder", "picture", "pic", "media", "thumb", "thumbnail", "teaser", "gallery", "galerie",
    "slide", "slider", "slideshow", "carousel", "attachment", "video", "audio", "isc", "bildnachweis",
    "fotonachweis", "bildquelle", "fotoquelle", "imagecredit", "photocredit", "wpcaption", "legende",
    "legend", "credito", "crédito", "credit-photo", "lightbox", "hero", "visual", "illustration",
})
_CREDIT_WORDS = frozenset({"copyright", "credit", "credits", "source", "quelle", "nachweis", "autor",
                           "author", "rights", "license", "licence", "lizenz"})
_SUBJECT_WORDS = frozenset({"comment", "comments", "commentlist", "kommentar", "kommentare", "comentarios",
                            "comentario", "reply", "replies", "respond", "discussion", "tag", "tags",
                            "tagcloud", "category", "categories", "cat", "kategorie", "kategorien",
                            "schlagworte", "keywords", "related", "recent", "archive", "archives"})
_MAIN_WORDS = frozenset({"content", "entry", "post", "article", "story", "text", "body", "main"})
_MAIN_TOKENS = re.compile(r"^(?:entry-?content|post-?(?:content|body|entry|text)|article-?(?:body|content|text)"
                          r"|articlebody|story-?(?:body|content)|single-?content|blog-?post|main-?content"
                          r"|td-post-content|node-?content|field-?body|content-?body|itemfulltext|text-?content)$")
_IMAGE_NEIGHBOUR_SIZE = 30  # elements: an image wrapper is small
_BLOCK_TAGS = {"main", "article", "section", "header", "footer", "nav", "aside", "body"}
_REGION_TAGS = {"figure", "figcaption", "picture", "video", "audio", "footer", "aside", "nav", "article",
                "main", "header"}
# The end of the page is read from its last text nodes, leaving out these elements' texts.
_PAGE_END_NODES = 60
_HIDDEN_TEXT_TAGS = frozenset({"script", "style", "noscript", "template"})
_OPEN_FAMILIES = {"cc", "cc0", "pdm", "osi", "gfdl"}
_NOTICE_ORDER = {"footer": 0, "sidebar": 1, "nav": 2}
_MEDIA_TAGS = {"figure", "figcaption", "picture", "video", "audio"}
_IMAGE_TAGS = {"img", "picture", "video", "figure"}
_LAYOUT_TOKEN = re.compile(
    r"^(?:has|with|no|show|hide)[-_]|[-_]with[-_]|layout|template"
    r"|(?:content|main|article|post|primary)[-_]?(?:and[-_])?(?:sidebar|rail|aside)"
    r"|(?:sidebar|rail)[-_]?(?:and[-_])?(?:content|main)")
_WORD_SPLIT = re.compile(r"[-_\s]+|(?<=[a-z])(?=[A-Z])")

# Software, by the sentence around a statement: the theme, the CMS, the code.
_SOFTWARE_TEXT = re.compile(
    r"(?<![a-z])(?:powered\s+by|theme|template|wordpress|joomla|drupal|typo3|plugin|software|source\s*code"
    r"|code\s+(?:is|on|at|licen)|engine|built\s+with|made\s+with|betrieben\s+mit|quellcode"
    r"|c[oó]digo|github|gitlab|framework)(?![a-z])", re.I)
# A sentence about content, which makes even a software license a content statement.
_CONTENT_TEXT = re.compile(
    r"(?<![a-z])(?:content|contents|text|texts|articles?|posts?|blog|site|website|page|work|material"
    r"|inhalte?|texte?|artikel|beitr[aä]ge?|werk|seite|website|contenidos?|textos?|art[ií]culos?"
    r"|conte[uú]dos?|obra|contenus?|travaux)(?![a-z])", re.I)
# A sentence in the article that declares the article's own license ("This work is licensed ...").
_SELF_DECLARATION = re.compile(
    r"(?<![a-z])(?:(?:this|the|dieser|diese|dieses|este|esta|ce|cet|cette|questo|questa)\s+"
    r"(?:work|article|post|blog|site|page|text|content|material|entry|beitrag|artikel|werk|text|inhalt"
    r"|obra|art[ií]culo|texto|contenido|conte[uú]do|article|contenu|billet|opera|testo)"
    r"[^.!?]{0,80}(?:licen[cs]ed|available|published|released|distributed|lizenziert|steht|stehen|unter"
    r"|bajo|sob|sous|est|ist|is)"
    r"|(?:text|content|inhalt|texte|inhalte)\s+(?:is|are|ist|sind)\s+(?:available|licen[cs]ed|lizenziert)"
    r"|(?:unless|sofern|salvo|sauf)\s+(?:otherwise|nicht|indicaci|mention))",
    re.I)
# A sentence about images: "Some images under CC BY-SA", "Fotos: CC BY 2.0".
_MEDIA_TEXT = re.compile(
    r"(?<![a-z])(?:images?|photos?|photographs?|pictures?|fotos?|fotografie|bild|bilder|grafiken?"
    r"|illustrations?|videos?|im[aá]genes|imagens?|immagini|cover|titelbild|beitragsbild)(?![a-z])", re.I)
# Interim, until the vocabulary (provenance.licenses) has them: reservations worded without "all
# rights reserved" that real pages use, and Creative Commons named without saying which license.
_RESERVATION_EXTRA = re.compile(
    r"(?:reproduc\w*|republi\w*|redistribut\w*)[^.!?]{0,120}without[^.!?]{0,40}(?:written|prior|express)"
    r"[^.!?]{0,20}(?:permission|consent)"
    r"|(?:may|must|shall)\s+not\s+be\s+(?:reproduced|republished|redistributed)"
    r"|no\s+part[^.!?]{0,60}may\s+be\s+(?:reproduced|copied|republished)"
    r"|nachdruck[^.!?]{0,40}nur\s+mit[^.!?]{0,30}genehmigung"
    r"|(?:prohibida|proibida)\s+(?:la\s+|a\s+|su\s+|sua\s+)?reprodu[cç]"
    r"|無断(?:で)?(?:転載|使用|複製|転用|引用)[^。]{0,12}(?:禁|ご遠慮)"
    r"|未经[^。]{0,12}(?:授权|许可|同意)[^。]{0,20}不得(?:转载|复制|使用|摘编)"
    r"|未經[^。]{0,12}(?:授權|許可|同意)[^。]{0,20}不得(?:轉載|複製|使用)",
    re.I)
_CC_UNSPECIFIED = re.compile(
    r"creative[\s\-]*commons(?:[\s\-]*(?:licen[cs]e|lizenz|licencia|licen[cç]a))?"
    r"|(?:licen[cs]ed|available|lizenziert|unter|under|bajo|sous|sob)[^.!?]{0,40}creative[\s\-]*commons",
    re.I)
_CC_UNSPECIFIED_CONTEXT = re.compile(
    r"(?:licen[cs]|lizenz|unter|under|bajo|sous|sob|available|verf[uü]gbar|disponible)", re.I)
_CC_PLURAL = re.compile(r"lizenzen|licen[cs]es|licencias|licen[cç]as|lizenzmodell", re.I)
_LICENSE_HOST_WORDS = ("creativecommons", "licensebuttons", "opensource.org", "gnu.org", "spdx.org", "choosealicense",
                       "apache.org", "unlicense", "mozilla.org", "eclipse.org")
_LICENSE_HOST_HINT = re.compile("|".join(re.escape(w) for w in _LICENSE_HOST_WORDS), re.I)
_RESERVATION_KEYS = ("reserv", "vorbehalten", "版权所有", "版權所有", "無断", "転載", "prohibid", "proibid",
                     "permission", "nachdruck", "不得", "riservati", "réservés", "reproduced")
_RESERVATION_KEY = re.compile("|".join(re.escape(k) for k in _RESERVATION_KEYS), re.I)
# The same search on ASCII text lowered first: a case-sensitive scan, several times faster
# (for ASCII text, lowering and re.I agree exactly; other text takes _RESERVATION_KEY)
_RESERVATION_KEY_LOWER = re.compile("|".join(re.escape(k.lower()) for k in _RESERVATION_KEYS))
_COPYRIGHT_MARK = re.compile(r"©|\(c\)|&copy;|copyright|版权|版權|著作権", re.I)
# Words that name a license or a reservation at all.
_LICENSE_CUE = re.compile(
    r"licen[cs]|lizenz|licen[cç]a|creative[\s_-]*commons|(?<![a-z])cc[\s_-]?(?:by|0|zero|pdm)|copyright|©"
    r"|rights|rechte|droits|derechos|direitos|diritti|gpl|gnu|public[\s_-]*domain|gemeinfrei|spdx"
    r"|(?<![a-z])(?:mit|bsd|apache|mpl|eupl|cecill|odbl|pddl|wtfpl)(?![a-z])|版权|著作権", re.I)
# A sentence worth reading at all: it names a license (a "(c) 2024 Foo" alone reserves nothing).
_STATEMENT_CUE = re.compile(
    r"licen[cs]|lizenz|licen[cç]a|creative[\s_-]*commons|(?<![a-z])cc[\s_-]?(?:by|0|zero|pdm|-?nc|-?sa|-?nd)"
    r"|gpl|gnu|public[\s_-]*domain|gemeinfrei|domaine\s+public|dominio\s+p[uú]blico|spdx"
    r"|(?<![a-z])(?:mit|bsd|apache|mpl|eupl|cecill|odbl|pddl|wtfpl|gfdl|fdl)(?![a-z])", re.I)
_ARCHIVED = re.compile(r"^(?:https?:)?//[^/]+/(?:web|wayback|save)/\d{4,14}[a-z_]{0,4}/+(?P<url>.+)$", re.I)
_SENTENCE = re.compile(r"(?<=[.!?|\u00b7\u2022\u3002\uff01])\s+|\s+[|\u00b7\u2022]\s+|\n")


@dataclass(frozen=True, slots=True)
class LicenseHit:
    """A raw license statement found in a page: its SPDX id (None when not recognized) and scope."""

    source: str
    raw_value: str
    license: str | None
    scope: str = "content"

    @property
    def in_body(self) -> bool:
        """Evidence only: not a statement about the page's own content."""
        return self.scope != "content"


# --------------------------------------------------------------------------------------------------
# Regions: what part of the page an element belongs to
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _marks_region(marks: str) -> str | None:
    """The region that class and id words name (cached: pages repeat their class names)."""
    flags = 0
    for token in marks.split():
        flags |= _token_flags(token)
    if flags & _MEDIA:
        return "media"
    if flags & _SUBJECT and not flags & _FOOTER_WORD:
        return "subject"
    if flags & _CREDIT:
        return "credit"
    if flags & (_FOOTER_WORD | _FOOTER_PREFIX):
        return "footer"
    if flags & _SIDEBAR:
        return "sidebar"
    if flags & _NAV:
        return "nav"
    if flags & _MAIN:
        return "main"
    return None


# What the words of a class or id token name, as bits: a class string names what its tokens name
# together, so each token is read once (tokens repeat across sites far more than whole strings).
_MEDIA, _SUBJECT, _FOOTER_WORD, _CREDIT, _FOOTER_PREFIX, _SIDEBAR, _NAV, _MAIN = (1 << i for i in range(8))
_CREDIT_MARKS = frozenset({"copyright", "copyrights", "credit", "credits", "source", "quelle", "nachweis"})


@lru_cache(maxsize=16384)
def _token_flags(token: str) -> int:
    """The bits of what one class or id token's words name (0 for a page-layout token)."""
    low = token.lower()
    if _LAYOUT_TOKEN.search(low):
        return 0  # "has-sidebar", "article-with-rail", "content-sidebar-wrap": page layout
    words = {low, low.replace("-", "").replace("_", ""), *(w.lower() for w in _WORD_SPLIT.split(token) if w)}
    flags = 0
    for mask, names in ((_MEDIA, _MEDIA_WORDS), (_SUBJECT, _SUBJECT_WORDS), (_FOOTER_WORD, _FOOTER_WORDS),
                        (_CREDIT, _CREDIT_MARKS), (_SIDEBAR, _SIDEBAR_WORDS), (_NAV, _NAV_WORDS)):
        if not words.isdisjoint(names):
            flags |= mask
    if any(w.startswith(_FOOTER_PREFIXES) for w in words):
        flags |= _FOOTER_PREFIX
    if any(_MAIN_TOKENS.match(w) for w in words):
        flags |= _MAIN
    return flags


def _region_of(el) -> str | None:
    """The region an element itself marks, or None: 'footer', 'sidebar', 'nav', 'media',
    'credit' (a copyright/credit block: media when next to an image, else a notice), 'subject'
    (comments, tags, categories), 'main' (the article)."""
    tag = el.tag
    attrib = el.attrib
    if tag not in _REGION_TAGS and "class" not in attrib and "id" not in attrib and "role" not in attrib \
            and "itemprop" not in attrib:
        return None
    role = (el.get("role") or "").lower()
    if tag in _MEDIA_TAGS:
        return "media"
    if tag == "footer" or role == "contentinfo":
        return "footer"
    if tag == "aside" or role == "complementary":
        return "sidebar"
    if tag == "nav" or role == "navigation":
        return "nav"
    prop = (el.get("itemprop") or "").lower()
    if prop == "articlebody":
        return "main"
    if prop in ("image", "associatedmedia", "photo", "video", "thumbnail"):
        return "media"
    if prop in ("comment", "comments"):
        return "subject"
    marks = f"{el.get('id') or ''} {el.get('class') or ''}"
    if marks.strip():
        mark = _marks_region(marks)
        if mark is not None:
            return mark
    if tag in ("article", "main") or role in ("main", "article"):
        return "main"
    if tag == "header" or role == "banner":
        return "nav"
    return None


def _next_to_image(el) -> bool:
    """A credit element that belongs to an image: it, or the small element right before or after
    it, holds an image (a license badge inside a license link does not count). A large neighbour
    (an article body with pictures) does not make a site's copyright block an image credit."""
    for node in (el, el.getprevious(), el.getnext()):
        if node is None or not isinstance(node.tag, str):
            continue
        if node is not el and (node.tag in _BLOCK_TAGS or _region_of(node) in ("main", "footer", "sidebar", "nav", "subject")):
            continue  # the article or a page region beside a copyright block is not its image
        images = False
        for i, sub in enumerate(node.iter()):
            if i > _IMAGE_NEIGHBOUR_SIZE:
                images = False
                break
            if isinstance(sub.tag, str) and sub.tag in _IMAGE_TAGS and not _badge(sub):
                images = True
        if images:
            return True
    return False


def _badge(img) -> bool:
    """A license badge: an image served by a license host, or inside a link to a license."""
    src = img.get("src") or img.get("data-src") or ""
    if _is_license_url(src):
        return True
    node = img.getparent()
    for _ in range(3):
        if node is None or not isinstance(node.tag, str):
            return False
        if node.tag == "a":
            return "license" in _rel_tokens(node) or _is_license_url(node.get("href") or "")
        node = node.getparent()
    return False


def region(el, memo: dict) -> str:
    """The nearest region around an element ('page' when none): its own mark first, then its
    ancestors'. A copyright or credit block is media when it sits by an image or inside a media
    region, else a notice ('footer'). ``memo`` caches answers per element for one page."""
    chain = []
    node = el
    found = "page"
    credit_at = -1  # index in chain of the lowest credit block
    for _ in range(MAX_ANCESTORS):
        if node is None or not isinstance(node.tag, str) or node.tag in ("body", "html"):
            break
        if node in memo:
            found = memo[node]
            break
        mark = _region_of(node)
        if mark == "credit" and _next_to_image(node):
            mark = "media"
        chain.append(node)
        if mark == "credit":
            if credit_at < 0:
                credit_at = len(chain) - 1
        elif mark is not None:
            found = mark
            break
        node = node.getparent()
    above = found
    if credit_at >= 0 and found != "media":
        found = "footer"
    for i, n in enumerate(chain):
        memo[n] = found if credit_at < 0 or i <= credit_at else above
    return found


# --------------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------------


def _names_license_host(href: str) -> bool:
    """Whether a link's target names a license host (a cheap test before resolving it): an ASCII
    one by substrings of its lower case, the same answer as the case-insensitive pattern, which
    reads the others (non-ASCII letters can fold to ASCII ones) at five times the cost."""
    if href.isascii():
        low = href.lower()
        return any(word in low for word in _LICENSE_HOST_WORDS)
    return _LICENSE_HOST_HINT.search(href) is not None


def _rel_tokens(el) -> set[str]:
    return {t.lower() for t in (el.get("rel") or "").split()}


def unarchive(url: str) -> str:
    """A license URL as a web archive rewrote it (``web.archive.org/web/<ts>/https://...``) -> the
    original URL; any other URL unchanged."""
    m = _ARCHIVED.match(url.strip())
    if m is None:
        return url
    inner = m.group("url")
    if re.match(r"^https?:/(?!/)", inner, re.I):  # archives sometimes fold '//' into '/'
        inner = inner.replace(":/", "://", 1)
    return inner if "://" in inner[:8] or inner.startswith("//") else "http://" + inner


def _is_license_url(url: str) -> bool:
    try:
        host = (urlsplit(unarchive(url)).hostname or "").lower()
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in _LICENSE_HOSTS)


def _text_of(el, limit: int = MAX_REGION_CHARS) -> str:
    """Visible text of an element, skipping scripts and the subtrees of media and subject regions
    inside it (a figure's credit in a footer is not the footer's statement)."""
    parts: list[str] = []
    size = 0
    stack: list = [el]
    while stack and size < limit:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            size += len(item)
            continue
        if item is not el and item.tail:
            stack.append(item.tail)  # read after the element's own text and children
        if not isinstance(item.tag, str) or item.tag in _SKIP_TEXT_TAGS:
            continue
        if item is not el:
            mark = _region_of(item)
            if mark == "media" or mark == "subject" or (mark == "credit" and _next_to_image(item)):
                continue
        if item.text:
            parts.append(item.text)
            size += len(item.text)
        elif item.tag == "a" and item.get("title") and not any(c.tail and c.tail.strip() for c in item):
            parts.append(f" {item.get('title')}. ")  # a logo link says it in its title only
        stack.extend(reversed(item))
    return " ".join(" ".join(parts).split())


@lru_cache(maxsize=4096)
def _normalize(raw: str) -> str | None:
    """The vocabulary's reading of a value (an archived license URL read as the original). A value
    the vocabulary could not read exactly (``LicenseRef-unread-``) counts only when it names a
    license at all: "Mission and Vision" in a menu is no license statement."""
    value = unarchive(raw) if raw[:8].lower().startswith(("http", "//")) else raw
    spdx = licenses.normalize(value)
    if spdx is not None and "LicenseRef-unread-" in spdx and not _LICENSE_CUE.search(value):
        return None
    return spdx


def read_statement(text: str) -> str | None:
    """A statement in the text of a page -> its license: the vocabulary's reading, else the interim
    rules above (a reservation in other words; Creative Commons named without the license, which
    becomes a ``LicenseRef-unread-`` value: never open)."""
    if not _STATEMENT_CUE.search(text) and not _has_reservation_key(text):
        return None  # names no license and reserves nothing: not worth the vocabulary's time
    spdx = _normalize(text)
    if spdx is not None:
        return spdx
    if _RESERVATION_EXTRA.search(text):
        return licenses.ALL_RIGHTS_RESERVED
    if (len(text) <= 200 and _CC_UNSPECIFIED.search(text) and _CC_UNSPECIFIED_CONTEXT.search(text)
            and _CONTENT_TEXT.search(text) and not _CC_PLURAL.search(text)):
        return UNSPECIFIED_CC  # "Content available under a Creative Commons license"
    return None


def _hit(source: str, raw: str, scope: str) -> LicenseHit:
    raw = valid_text(" ".join(raw.split())[:MAX_RAW_CHARS])
    return LicenseHit(source, raw, _normalize(raw), scope)


def _is_software_license(spdx: str | None) -> bool:
    i = licenses.info(spdx)
    return i is not None and i.family == "osi"


def _context(el, limit: int = 400) -> str:
    """The sentence-sized text around an element: its parent's text, cut."""
    parent = el.getparent()
    return _text_of(parent if parent is not None else el, limit)[:limit]


def _link_scope(el, url: str, spdx: str | None, memo: dict, *, rel_license: bool) -> tuple[str, str]:
    """(source, scope) of a license link in the page body."""
    where = region(el, memo)
    if "tag" in _rel_tokens(el) or "category" in _rel_tokens(el) or re.search(r"/(?:tag|tags|category|kategorie|categoria)/", url):
        return "body_link", "subject"
    if where == "media":
        return ("rel_license" if rel_license else "body_link"), "media"
    if where == "subject":
        return "body_link", "subject"
    context = _context(el)
    # A software license (GPL, MIT, Apache ...) in a menu or notice is the site software's unless the
    # sentence says it is the content's; Creative Commons and GFDL are content licenses.
    if _is_software_license(spdx) and _about_software(_sentence_around(el)):
        return ("rel_license" if rel_license else "footer_link"), "software"
    if rel_license:
        return "rel_license", "content"
    if where in ("footer", "sidebar", "nav"):
        return "footer_link", "content"
    if _SELF_DECLARATION.search(context):
        return "body_link", "content"
    return "body_link", "subject"


def _jsonld(text: str) -> object | None:
    """A JSON-LD block, or None when it is not JSON (malformed, or nested too deeply to read)."""
    text = re.sub(r"^\s*(?:<!--|<!\[CDATA\[)|(?:-->|\]\]>)\s*$", "", text[:MAX_JSONLD_CHARS].strip())
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


_JSONLD_MEDIA = {"imageobject", "videoobject", "audioobject", "mediaobject", "photograph", "podcastepisode"}
_JSONLD_SOFTWARE = {"softwareapplication", "softwaresourcecode", "webapplication", "mobileapplication",
                    "videogame"}


def _jsonld_type_scope(obj: dict) -> str:
    kinds = obj.get("@type")
    names = {str(k).rsplit("/", 1)[-1].casefold() for k in (kinds if isinstance(kinds, list) else [kinds])}
    if names & _JSONLD_SOFTWARE:
        return "software"
    if names & _JSONLD_MEDIA and not names - _JSONLD_MEDIA - {"podcastepisode"}:
        return "media"
    return "content"


def _jsonld_licenses(data: object, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(``license`` value, scope) of top-level JSON-LD objects and of ``@graph`` items."""
    items = data if isinstance(data, list) else [data]
    for obj in items[:MAX_JSONLD_ITEMS]:
        if not isinstance(obj, dict):
            continue
        scope = _jsonld_type_scope(obj)
        for key in ("license", "schema:license", "http://schema.org/license", "https://schema.org/license"):
            if key in obj:
                for value in _license_values(obj[key]):
                    yield value, scope
        graph = obj.get("@graph")
        if isinstance(graph, list) and depth < MAX_JSONLD_DEPTH:
            yield from _jsonld_licenses(graph, depth + 1)


def _license_values(value: object, depth: int = 0) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in ("@id", "url", "name", "@value"):
            if isinstance(value.get(key), str):
                yield value[key]
                return
    elif isinstance(value, list) and depth < MAX_JSONLD_DEPTH:
        for v in value[:20]:
            yield from _license_values(v, depth + 1)


def find_licenses(root, base_url: str) -> list[LicenseHit]:
    """License statements of a parsed page (an lxml.html root), in document order per source."""
    hits: list[LicenseHit] = []
    notices: list = []  # (order, position, element) of the footer, sidebar and navigation regions
    notice_set: set = set()
    exact_links: list = []  # links that name a license exactly, in content scope
    memo: dict = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag
        if tag in ("a", "area", "link", "meta") and (el.get("itemprop") or "").strip().lower() == "license":
            value = el.get("href") or el.get("content") or ""
            if value.strip():
                value = urljoin(base_url, value.strip()) if tag != "meta" else value
                where = region(el, memo) if tag in ("a", "area") else "page"
                hits.append(_hit("rel_license", value, "media" if where == "media" else "content"))
            continue
        if tag == "a" or tag == "area":
            href = (el.get("href") or "").strip()
            rel = "license" in _rel_tokens(el)
            # a license host must be named (a cheap test before urljoin) unless rel says license
            url = urljoin(base_url, href) if href and (rel or _names_license_host(href)) else ""
            if rel or (url and _is_license_url(url)):
                raw = url or _text_of(el, 500)
                spdx = _normalize(raw)
                if spdx is None and url:  # a local license page ('/license') named by its link text
                    text = _text_of(el, 500)
                    text_spdx = _normalize(text)
                    if text_spdx is not None:
                        raw, spdx = text, text_spdx
                if rel or spdx is not None:
                    source, scope = _link_scope(el, url, spdx, memo, rel_license=rel)
                    hits.append(_hit(source, raw, scope))
                    if scope == "content" and restrictiveness(spdx) < 100:
                        exact_links.append(el)
        elif tag == "link" and "license" in _rel_tokens(el) and el.get("href"):
            hits.append(_hit("link_rel_license", urljoin(base_url, el.get("href").strip()), "content"))
        elif tag == "meta":
            name = (el.get("name") or "").strip().lower()
            prop = (el.get("property") or "").strip().lower()
            content = (el.get("content") or "").strip()
            if not content:
                continue
            if name in _META_NAMES or prop in _META_PROPERTIES:
                hit = _hit("dcterms", content, "content")
                if hit.license == licenses.ALL_RIGHTS_RESERVED:
                    hit = LicenseHit("copyright_notice", hit.raw_value, hit.license, "content")
                hits.append(hit)
            elif name in ("copyright", "dc.copyright", "dcterms.copyright", "copyright-notice"):
                hit = _hit("copyright_notice", content, "content")
                if hit.license is not None and hit.license != licenses.ALL_RIGHTS_RESERVED:
                    hit = LicenseHit("dcterms", hit.raw_value, hit.license, "content")
                if hit.license is not None:
                    hits.append(hit)
        elif tag == "script" and (el.get("type") or "").strip().lower() == "application/ld+json":
            data = _jsonld(el.text or "")  # a block that is not JSON is no statement: skipped
            for value, scope in _jsonld_licenses(data):
                hits.append(_hit("jsonld", value, scope))
        if tag in _SKIP_TEXT_TAGS or tag in ("meta", "link"):
            continue
        if el.text and len(el.text) < 2000 and _has_reservation_key(el.text):
            reserved = _block_reservation(el, memo)
            if reserved is not None:
                hits.append(reserved)
        if len(notices) < MAX_REGIONS and tag not in ("a", "area"):
            mark = _region_of(el)
            if mark in ("footer", "sidebar", "nav", "credit"):
                where = region(el, memo)  # a credit block inside a media region is media
                if where in _NOTICE_ORDER and not (where != "footer" and any(a in notice_set for a in el.iterancestors())):
                    notices.append((_NOTICE_ORDER[where], len(notices), el))
                    notice_set.add(el)
    notices.sort(key=lambda n: n[:2])  # footers first, then sidebars, then navigation bars
    linked = {a for link in exact_links for a in link.iterancestors() if a in notice_set}
    hits.extend(_notice_text_hits(root, [n[2] for n in notices], linked))
    if any(h.scope == "content" and h.license not in (None, UNSPECIFIED_CC) and _is_cc(h.license) for h in hits):
        # "a Creative Commons license" beside the link that says which one: the same statement
        hits = [h for h in hits if h.license != UNSPECIFIED_CC]
    return _dedupe(hits)


def _is_cc(spdx: str | None) -> bool:
    i = licenses.info(spdx)
    return i is not None and i.family in ("cc", "cc0", "pdm")


def _reservation_key_at(text: str) -> int:
    """Where the first reservation key word of ``text`` starts (-1: none)."""
    m = _RESERVATION_KEY_LOWER.search(text.lower()) if text.isascii() else _RESERVATION_KEY.search(text)
    return m.start() if m is not None else -1


def _has_reservation_key(text: str) -> bool:
    return _reservation_key_at(text) >= 0


def _block_reservation(el, memo: dict) -> LicenseHit | None:
    """An explicit reservation in a short block of the page ("Copyright (c) Intel Corporation. All
    rights reserved."): a statement about the content unless it sits in media or among comments;
    outside a notice region it counts only as a copyright line (with (c) or "copyright")."""
    text = _text_of(el, 600)
    if len(text) > 500 or read_statement(text) != licenses.ALL_RIGHTS_RESERVED:
        return None
    where = region(el, memo)
    if where in ("media", "subject"):
        return None
    if where in ("main", "page") and not _COPYRIGHT_MARK.search(text):
        return None
    return LicenseHit("copyright_notice", valid_text(text[:MAX_RAW_CHARS]), licenses.ALL_RIGHTS_RESERVED,
                      "content")


def _page_end(root) -> str:
    """The last ``PAGE_END_CHARS`` characters of the visible text of the page: its last text nodes
    (at most ``_PAGE_END_NODES``, until twice that many characters), leaving out the texts of
    scripts, styles, noscript and template elements. The tree is read from its end, only as far
    as needed (the nodes a whole-page search would visit, last first)."""
    body = root.find("body")
    stack: list = [body if body is not None else root]  # elements to open, or texts to take
    parts: list[str] = []
    size = 0
    while stack and size < PAGE_END_CHARS * 2 and len(parts) < _PAGE_END_NODES:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            size += len(item)
            continue
        shown = item.tag not in _HIDDEN_TEXT_TAGS
        if item.text and shown:
            stack.append(item.text)  # taken after everything inside the element
        for child in item:  # the last child's tail, then the last child, come off the stack first
            if isinstance(child.tag, str):
                stack.append(child)
            if child.tail and shown:
                stack.append(child.tail)
    return " ".join(" ".join(reversed(parts)).split())[-PAGE_END_CHARS:]


def _notice_text_hits(root, notices: list, linked: set) -> list[LicenseHit]:
    """Licenses named, and rights reserved, in the text of site notices (footer, bottom bar,
    sidebar, navigation bar); rights reserved at the end of the page text.

    Each sentence is read on its own, so a notice that names a license and also says "All rights
    reserved" yields both statements as evidence. A sentence about the site's software is a
    software statement, one about its images a media statement. In a notice whose link names a
    license exactly (``linked``), the words around the link that the vocabulary cannot read exactly
    ("in the public domain", "a Creative Commons license") restate the link and are not kept.
    """
    out = []
    budget = MAX_NOTICE_CHARS
    for notice in notices:
        if budget <= 0:
            break
        text = _text_of(notice, min(MAX_REGION_CHARS, budget))
        budget -= len(text) + 1
        for piece in _SENTENCE.split(text)[:_MAX_SENTENCES]:
            if len(piece) < 4:
                continue
            spdx = read_statement(piece)
            if spdx is not None and notice in linked and spdx != licenses.ALL_RIGHTS_RESERVED \
                    and restrictiveness(spdx) >= 100:
                continue  # "... in the public domain" around the link that names the mark exactly
            if spdx == licenses.ALL_RIGHTS_RESERVED:
                out.append(LicenseHit("copyright_notice", piece[:MAX_RAW_CHARS], spdx, "content"))
            elif spdx is not None:
                out.append(LicenseHit("footer_link", piece[:MAX_RAW_CHARS], spdx, _sentence_scope(piece, spdx)))
    end = _page_end(root)
    marked = _COPYRIGHT_MARK.search(end) is not None
    for piece in _SENTENCE.split(end):
        # the end of the text reserves rights beside a copyright line, or in a line of its own
        # ("Alle Rechte vorbehalten | Impressum"), not in prose ("Many authors keep all rights reserved")
        if len(piece) >= 4 and (marked or _reservation_leads(piece)) \
                and read_statement(piece) == licenses.ALL_RIGHTS_RESERVED:
            out.append(LicenseHit("copyright_notice", piece[:MAX_RAW_CHARS], licenses.ALL_RIGHTS_RESERVED,
                                  "content"))
    return out


def _reservation_leads(piece: str) -> bool:
    at = _reservation_key_at(piece)
    return at >= 0 and len(piece[:at].split()) <= 2


def _sentence_scope(piece: str, spdx: str) -> str:
    """What a sentence of a notice that names a license is about: images ("Some images under CC
    BY-SA"), the site software (a software license not said of the content), else the content."""
    if _is_software_license(spdx) and _about_software(piece):
        return "software"
    if _CONTENT_TEXT.search(piece) is None and _MEDIA_TEXT.search(piece):
        return "media"
    return "content"


def _about_software(sentence: str) -> bool:
    """A sentence naming a software license is about the software unless it names the content
    and not the software ("Content on this wiki is available under the GFDL")."""
    return _SOFTWARE_TEXT.search(sentence) is not None or _CONTENT_TEXT.search(sentence) is None


def _sentence_around(el) -> str:
    """The link's own text with the text just before it in its parent (about one sentence)."""
    parent = el.getparent()
    before = ""
    if parent is not None:
        prev = el.getprevious()
        before = (prev.tail if prev is not None else parent.text) or ""
    own = _text_of(el, 200)
    return f"{before[-160:]} {own} {(el.tail or '')[:80]}"


def _dedupe(hits: list[LicenseHit]) -> list[LicenseHit]:
    seen = set()
    out = []
    for h in hits:
        key = (h.source, h.raw_value, h.scope)
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out


# --------------------------------------------------------------------------------------------------
# The page's license
# --------------------------------------------------------------------------------------------------


def restrictiveness(spdx: str | None) -> int:
    """How much a license reserves, for choosing among conflicting content statements: a
    reservation or a license the vocabulary cannot class reserves most; then NonCommercial,
    NoDerivatives, ShareAlike/copyleft, attribution, and nothing (CC0, PDM)."""
    i = licenses.info(spdx)
    if i is None or i.family not in _OPEN_FAMILIES:
        return 100  # a reservation, or a statement the vocabulary could not read exactly
    return ((not i.commercial) * 8 + i.no_derivatives * 4 + i.share_alike * 2 + i.attribution * 1)


def _specificity(spdx: str | None) -> int:
    i = licenses.info(spdx)
    return 0 if i is None else int(i.version is not None)


def decide(findings: Iterable[LicenseFinding]) -> LicenseDecision:
    """The page's license from its findings: only content-scope statements that name a license
    count; the strongest source names it unless another content statement is more restrictive,
    which then wins (never a more open answer). The evidence names every conflicting license."""
    content = [f for f in findings if not f.in_body and getattr(f, "scope", "content") == "content"
               and f.license is not None]
    if not content:
        return LicenseDecision(None, None)
    strongest = licenses.choose(content)
    chosen = next(f for f in content if f.license == strongest.license)
    for f in content:
        if restrictiveness(f.license) > restrictiveness(chosen.license) or (
                restrictiveness(f.license) == restrictiveness(chosen.license)
                and _specificity(f.license) > _specificity(chosen.license)):
            chosen = f  # never more open; among equals, the exact reading ("CC-BY-SA-3.0" over "CC BY-SA")
    evidence = f"{chosen.source}: {(chosen.raw_value or '')[:_MAX_EVIDENCE_CHARS]}"
    others = []
    for f in content:
        if f.license != chosen.license and f.license not in others:
            others.append(f.license)
    if others:
        evidence += f" (more restrictive than {', '.join(o for o in others if o)}, also stated)"
    return LicenseDecision(chosen.license, evidence)


def header_licenses(link_values: Iterable[str], base_url: str) -> list[LicenseHit]:
    """License statements of a response's ``Link`` headers (``rel="license"``, RFC 8288): the page's
    own, like ``<link rel="license">``, unless an ``anchor`` points them at another resource."""
    from crawl.linkheader import parse_links

    hits = []
    for link in parse_links(link_values, base_url):
        if "license" not in link.rels:
            continue
        anchor = link.param("anchor")
        if anchor and urljoin(base_url, anchor) != base_url:
            continue  # about another resource (an image, a fragment), not this page
        raw = valid_text(f'Link: <{link.target}>; rel="license"'[:MAX_RAW_CHARS])
        hits.append(LicenseHit("link_rel_license", raw, _normalize(link.target), "content"))
    return hits
