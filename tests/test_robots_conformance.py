"""RFC 9309 conformance of the one robots.txt matcher (provenance.robots), as data tables.

Each row is (id, robots.txt, agent, URL, allowed?, note). The cases are facts restated in our own
tables (nothing is copied from the sources):

- ``RFC9309``: RFC 9309, Robots Exclusion Protocol (Koster, Illyes, Zeller, September 2022): the
  examples of 2.2.1 to 2.2.4 and section 5. IETF Trust Legal Provisions (BCP 78).
- ``GOOGLE``: google/robotstxt ``robots_test.cc`` at 22b355f (Apache-2.0).
- ``PROTEGO``: scrapy/protego ``tests/test_protego.py`` and ``tests/test_on_google_spec.py`` at
  81f1b35 (BSD-3-Clause).

Where a reference implementation deviates from the standard, the row expects the standard's answer
and its note starts with ``deviation:`` naming what the reference answers and why we do not.
Rows tagged ``cause:`` are the misreadings found in issue 14, each with its own row.
"""

from __future__ import annotations

from datetime import datetime, UTC
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provenance.robots import RobotsTxt, decode_robots, normalize_path, url_match_path


class Case(NamedTuple):
    id: str
    robots: str
    agent: str
    url: str
    allowed: bool
    note: str = ""


E = "https://example.com"

# --- RFC 9309 ---------------------------------------------------------------------------------------
RFC_5_1 = ("User-Agent: *\nDisallow: *.gif$\nDisallow: /example/\nAllow: /publications/\n\n"
           "User-Agent: foobot\nDisallow:/\nAllow:/example/page.html\nAllow:/example/allowed.gif\n\n"
           "User-Agent: barbot\nUser-Agent: bazbot\nDisallow: /example/page.html\n\nUser-Agent: quxbot\n\nEOF\n")
RFC_5_2 = "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n"
MERGE = "user-agent: ExampleBot\ndisallow: /foo\ndisallow: /bar\n\nuser-agent: ExampleBot\ndisallow: /baz\n"

