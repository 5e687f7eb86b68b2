"""Download media over HTTP(S) through the guarded network layer, streamed to a temporary file.

Every request goes through :mod:`provenance.net`: the same user agent and the same RFC 9309
robots.txt decision as the crawler (token ``provenance-crawler``, checked for the media URL and
for every redirect target), the private-address guard on the address actually connected (also
for each redirect; ``--allow-private`` lifts it for test sites), one deadline for the whole
download, slow reads included, and the ``--max-bytes`` cap. The body is hashed while it streams,
so the audio's sha256 costs no second read. A download is refused before any body is read when
robots.txt disallows it, when the address is not public, when the Content-Length is over the cap,
or when the Content-Type says it is not audio or video (a web page, an image, a streaming
playlist). Every refusal is a :class:`FetchError` whose message is the reason recorded in
``fetches`` and ``transcriptions``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from provenance.ids import utcnow
from provenance.net import AddressPolicy, Client, NetError, Response, RobotsCache, TooLarge
from provenance.records import FetchOutcome

ACCEPT = "audio/*, video/*, */*;q=0.1"
# Content types taken as media. A missing Content-Type is accepted: the decoder decides.
MEDIA_PREFIXES = ("audio/", "video/")
MEDIA_TYPES = frozenset({
    "application/ogg", "application/mp4", "application/octet-stream", "binary/octet-stream",
    "application/x-flac", "application/flac", "application/x-matroska", "application/x-wav",
})
PLAYLIST_TYPES = frozenset({
    "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl",
    "application/dash+xml", "audio/x-scpls",
})


class FetchError(Exception):
    """A download refused or failed; ``str(exc)`` is the reason recorded."""

    def __init__(self, reason: str, *, status: int | None = None, content_type: str | None = None,
                 n_bytes: int | None = None, outcome: FetchOutcome = "error"):
        super().__init__(reason)
        self.status = status
        self.content_type = content_type
        self.n_bytes = n_bytes
        self.outcome = outcome  # fetches.outcome: 'error' or 'skipped' (robots.txt)


@dataclass(frozen=True, slots=True)
class Download:
    path: Path  # the temporary file: the caller deletes it
    sha256: str
    n_bytes: int
    status: int
    content_type: str | None
    final_url: str
    fetched_at: datetime


def media_type_problem(content_type: str | None) -> str | None:
    """Why a Content-Type is not media (None when it is, or when there is none)."""
    if not content_type:
        return None
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in PLAYLIST_TYPES:
        return f"a streaming playlist ({mime}), not a media file: HLS/DASH streams are not supported"
    if mime.startswith(MEDIA_PREFIXES) or mime in MEDIA_TYPES:
        return None
    return f"not audio or video: the server says Content-Type {content_type}"


def media_client(*, user_agent: str, timeout_s: float, max_bytes: int, allow_private: bool = False) -> Client:
    """The guarded client of media downloads (``allow_private``: the ``--allow-private`` switch)."""
    return Client(user_agent=user_agent, policy=AddressPolicy(allow_private=allow_private), timeout_s=timeout_s,
                  max_bytes=max_bytes)


class Fetcher:
    """Downloads of one run through ``client``: one robots.txt look-up per origin, kept for the run."""

    def __init__(self, temp_dir: Path, client: Client):
        self.temp_dir = temp_dir
        self.client = client
        self.max_bytes = client.max_bytes
        self.robots = RobotsCache(client)

    def download(self, url: str) -> Download:
        """Fetch ``url`` into a temporary file; raises :class:`FetchError` with the reason."""
        try:
            response = self.client.open(url, accept=ACCEPT, before=self.robots.require)
        except TooLarge as exc:
            raise FetchError(f"{exc} (--max-bytes)", status=exc.status, n_bytes=exc.n_bytes) from exc
        except NetError as exc:
            raise FetchError(str(exc), status=exc.status, n_bytes=exc.n_bytes, outcome=exc.outcome) from exc
        with response:
            status = response.status
            content_type = response.content_type
            if not 200 <= status < 300:
                raise FetchError(f"HTTP {status} {response.reason}".strip(), status=status, content_type=content_type)
            problem = media_type_problem(content_type)
            if problem:
                raise FetchError(problem, status=status, content_type=content_type)
            return self._stream(response, status, content_type)

    def _stream(self, response: Response, status: int, content_type: str | None) -> Download:
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="media-", suffix=".part", dir=self.temp_dir)
        path = Path(name)
        digest = hashlib.sha256()
        n = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in response.iter_bytes():
                    n += len(chunk)
                    digest.update(chunk)
                    out.write(chunk)
        except TooLarge as exc:
            path.unlink(missing_ok=True)
            raise FetchError(f"{exc} (--max-bytes)", status=status, content_type=content_type,
                             n_bytes=exc.n_bytes) from exc
        except NetError as exc:
            path.unlink(missing_ok=True)
            reason = str(exc) if n == 0 or "broke off" in str(exc) else f"download broke off after {n} bytes: {exc}"
            raise FetchError(reason, status=status, content_type=content_type, n_bytes=n) from exc
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Download(path=path, sha256=digest.hexdigest(), n_bytes=n, status=status,
                        content_type=content_type, final_url=response.url, fetched_at=utcnow())
