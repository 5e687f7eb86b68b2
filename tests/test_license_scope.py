"""Scope of license statements: each misread cause of issue 13 gets its own case.

The pages are generated here; each reproduces the markup pattern of real pages that were misread
(the real pages themselves are measured in test_license_pages.py).
"""

from __future__ import annotations

from datetime import datetime, UTC

import duckdb
import pytest
from lxml import html

from crawl.analysis import PageJob, analyze, license_statements
from crawl.licensing import SCOPES, UNSPECIFIED_CC, decide, find_licenses, unarchive
from crawl.page import AgentLists, FetchedPage, build_document
from provenance import licenses
from provenance.ledger import Ledger
from provenance.records import LicenseFinding
from provenance.store import DocumentStore

T = datetime(2026, 12, 6, tzinfo=UTC)
URL = "https://site.test/2026/12/post"
ARR = licenses.ALL_RIGHTS_RESERVED


def page(body: str, head: str = "") -> str:
    return (f"<!doctype html><html><head><title>t</title>{head}</head><body>"
            f"<header class='site-header'><a href='/'>Site</a></header>{body}</body></html>")


def article(inner: str = "<p>Some text of the article.</p>") -> str:
    return f"<main id='main'><article class='post'><div class='entry-content'>{inner}</div></article></main>"


def hits_of(markup: str):
    return find_licenses(html.document_fromstring(markup), URL)


def license_of(markup: str) -> str | None:
    findings = [LicenseFinding(url=URL, source=h.source, raw_value=h.raw_value, license=h.license,
                               observed_at=T, in_body=h.in_body, scope=h.scope) for h in hits_of(markup)]
    return decide(findings).license


def scopes(markup: str) -> set[tuple[str, str | None]]:
    return {(h.scope, h.license) for h in hits_of(markup)}


CC_BY_NC_SA = "https://creativecommons.org/licenses/by-nc-sa/4.0/"
CC_BY_SA = "https://creativecommons.org/licenses/by-sa/4.0/"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"


def test_cc_badge_on_a_teaser_image_credit_in_a_copyright_element_is_media():
    teaser = (f"<div class='teaser'><a href='/other'><img src='/img/a.jpg' alt=''></a>"
              f"<span class='copyright'>Foto: Jane Doe, <a href='{CC_BY}'>"
              f"<img src='https://licensebuttons.net/l/by/4.0/88x31.png' alt='CC BY'></a></span></div>")
    markup = page(article() + teaser + "<footer><p>&copy; 2024 Site</p></footer>")
    assert ("media", "CC-BY-4.0") in scopes(markup)
    assert license_of(markup) is None


def test_a_copyright_block_at_the_bottom_of_the_page_is_a_notice_not_a_credit():
    markup = page(article("<p>Text</p><figure><img src='/a.jpg'><figcaption>x</figcaption></figure>")
                  + f"<div class='copyright'>Text: <a href='{CC_BY_SA}'>CC BY-SA 4.0</a></div>")
    assert license_of(markup) == "CC-BY-SA-4.0"


def test_gpl_link_in_a_footer_menu_is_the_software_license():
    footer = ("<footer class='site-footer'><ul class='menu'><li><a href='/impressum'>Impressum</a></li>"
              "<li><a href='https://www.gnu.org/licenses/gpl-3.0.html'>GPL</a></li></ul>"
              "<p>Powered by WordPress. Theme licensed under the GPL v2 or later.</p></footer>")
    markup = page(article() + footer)
    found = scopes(markup)
    assert ("software", "GPL-3.0-only") in found
    assert all(scope != "content" for scope, _ in found)
    assert license_of(markup) is None


def test_a_software_license_said_of_the_content_is_the_content_license():
    footer = "<footer><p>All content on this site is available under the MIT License.</p></footer>"
    assert license_of(page(article() + footer)) == "MIT"


def test_rel_license_on_an_image_caption_does_not_outrank_the_footer_notice():
    caption = ("<figure class='wp-caption'><img src='/p.jpg'><figcaption class='wp-caption-text'>"
               "Photo: X, <a rel='license' href='https://creativecommons.org/licenses/by-sa/2.0/'>CC BY-SA 2.0</a>"
               "</figcaption></figure>")
    footer = (f"<footer id='colophon'><p class='footer__licence'>Unsere Inhalte stehen unter der Lizenz "
              f"<a href='{CC_BY_NC_SA}'>Creative Commons BY-NC-SA 4.0</a>.</p></footer>")
    markup = page(article("<p>Text</p>" + caption) + footer)
    assert ("media", "CC-BY-SA-2.0") in scopes(markup)
    assert license_of(markup) == "CC-BY-NC-SA-4.0"


def test_a_reservation_in_a_navigation_bar():
    nav = ("<nav class='mega-menu'><ul><li><a href='/a'>Politik</a></li></ul>"
           "<p class='menu-copyright'>&copy; Zeitung GmbH 2001-2020<br>Alle Rechte vorbehalten.</p></nav>")
    assert license_of(page(nav + article())) == ARR