RFC9309 = [
    # 2.2.2, example table of path matching (percent-encoding normalisation, both directions)
    Case("2.2.2-row1", "User-agent: *\nDisallow: /foo/bar?baz=quz\n", "a", E + "/foo/bar?baz=quz", False),
    Case("2.2.2-row2", "User-agent: *\nDisallow: /foo/bar?baz=https%3A%2F%2Ffoo.bar\n", "a",
         E + "/foo/bar?baz=https://foo.bar", False,
         "deviation: Google compares octets as written and allows; the RFC's table matches the path "
         "as /foo/bar?baz=https%3A%2F%2Ffoo.bar"),
    Case("2.2.2-row2-reverse", "User-agent: *\nDisallow: /foo/bar?baz=https://foo.bar\n", "a",
         E + "/foo/bar?baz=https%3A%2F%2Ffoo.bar", False),
    Case("2.2.2-row3", "User-agent: *\nDisallow: /foo/bar/\u30c4\n", "a", E + "/foo/bar/%E3%83%84", False),
    Case("2.2.2-row4", "User-agent: *\nDisallow: /foo/bar/%E3%83%84\n", "a", E + "/foo/bar/\u30c4", False,
         "deviation: Google expects the caller to encode the URL and allows; the RFC encodes both"),
    Case("2.2.2-row5", "User-agent: *\nDisallow: /foo/bar/%62%61%7A\n", "a", E + "/foo/bar/baz", False,
         "deviation: Google allows (%62%61%7A is not 'baz' to it); the RFC's path to match is /foo/bar/baz"),
    Case("2.2.2-lowercase-hex", "User-agent: *\nDisallow: /foo/bar/%e3%83%84\n", "a", E + "/foo/bar/%E3%83%84", False),
    # 2.2.3 special characters
    Case("2.2.3-comment", "User-agent: *\nDisallow: /x # comment\n", "a", E + "/x", False),
    Case("2.2.3-comment-rest", "User-agent: *\nDisallow: /x # comment\n", "a", E + "/y", True),
    Case("2.2.3-dollar", "User-agent: *\nDisallow: /this/path/exactly$\n", "a", E + "/this/path/exactly", False),
    Case("2.2.3-dollar-longer", "User-agent: *\nDisallow: /this/path/exactly$\n", "a", E + "/this/path/exactly/x", True),
    Case("2.2.3-star", "User-agent: *\nDisallow: /this/*/exactly\n", "a", E + "/this/a/b/exactly", False),
    Case("2.2.3-pct-star", "User-agent: *\nDisallow: /path/file-with-a-%2A.html\n", "a",
         E + "/path/file-with-a-*.html", False, "cause: %2A must match a literal *"),
    Case("2.2.3-pct-star-not-wildcard", "User-agent: *\nDisallow: /path/file-with-a-%2A.html\n", "a",
         E + "/path/file-with-a-x.html", True),
    Case("2.2.3-pct-dollar", "User-agent: *\nDisallow: /path/foo-%24\n", "a", E + "/path/foo-$", False,
         "cause: %24 must match a literal $"),
    # 2.2.1 groups and user agents
    Case("2.2.1-merge-a", MERGE, "ExampleBot", E + "/baz", False),
    Case("2.2.1-merge-b", MERGE, "examplebot", E + "/foo", False),
    Case("2.2.1-merge-other", MERGE, "examplebot", E + "/qux", True),
    Case("2.2.1-star-fallback", "User-agent: *\nDisallow: /\nUser-agent: FooBot\nAllow: /\n", "OtherBot", E + "/x", False),
    Case("2.2.1-no-group", "User-agent: FooBot\nDisallow: /\n", "OtherBot", E + "/x", True),
    Case("2.2.1-rule-before-group", "Disallow: /\nUser-agent: *\nAllow: /a\n", "a", E + "/b", True),
    # 2.2.2 allow/disallow
    Case("2.2.2-robots-txt-allowed", "User-agent: *\nDisallow: /\n", "a", E + "/robots.txt", True),
    Case("2.2.2-empty-disallow", "User-agent: *\nDisallow:\n", "a", E + "/x", True),
    Case("2.2.2-case-sensitive", "User-agent: *\nDisallow: /X/\n", "a", E + "/x/y", True),
    Case("2.2.2-empty-query-rule", "User-agent: *\nDisallow: /works?\n", "a", E + "/works", True,
         "cause: an empty query is a query; /works? does not block /works"),
    Case("2.2.2-empty-query-url", "User-agent: *\nDisallow: /works?\n", "a", E + "/works?", False,
         "cause: the URL /works? keeps its empty query"),
    Case("2.2.2-root-query-rule", "User-agent: *\nDisallow: /?\n", "a", E + "/", True,
         "cause: Disallow: /? does not block /"),
    Case("2.2.2-root-query-url", "User-agent: *\nDisallow: /?\n", "a", E + "/?page=2", False),
    # 2.2.4 other records never end a group
    Case("2.2.4-crawl-delay", "User-agent: *\nCrawl-delay: 10\nUser-agent: CCBot\nDisallow: /\n", "CCBot", E + "/",
         False, "cause: a Crawl-delay line ended the group and left CCBot allowed"),
    Case("2.2.4-crawl-delay-star", "User-agent: *\nCrawl-delay: 10\nUser-agent: CCBot\nDisallow: /\n", "GPTBot",
         E + "/", False),
    Case("2.2.4-sitemap", "User-agent: GPTBot\nSitemap: https://example.com/s.xml\nUser-agent: CCBot\nDisallow: /\n",
         "GPTBot", E + "/", False),
    Case("2.2.4-content-usage", "User-agent: GPTBot\nContent-Usage: train-ai=n\nUser-agent: CCBot\nDisallow: /\n",
         "GPTBot", E + "/a", False),
    Case("2.2.4-content-signal", "User-agent: GPTBot\nContent-Signal: ai-train=no\nUser-agent: CCBot\nDisallow: /\n",
         "GPTBot", E + "/a", False),
    Case("2.2.4-unknown", "User-agent: GPTBot\nX-Whatever: 1\nUser-agent: CCBot\nDisallow: /\n", "GPTBot", E + "/a", False),
    # 2.1/2.2: whitespace is space and tab only; EOL is CR, LF or CRLF
    Case("2.2-nbsp-kept", "User-agent: *\nDisallow: /a\u00a0\n", "a", E + "/a", True,
         "cause: U+00A0 is not whitespace; the rule is /a%C2%A0"),
    Case("2.2-nbsp-kept-match", "User-agent: *\nDisallow: /a\u00a0\n", "a", E + "/a%C2%A0", False),
    Case("2.2-en-space-agent", "User-agent: GPTBot\u2002\nDisallow: /\n", "GPTBot", E + "/a", True,
         "cause: U+2002 is not whitespace; 'GPTBot\u2002' is another product token"),
    Case("2.2-tab", "User-agent:\tGPTBot\t\nDisallow:\t/a\t\n", "GPTBot", E + "/a", False),
    Case("2.2-cr-only", "User-agent: *\rDisallow: /a\r", "x", E + "/a", False),
    Case("2.2-crlf", "User-agent: *\r\nDisallow: /a\r\n", "x", E + "/a", False),
    Case("2.2-line-separator-not-eol", "User-agent: *\nAllow: /\u2028Disallow: /a\n", "x", E + "/a", True),
    # 5.1 simple example
    Case("5.1-foobot-page", RFC_5_1, "foobot", E + "/example/page.html", True),
    Case("5.1-foobot-gif", RFC_5_1, "foobot", E + "/example/allowed.gif", True),
    Case("5.1-foobot-other", RFC_5_1, "foobot", E + "/other", False),
    Case("5.1-barbot-page", RFC_5_1, "barbot", E + "/example/page.html", False),
    Case("5.1-bazbot-page", RFC_5_1, "bazbot", E + "/example/page.html", False),
    Case("5.1-barbot-other", RFC_5_1, "barbot", E + "/example/other.html", True),
    Case("5.1-quxbot-empty-group", RFC_5_1, "quxbot", E + "/example/page.html", True),
    Case("5.1-star-gif", RFC_5_1, "otherbot", E + "/a/b.gif", False),
    Case("5.1-star-example", RFC_5_1, "otherbot", E + "/example/x", False),
    Case("5.1-star-publications", RFC_5_1, "otherbot", E + "/publications/x", True),
    # 5.2 longest match
    Case("5.2-longest", RFC_5_2, "foobot", E + "/example/page/disallowed.gif", False),
    Case("5.2-allowed", RFC_5_2, "foobot", E + "/example/page/other", True),
]

