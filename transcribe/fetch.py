"""Download media over HTTP(S): robots.txt obeyed, size capped, streamed to a temporary file.

The body is hashed while it streams, so the audio's sha256 costs no second read. A download is
refused before any body is read when robots.txt disallows it for our user agent, when the
Content-Length is over the cap, or when the Content-Type says it is not audio or video (a web
page, an image, a streaming playlist). Every refusal is a :class:`FetchError` whose message is
the reason recorded in ``fetches`` and ``transcriptions``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from provenance.ids import utcnow

CHUNK = 1 << 16
ROBOTS_MAX_BYTES = 512 * 1024
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
                 n_bytes: int | None = None, outcome: str = "error"):
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


class Fetcher:
    """Downloads of one run: one robots.txt look-up per origin, kept for the run."""

    def __init__(self, temp_dir: Path, *, max_bytes: int, timeout_s: float, user_agent: str):
        self.temp_dir = temp_dir
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s
        self.user_agent = user_agent
        self._robots: dict[str, tuple[RobotFileParser, str | None]] = {}

    def _request(self, url: str) -> urllib.request.Request:
        headers = {"User-Agent": self.user_agent, "Accept": "audio/*, video/*, */*;q=0.1"}
        return urllib.request.Request(url, headers=headers)

    def _robots_for(self, url: str) -> tuple[RobotFileParser, str | None]:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            self._robots[origin] = self._read_robots(origin + "/robots.txt")
        return self._robots[origin]

    def _read_robots(self, robots_url: str) -> tuple[RobotFileParser, str | None]:
        """The parsed robots.txt and, when it could not be read, why (RFC 9309: disallow all)."""
        parser = RobotFileParser(robots_url)
        try:
            with urllib.request.urlopen(self._request(robots_url), timeout=self.timeout_s) as resp:
                body = resp.read(ROBOTS_MAX_BYTES)
        except urllib.error.HTTPError as exc:
            exc.close()
            if 400 <= exc.code < 500 and exc.code not in (401, 403):
                parser.allow_all = True  # no robots.txt: everything is allowed
                return parser, None
            parser.disallow_all = True
            return parser, f"{robots_url} answered HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            parser.disallow_all = True
            return parser, f"{robots_url} could not be read ({_reason(exc)})"
        parser.parse(body.decode("utf-8", "replace").splitlines())
        return parser, None

    def download(self, url: str) -> Download:
        """Fetch ``url`` into a temporary file; raises :class:`FetchError` with the reason."""
        robots, unreadable = self._robots_for(url)
        agent = self.user_agent.split("/", 1)[0]
        if not robots.can_fetch(agent, url):
            why = (f"robots.txt unreadable, so nothing may be fetched (RFC 9309): {unreadable}" if unreadable
                   else f"robots.txt disallows it for user agent {agent!r}")
            raise FetchError(why, outcome="skipped")
        try:
            resp = urllib.request.urlopen(self._request(url), timeout=self.timeout_s)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise FetchError(f"HTTP {exc.code} {exc.reason}", status=exc.code) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise FetchError(f"download failed: {_reason(exc)}") from exc
        with resp:
            status = resp.status
            content_type = resp.headers.get("Content-Type")
            problem = media_type_problem(content_type)
            if problem:
                raise FetchError(problem, status=status, content_type=content_type)
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > self.max_bytes:
                raise FetchError(f"larger than the limit: {int(length)} bytes announced, --max-bytes is "
                                 f"{self.max_bytes}", status=status, content_type=content_type,
                                 n_bytes=int(length))
            return self._stream(resp, url, status, content_type)

    def _stream(self, resp, url: str, status: int, content_type: str | None) -> Download:  # type: ignore[no-untyped-def]
        self.temp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="media-", suffix=".part", dir=self.temp_dir)
        path = Path(name)
        digest = hashlib.sha256()
        n = 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := resp.read(CHUNK):
                    n += len(chunk)
                    if n > self.max_bytes:
                        raise FetchError(f"larger than the limit: more than {self.max_bytes} bytes "
                                         f"(--max-bytes)", status=status, content_type=content_type, n_bytes=n)
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, urllib.error.URLError) as exc:
            path.unlink(missing_ok=True)
            raise FetchError(f"download broke off after {n} bytes: {_reason(exc)}", status=status,
                             content_type=content_type, n_bytes=n) from exc
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Download(path=path, sha256=digest.hexdigest(), n_bytes=n, status=status,
                        content_type=content_type, final_url=resp.geturl() or url, fetched_at=utcnow())


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return " ".join(str(reason).split())[:300] or type(exc).__name__