def test_meta_rights():
    assert license_of(page(article(), head=f"<meta name='rights' content='{CC_BY}'>")) == "CC-BY-4.0"
    assert license_of(page(article(), head="<meta name='dc.rights' content='(c) 2020 X. All Rights Reserved.'>")) == ARR


@pytest.mark.parametrize("bar", ["fuss", "seitenfuss", "rodape", "pie", "pie-de-pagina", "footer-bottom",
                                 "dibu", "bottombar"])
def test_bottom_bars_whose_class_names_are_not_english(bar):
    markup = page(article() + f"<div class='{bar}'><p>Texte und Bilder: <a href='{CC_BY_SA}'>CC BY-SA 4.0</a></p></div>")
    assert license_of(markup) == "CC-BY-SA-4.0"


def test_a_site_license_widget_in_the_sidebar():
    widget = (f"<aside id='text-4' class='widget widget_text'><h3>Lizenz</h3><div class='textwidget'>"
              f"Alle Artikel dieses Blogs stehen unter der Lizenz <a href='{CC_BY_SA}'>CC BY-SA 4.0</a>"
              f"</div></aside>")
    assert license_of(page(article() + widget)) == "CC-BY-SA-4.0"


def test_cc_links_rewritten_by_web_archives():
    archived = "https://web.archive.org/web/20160218174457/http://creativecommons.org/licenses/by-nc-sa/3.0/de/"
    assert unarchive(archived) == "http://creativecommons.org/licenses/by-nc-sa/3.0/de/"
    assert unarchive("/web/2016/x") == "/web/2016/x"
    markup = page(article() + f"<div id='footer'><a rel='license' href='{archived}'>Lizenz</a></div>")
    assert license_of(markup) == licenses.normalize("http://creativecommons.org/licenses/by-nc-sa/3.0/de/")
    relative = "/web/20080731095558/http://creativecommons.org/licenses/by-nc-sa/2.0/de/"
    markup = page(article() + f"<div id='credits'><a href='{relative}'>Creative Commons-Lizenz</a></div>")
    found = find_licenses(html.document_fromstring(markup), "https://web.archive.org/web/20080731095558/http://blog.test/")
    assert [h.license for h in found if h.scope == "content"][0] == licenses.normalize(
        "http://creativecommons.org/licenses/by-nc-sa/2.0/de/")


@pytest.mark.parametrize("notice", [
    "© 2019 Jornal S.A. Todos os direitos reservados.",
    "中国日报版权所有",
    "Copyright © 2016 Foo. All rights reserved.",
    "Reproduction of material from any Foo pages without written permission is strictly prohibited.",
    "本网站に掲載している写真・記事の無断使用を禁じます。",
])
def test_reservations_in_other_words_and_languages(notice):
    markup = page(article() + f"<div class='footer'><p>{notice}</p></div>")
    assert license_of(markup) == ARR


def test_conflicting_content_statements_the_more_restrictive_wins_and_both_are_kept():
    markup = page(article(), head=f"<link rel='license' href='{CC_BY}'>") .replace(
        "</body>", "<footer><p>&copy; 2020 Foo. All rights reserved.</p></footer></body>")
    findings = [LicenseFinding(url=URL, source=h.source, raw_value=h.raw_value, license=h.license,
                               observed_at=T, in_body=h.in_body, scope=h.scope) for h in hits_of(markup)]
    decision = decide(findings)
    assert decision.license == ARR
    assert "CC-BY-4.0" in decision.evidence
    assert {f.license for f in findings if f.scope == "content"} >= {"CC-BY-4.0", ARR}
    nc = page(article(), head=f"<link rel='license' href='{CC_BY_SA}'>").replace(
        "</body>", f"<footer><a href='{CC_BY_NC_SA}'>CC BY-NC-SA</a></footer></body>")
    assert license_of(nc) == "CC-BY-NC-SA-4.0"  # the head's BY-SA does not drop the footer's NC


def test_an_article_about_licenses_tags_and_comments_are_the_subject():
    body = article(f"<p>The <a href='{CC_BY}'>CC BY</a> license lets anyone reuse a work.</p>"
                   "<ul class='tags'><li><a rel='tag' href='/tag/creative-commons/'>Creative Commons</a></li></ul>")
    comments = (f"<ol class='comment-list'><li class='comment'><p>See <a href='{CC_BY_NC_SA}'>this</a>"
                f"</p></li></ol>")
    markup = page(body + comments)
    assert {s for s, _ in scopes(markup)} == {"subject"}
    assert license_of(markup) is None


def test_the_articles_own_license_field_is_the_content_license():
    body = article("<p>Text.</p><div class='license'>This article is licensed under "
                   f"<a href='{CC_BY_SA}'>CC BY-SA 4.0</a>.</div>")
    assert license_of(page(body)) == "CC-BY-SA-4.0"
    declared = article(f"<p>Text.</p><p>This post is published under <a href='{CC_BY}'>CC BY 4.0</a>.</p>")
    assert license_of(page(declared)) == "CC-BY-4.0"