# --- google/robotstxt robots_test.cc ---------------------------------------------------------------
G_GROUPS = ("allow: /foo/bar/\n\nuser-agent: FooBot\ndisallow: /\nallow: /x/\nuser-agent: BarBot\ndisallow: /\n"
            "allow: /y/\n\n\nallow: /w/\nuser-agent: BazBot\n\nuser-agent: FooBot\nallow: /z/\ndisallow: /\n")
G_FISH = "user-agent: FooBot\ndisallow: /\nallow: /fish\n"
G_PHP = "user-agent: FooBot\ndisallow: /\nallow: /*.php$\n"
F = "http://foo.bar"
GOOGLE = [
    Case("SystemTest-empty-file", "", "FooBot", F + "/", True),
    Case("SystemTest-empty-agent", "user-agent: FooBot\ndisallow: /\n", "", F + "/", True),
    Case("LineSyntax-correct", "user-agent: FooBot\ndisallow: /\n", "FooBot", F + "/x/y", False),
    Case("LineSyntax-incorrect", "foo: FooBot\nbar: /\n", "FooBot", F + "/x/y", True),
    Case("LineSyntax-missing-colon", "user-agent FooBot\ndisallow /\n", "FooBot", F + "/x/y", True,
         "deviation: GoogleOnly, Google assumes the missing colon and disallows; RFC 9309 2.1 "
         "records are 'key: value', so these lines are not records"),
    Case("Groups-x", G_GROUPS, "FooBot", F + "/x/b", True),
    Case("Groups-z", G_GROUPS, "FooBot", F + "/z/d", True),
    Case("Groups-y", G_GROUPS, "FooBot", F + "/y/c", False),
    Case("Groups-bar-y", G_GROUPS, "BarBot", F + "/y/c", True),
    Case("Groups-bar-w", G_GROUPS, "BarBot", F + "/w/a", True),
    Case("Groups-bar-z", G_GROUPS, "BarBot", F + "/z/d", False),
    Case("Groups-baz-z", G_GROUPS, "BazBot", F + "/z/d", True),
    Case("Groups-outside-foo", G_GROUPS, "FooBot", F + "/foo/bar/", False),
    Case("Groups-outside-baz", G_GROUPS, "BazBot", F + "/foo/bar/", False),
    Case("OtherRules-sitemap", "User-agent: BarBot\nSitemap: https://foo.bar/sitemap\nUser-agent: *\nDisallow: /\n",
         "BarBot", F + "/", False),
    Case("OtherRules-unknown", "User-agent: FooBot\nInvalid-Unknown-Line: unknown\nUser-agent: *\nDisallow: /\n",
         "FooBot", F + "/", False),
    Case("NamesCaseInsensitive", "uSeR-aGeNt: FooBot\nAlLoW: /x/\ndIsAlLoW: /\n", "FooBot", F + "/a/b", False),
    Case("NamesCaseInsensitive-allow", "USER-AGENT: FooBot\nALLOW: /x/\nDISALLOW: /\n", "FooBot", F + "/x/y", True),
    Case("AgentValueCaseInsensitive", "User-Agent: FOOBOT\nAllow: /x/\nDisallow: /\n", "foobot", F + "/a/b", False),
    Case("AcceptUserAgentUpToFirstSpace", "User-Agent: *\nDisallow: /\nUser-Agent: Foo Bar\nAllow: /x/\nDisallow: /\n",
         "Foo", F + "/x/y", False,
         "deviation: GoogleOnly, Google reads 'Foo Bar' as Foo and allows /x/y; RFC 9309 2.2.1 product "
         "tokens have no spaces, so the group names no valid token and Foo obeys '*'"),
    Case("GlobalGroups-global", "user-agent: *\nallow: /\nuser-agent: FooBot\ndisallow: /\n", "FooBot", F + "/x/y", False),
    Case("GlobalGroups-other", "user-agent: *\nallow: /\nuser-agent: FooBot\ndisallow: /\n", "BarBot", F + "/x/y", True),
    Case("GlobalGroups-only-specific", "user-agent: FooBot\nallow: /\nuser-agent: BarBot\ndisallow: /\n", "QuxBot",
         F + "/x/y", True),
    Case("LongestMatch-1", "user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/\n", "FooBot", F + "/x/page.html", False),
    Case("LongestMatch-2", "user-agent: FooBot\nallow: /x/page.html\ndisallow: /x/\n", "FooBot", F + "/x/", False),
    Case("LongestMatch-empty-tie", "user-agent: FooBot\ndisallow: \nallow: \n", "FooBot", F + "/x/page.html", True),
    Case("LongestMatch-tie", "user-agent: FooBot\ndisallow: /\nallow: /\n", "FooBot", F + "/x/page.html", True),
    Case("LongestMatch-x", "user-agent: FooBot\ndisallow: /x\nallow: /x/\n", "FooBot", F + "/x", False),
    Case("LongestMatch-x-slash", "user-agent: FooBot\ndisallow: /x\nallow: /x/\n", "FooBot", F + "/x/", True),
    Case("LongestMatch-star", "user-agent: FooBot\nallow: /page\ndisallow: /*.html\n", "FooBot", F + "/page.html", False),
    Case("LongestMatch-star-2", "user-agent: FooBot\nallow: /x/page.\ndisallow: /*.html\n", "FooBot", F + "/x/page.html", True),
    Case("LongestMatch-own-group", "User-agent: *\nDisallow: /x/\nUser-agent: FooBot\nDisallow: /y/\n", "FooBot",
         F + "/x/page", True),
    Case("Encoding-query-unencoded", "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar?qux=taz&baz=http://foo.bar?tar&par\n",
         "FooBot", F + "/foo/bar?qux=taz&baz=http://foo.bar?tar&par", True),
    Case("Encoding-3byte", "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/\u30c4\n", "FooBot", F + "/foo/bar/%E3%83%84", True),
    Case("Encoding-3byte-raw-url", "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/\u30c4\n", "FooBot",
         F + "/foo/bar/\u30c4", True,
         "deviation: Google leaves the URL to the caller and disallows; RFC 9309 2.2.2 percent-encodes "
         "both sides before comparing"),
    Case("Encoding-unreserved", "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n", "FooBot",
         F + "/foo/bar/baz", True,
         "deviation: Google disallows; RFC 9309 2.2.2's table matches %62%61%7A as baz"),
    Case("SpecialCharacters-star", "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n", "FooBot",
         F + "/foo/bar/quz", False),
    Case("SpecialCharacters-star-2", "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n", "FooBot",
         F + "/foo//quz", True),
    Case("SpecialCharacters-dollar", "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n", "FooBot",
         F + "/foo/bar", False),
    Case("SpecialCharacters-dollar-2", "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n", "FooBot",
         F + "/foo/bar/baz", True),
    Case("SpecialCharacters-comment", "User-agent: FooBot\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n", "FooBot",
         F + "/foo/quz", False),
    Case("SpecialCharacters-comment-2", "User-agent: FooBot\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n",
         "FooBot", F + "/foo/bar", True),
    Case("IndexHTMLisDirectory", "User-Agent: *\nAllow: /allowed-slash/index.html\nDisallow: /\n", "foobot",
         "http://foo.com/allowed-slash/", False,
         "deviation: GoogleOnly, Google reads index.html as its directory and allows; RFC 9309 has no such rule"),
    Case("IndexHTMLisDirectory-exact", "User-Agent: *\nAllow: /allowed-slash/index.html\nDisallow: /\n", "foobot",
         "http://foo.com/allowed-slash/index.html", True),
    Case("Doc-fish-bar", G_FISH, "FooBot", F + "/bar", False),
    Case("Doc-fish-salmon", G_FISH, "FooBot", F + "/fish/salmon.html", True),
    Case("Doc-fish-query", G_FISH, "FooBot", F + "/fish.html?id=anything", True),
    Case("Doc-fish-case", G_FISH, "FooBot", F + "/Fish.asp", False),
    Case("Doc-fish-catfish", G_FISH, "FooBot", F + "/catfish", False),
    Case("Doc-fish-query-only", G_FISH, "FooBot", F + "/?id=fish", False),
    Case("Doc-php-query", G_PHP, "FooBot", F + "/filename.php?parameters", False),
    Case("Doc-php-end", G_PHP, "FooBot", F + "/folder/filename.php", True),
    Case("Doc-php-5", G_PHP, "FooBot", F + "/filename.php5", False),
    Case("Doc-php-query-word", G_PHP, "FooBot", F + "/filename?php", False),
    Case("Doc-root-dollar", "user-agent: FooBot\nallow: /$\ndisallow: /\n", "FooBot", "http://example.com/", True),
    Case("Doc-root-dollar-page", "user-agent: FooBot\nallow: /$\ndisallow: /\n", "FooBot", "http://example.com/page.html",
         False),
    Case("LinesNumbers-mac", "User-Agent: foo\rAllow: /some/path\rUser-Agent: bar\r\r\rDisallow: /\r", "bar", F + "/x", False),
    Case("LinesNumbers-mixed", "User-Agent: foo\nAllow: /some/path\r\nUser-Agent: bar\n\r\n\nDisallow: /", "bar", F + "/x",
         False),
]

