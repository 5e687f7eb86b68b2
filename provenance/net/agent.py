"""Who we are on the network: one robots.txt product token and one User-Agent for every stage.

The crawler (Scrapy), its per-origin files (robots.txt, ai.txt, tdmrep.json) and transcribe's
media downloads all send :func:`user_agent` and obey robots.txt for :data:`ROBOTS_TOKEN`, so a
site owner who writes ``User-agent: provenance-crawler`` rules every request this tool makes.
"""

from __future__ import annotations

from provenance.version import version

ROBOTS_TOKEN = "provenance-crawler"


def user_agent(contact: str | None = None, *, token: str = ROBOTS_TOKEN) -> str:
    """The User-Agent header of every request: the robots.txt token, the version, a contact."""
    reach = f"; +{contact}" if contact else ""
    return f"{token}/{version()} (AI training corpus builder 'provenance'; obeys robots.txt for {token}{reach})"