def test_json_ld_of_an_image_or_of_software_is_not_the_page_license():
    image = ('<script type="application/ld+json">{"@type": "ImageObject", "license": "'
             + CC_BY + '"}</script>')
    app = ('<script type="application/ld+json">{"@type": "SoftwareApplication", "license": '
           '"https://opensource.org/licenses/MIT"}</script>')
    main = ('<script type="application/ld+json">{"@type": "NewsArticle", "license": "' + CC_BY_SA + '"}</script>')
    assert scopes(page(article(), head=image)) == {("media", "CC-BY-4.0")}
    assert scopes(page(article(), head=app)) == {("software", "MIT")}
    assert license_of(page(article(), head=image + app + main)) == "CC-BY-SA-4.0"


def test_creative_commons_named_without_the_license_is_never_open():
    footer = ("<nav class='row'><p class='license'>Portions of this content are ©1998–2019 by individual "
              "contributors. Content available under a <a href='/licensing'>Creative Commons license</a>.</p></nav>")
    answer = license_of(page(article() + footer))
    assert answer == UNSPECIFIED_CC and not licenses.is_open(answer)
    # beside a link that says which license, the same statement adds nothing
    exact = ("<footer><p>Content available under a Creative Commons license: "
             f"<a rel='license' href='{CC_BY}'>CC BY 4.0</a>.</p></footer>")
    assert license_of(page(article() + exact)) == "CC-BY-4.0"


def test_layout_wrappers_are_not_sidebars():
    markup = page("<div class='article-with-rail'>" + article()
                  + "<div class='license-description'>Community content is available under "
                  "<a href='/licensing'>CC-BY-SA</a> unless otherwise noted.</div></div>")
    sentence = "Community content is available under CC-BY-SA unless otherwise noted."
    assert license_of(markup) == licenses.normalize(sentence) is not None


def test_every_scope_is_one_of_the_four():
    markup = page(article(f"<figure><img src='/a.jpg'><figcaption><a href='{CC_BY}'>CC BY</a></figcaption></figure>"),
                  head=f"<link rel='license' href='{CC_BY_SA}'>")
    assert {h.scope for h in hits_of(markup)} <= set(SCOPES)


def test_crawler_and_importer_share_one_path_and_the_ledger_keeps_the_scope(workspace):
    """analyze() (crawler and WARC importer) and license_statements() read the same statements, and
    build_document() records every one with its scope while only content decides."""
    caption = (f"<figure><img src='/p.jpg'><figcaption>Photo <a rel='license' href='{CC_BY}'>CC BY</a>"
               f"</figcaption></figure>")
    markup = page(article("<p>" + "Words of the article. " * 40 + "</p>" + caption)
                  + f"<footer><p>Inhalte: <a href='{CC_BY_NC_SA}'>CC BY-NC-SA 4.0</a></p></footer>")
    job = PageJob(URL, markup.encode(), "text/html")
    analysis = analyze(job)
    assert analysis.licenses == license_statements(job)
    fetched = FetchedPage(URL, 200, T, {}, "text/html", len(markup))
    pending = build_document(fetched, analysis, None, AgentLists(frozenset(), frozenset()))
    assert pending.doc.license == "CC-BY-NC-SA-4.0"
    assert {(f.scope, f.license, f.in_body) for f in pending.licenses} >= {
        ("media", "CC-BY-4.0", True), ("content", "CC-BY-NC-SA-4.0", False)}
    ledger = Ledger(workspace)
    with ledger.writer() as w:
        run = w.start_run("test")
        DocumentStore(w, run.run_id, "web").write_batch([pending])
        w.finish_run(run, {"documents": 1})
    con = duckdb.connect(str(workspace.ledger_path), read_only=True)
    con.execute("SET file_search_path = ?", [str(workspace.root)])
    stored = set(con.execute("SELECT scope, license, in_body FROM license_findings").fetchall())
    assert {("media", "CC-BY-4.0", True), ("content", "CC-BY-NC-SA-4.0", False)} <= stored
    assert con.execute("SELECT license FROM documents").fetchall() == [("CC-BY-NC-SA-4.0",)]


def test_words_around_an_exact_license_link_do_not_outrank_it():
    footer = ("<footer><p>This page and its recording are in the <a rel='license' "
              "href='https://creativecommons.org/publicdomain/mark/1.0/'>public domain</a>.</p></footer>")
    assert license_of(page(article() + footer)) == "CC-PDM-1.0"
    # an explicit reservation beside the link is a statement of its own, and the stricter one
    both = (f"<footer><p>Texte: <a href='{CC_BY}'>CC BY 4.0</a>. Fotos: &copy; 2024 Foo. "
            f"All rights reserved.</p></footer>")
    assert license_of(page(article() + both)) == ARR