# --- scrapy/protego ----------------------------------------------------------------------------------
P_INVALID = ("User-agent: abc\nDisallow: /content/2/\nUser-agent: *\nInvalid_directive: /gb.html\n"
             "Invalid_directive: /content/2/\nUser-agent: ia_archiver\nDisallow: /\n")
P_HEDWIG = ("user-agent: hedwig-news\ndisallow: /\nallow: /group1\nuser-agent: *\ndisallow: /\nallow: /group2\n"
            "user-agent: hedwig\ndisallow: /\nallow: /group3\n")
S = "https://www.site.local"
PROTEGO = [
    Case("allowed", "User-agent: * \nDisallow: /disallowed \nAllow: /allowed \nCrawl-delay: 10", "*", S + "/allowed", True),
    Case("disallowed", "User-agent: * \nDisallow: /disallowed \nAllow: /allowed \nCrawl-delay: 10", "*",
         S + "/disallowed", False),
    Case("malformed-dissallow", "User-agent: * \nDissallow: /two \n", "*", S + "/two", False,
         "Misspelt Disallow is read as Disallow (RFC 9309 2.2.4 lets crawlers interpret other records)"),
    Case("malformed-diasllow", "User-agent: * \nDiasllow: /five \n", "*", S + "/five", False),
    Case("escaped-rule", "User-agent: * \nDisallow: / \nAllow: /a%3cd.html", "*", S + "/a<d.html", True),
    Case("escaped-rule-lower", "User-agent: * \nDisallow: / \nAllow: /a%3cd.html", "*", S + "/a%3cd.html", True),
    Case("unescaped-rule", "User-agent: * \nDisallow: / \nAllow: /a<d.html", "*", S + "/a%3cd.html", True),
    Case("unescaped-rule-star", "User-agent: * \nDisallow: / \nAllow: /a<*", "*", S + "/a%3Cd.html", True),
    Case("url-parts", "User-agent: * \nDisallow: /path;params?query \n", "*",
         "http://userinfo@exmaple.com:10/path;params?query#fragment", False),
    Case("url-parts-empty-query", "User-agent: * \nDisallow: /? \n", "*", "/", True),
    Case("url-parts-query", "User-agent: * \nDisallow: /? \n", "*", "/?query", False),
    Case("url-parts-params", "User-agent: * \nDisallow: /; \n", "*", "/;params", False),
    Case("empty-file", "", "chrome", "https://site.local/disallowed", True),
    Case("invalid-directive-agent", P_INVALID, "agent", "/foo", False,
         "deviation: protego lets an unknown line end the '*' group, so '*' has no rules and it allows; "
         "RFC 9309 2.2.4 and Google keep '*' and ia_archiver in one group with Disallow: /"),
    Case("invalid-directive-ia", P_INVALID, "ia_archiver", "/foo", False),
    Case("hedwig-news", P_HEDWIG, "hedwig-news", "/group1", True),
    Case("hedwig-star", P_HEDWIG, "hedwi", "/group2", True),
    Case("hedwig-news2", P_HEDWIG, "hedwig-news2", "/group2", True,
         "deviation: protego matches agent prefixes (hedwig-news2 obeys hedwig-news); RFC 9309 2.2.1 "
         "and Google's parser match the product token exactly, so '*' applies"),
    Case("hedwig-images", P_HEDWIG, "hedwig-images", "/group3", False,
         "deviation: protego gives hedwig-images the hedwig group; exact token match gives '*'"),
    Case("dual-dollar", "user-agent: FooBot\ndisallow: /x/abc$\n", "FooBot", "http://foo.bar/x/abc$", True,
         "deviation: protego also reads a final $ as a literal and disallows; RFC 9309 2.2.3 makes it the "
         "end anchor (a literal $ is written %24)"),
    Case("dual-star", "user-agent: FooBot\ndisallow: /x*x/abc\n", "FooBot", "http://foo.bar/x*x/abc", False),
    Case("absolute-url-rule", "user-agent: *\ndisallow: http://ms-web00.walkerplus.com/\n", "FooBot",
         "http://foo.bar/http://ms-web00.walkerplus.com/", True,
         "deviation: protego prefixes a '/' and disallows; RFC 9309 2.2.2 patterns are paths, and "
         "Google's parser matches none either"),
    Case("unicode-agent", "User-Agent: J\u00e4vla-Foobot\nDisallow: /\n", "j\u00e4vla-foobot", "/foo/bar.html", False),
    Case("unicode-agent-other", "User-Agent: J\u00e4vla-Foobot\nDisallow: /\n", "j\u00e4vla-fanbot", "/foo/bar.html", True),
    Case("path-phoenix-html", "User-Agent: *\ndisallow: /phoenix\n", "*", "/phoenix.php?id=anything", False),
    Case("path-phoenix-query", "User-Agent: *\ndisallow: /phoenix\n", "*", "/?id=phoenix", True),
    Case("path-php-query", "User-Agent: *\ndisallow: /*.php\n", "*", "/index?f=filename.php/", False),
    Case("path-php-word", "User-Agent: *\ndisallow: /*.php\n", "*", "/index?php", True),
    Case("record-precedence", "User-Agent: *\nallow: /folder \n disallow: /folder", "*",
         "http://example.com/folder/page", True),
]

ALL = [pytest.param(c, id=f"{suite}:{c.id}") for suite, cases in
       (("rfc9309", RFC9309), ("google", GOOGLE), ("protego", PROTEGO)) for c in cases]


@pytest.mark.parametrize("case", ALL)
def test_conformance_table(case: Case) -> None:
    decision = RobotsTxt.parse(case.robots).decide(case.agent, case.url)
    assert decision.allowed is case.allowed, (case.note, decision.evidence())


def test_the_tables_are_what_the_report_counts() -> None:
    # The closing note of issue 14 reports these sizes; a row dropped silently changes them.
    assert (len(RFC9309), len(GOOGLE), len(PROTEGO)) == (53, 58, 29)
    ids = [c.id for cases in (RFC9309, GOOGLE, PROTEGO) for c in cases]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("url, path", [
    # google/robotstxt TestGetPathParamsQuery (the rows with a scheme), plus the empty query
    ("http://www.example.com", "/"),
    ("http://www.example.com/", "/"),
    ("http://www.example.com/a/", "/a/"),
    ("http://www.example.com/a/b?c=http://d.e/", "/a/b?c=http%3A%2F%2Fd.e%2F"),  # RFC 9309 2.2.2 row 2
    ("http://www.example.com/a/b?c=d&e=f#fragment", "/a/b?c=d&e=f"),
    ("http://www.example.com/a;b#c", "/a;b"),
    ("http://www.example.com/works?", "/works?"),
    ("http://www.example.com/works?#top", "/works?"),
    ("http://www.example.com/caf\u00e9", "/caf%C3%A9"),
    ("http://www.example.com/%7euser", "/~user"),
    ("http://www.example.com/a*b$", "/a%2Ab%24"),
])
def test_match_path(url: str, path: str) -> None:
    assert url_match_path(url) == path


def test_normalisation_is_the_same_for_rules_and_urls() -> None:
    # google/robotstxt TestMaybeEscapePattern: non-ASCII encoded, hex upper-cased
    assert normalize_path("\u00e1", pattern=True) == "%C3%A1"
    assert normalize_path("%aa", pattern=True) == "%AA"
    assert normalize_path("/a/b/c", pattern=True) == "/a/b/c"


@pytest.mark.parametrize("body", [
    # google/robotstxt ID_UTF8ByteOrderMarkIsSkipped: a whole or cut-off BOM is skipped
    b"\xef\xbb\xbfUser-Agent: foo\nDisallow: /x\n",
    b"\xef\xbbUser-Agent: foo\nDisallow: /x\n",
    b"\xefUser-Agent: foo\nDisallow: /x\n",
])
def test_byte_order_mark_is_skipped(body: bytes) -> None:
    assert not RobotsTxt.parse(decode_robots(body)).decide("foo", "/x").allowed


def test_a_bom_in_the_middle_spoils_only_its_line() -> None:
    robots = RobotsTxt.parse(decode_robots(b"User-Agent: foo\n\xef\xbb\xbfDisallow: /x\n"))
    assert robots.decide("foo", "/x").allowed


def test_other_records_stay_with_their_group() -> None:
    # RFC 9309 2.2.4: a Crawl-delay or Content-Usage line belongs to the group it is in
    robots = RobotsTxt.parse("User-agent: *\nCrawl-delay: 10\nContent-Usage: train-ai=n\n"
                             "User-agent: CCBot\nDisallow: /private\n")
    assert robots.crawl_delay("CCBot") is not None and robots.crawl_delay("CCBot")[0] == 10.0
    assert [e.value for e in robots.extensions_for("CCBot", E + "/x")] == ["train-ai=n"]


def test_content_usage_path_then_tab() -> None:
    # AIPREF attach draft: a path, then whitespace (a tab included), then the preferences
    robots = RobotsTxt.parse("User-agent: *\nContent-Usage: /blog/\ttrain-ai=n\n")
    (ext,) = robots.extensions_for("*", E + "/blog/post")
    assert ext.value == "train-ai=n" and ext.path is not None
    assert robots.extensions_for("*", E + "/shop/") == ()


# --- one decision: the crawler's fetch decision and the consent verdict come from one matcher ------

_LINES = st.sampled_from([
    "User-agent: GPTBot", "User-agent: *", "User-agent: CCBot", "user-agent: gptbot", "Crawl-delay: 5",
    "Sitemap: https://example.com/s.xml", "Content-Usage: train-ai=n", "Disallow: /", "Disallow: /a",
    "Allow: /a/b", "Disallow: /*?", "Disallow: /a$", "Allow: /", "Disallow:", "Disallow: /a?", "# c", "",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES, max_size=12), st.sampled_from(["/", "/a", "/a?", "/a/b", "/a/b?x=1", "/b", "/a$"]),
       st.sampled_from(["GPTBot", "CCBot", "ClaudeBot"]))
def test_fetch_decision_and_consent_verdict_never_disagree(lines, path, agent):
    """"Disallowed for GPTBot" (the crawler asking for GPTBot) and "GPTBot opted_out" (the consent
    verdict with GPTBot the only training agent) are one answer."""
    from crawl.domainfiles import DomainPolicy, classify_fetch  # noqa: PLC0415 - crawl only in this test
    from provenance.consent import resolve_consent  # noqa: PLC0415
    body = "\n".join(lines).replace("Content-Usage: train-ai=n", "# no preference here").encode()
    when = datetime(2026, 12, 6, tzinfo=UTC)
    robots = classify_fetch(E, "robots.txt", E + "/robots.txt", when, status=200, body=body, content_type="text/plain")
    policy = DomainPolicy(E, [robots], (agent,))
    allowed, _ = policy.may_fetch(E + path, agent)
    verdict = resolve_consent(policy.signals_for(E + path, when), training_agents=frozenset({agent})).consent
    assert (verdict == "opted_out") == (not allowed)


# --- RFC 9309 2.3.1: access results -----------------------------------------------------------------

@pytest.mark.parametrize("status, error, state, may_fetch", [
    (200, None, "ok", False),  # the body below disallows everything
    (404, None, "missing", True),  # 2.3.1.3: unavailable (4xx) means no restriction
    (403, None, "missing", True),
    (410, None, "missing", True),
    (429, None, "unreadable", False),  # a 4xx, but "too many requests" says nothing of the rules: the
                                       # RFC's 2.3.1.3 only MAY allow, and Google reads 429 as unreachable
    (500, None, "unreadable", False),  # 2.3.1.4: unreachable (5xx) means complete disallow
    (503, None, "unreadable", False),
    (None, "TimeoutError: took too long", "unreadable", False),  # 2.3.1.4: network errors too
])
def test_access_results(status, error, state, may_fetch):
    from crawl.domainfiles import DomainPolicy, classify_fetch  # noqa: PLC0415 - crawl only in this test
    when = datetime(2026, 12, 6, tzinfo=UTC)
    f = classify_fetch(E, "robots.txt", E + "/robots.txt", when, status=status, error=error,
                       body=b"User-agent: *\nDisallow: /\n" if status else None, content_type="text/plain")
    assert f.state == state
    assert DomainPolicy(E, [f], ("GPTBot",)).may_fetch(E + "/page", "provenance-crawler")[0] is may_fetch
