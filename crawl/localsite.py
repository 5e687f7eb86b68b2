"""A static website on 127.0.0.1, for the demo, the tests and the benchmark.

``LocalSite(directory)`` serves the files of a directory from a background thread on a free port
(``with LocalSite(path) as site: site.url("/page.html")``). Files and directories whose name starts
with ``_`` are not served. A ``_headers`` file in the directory adds response headers per path,
in the style of static hosts (Netlify, Cloudflare Pages)::

    # comment
    /private/*
      X-Robots-Tag: noai
      Content-Usage: train-ai=n

A block starts with a path pattern (``*`` matches anything, ``/`` included); its indented
``Name: value`` lines apply to every matching path, blocks in file order. Three pseudo headers
change the response instead of being sent:

``X-Localsite-Status: 503``
    answer with this status (a body is still sent when the file exists; with a 3xx status, add
    a ``Location`` header);
``X-Localsite-Delay: 0.5``
    wait this many seconds before answering;
``X-Localsite-Body: text``
    send this text as the body (for paths that have no file).

``Content-Type`` given in ``_headers`` replaces the guessed one; a file served with
``Content-Encoding: gzip`` is sent as it is stored (already compressed).
"""

from __future__ import annotations

import fnmatch
import mimetypes
import posixpath
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HEADERS_FILE = "_headers"
PSEUDO_PREFIX = "x-localsite-"


@dataclass(frozen=True, slots=True)
class HeaderRule:
    """Headers added to the responses of the paths that match ``pattern``."""

    pattern: str
    headers: tuple[tuple[str, str], ...]

    def matches(self, path: str) -> bool:
        return fnmatch.fnmatchcase(path, self.pattern)


def parse_headers_file(text: str) -> tuple[HeaderRule, ...]:
    """Rules of a ``_headers`` file (see the module docstring); raises ValueError on a bad line."""
    rules: list[HeaderRule] = []
    pattern: str | None = None
    current: list[tuple[str, str]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if not raw[0].isspace():
            if pattern is not None:
                rules.append(HeaderRule(pattern, tuple(current)))
            pattern, current = raw.strip(), []
            continue
        name, sep, value = raw.strip().partition(":")
        if pattern is None or not sep or not name.strip():
            raise ValueError(f"{HEADERS_FILE} line {lineno}: expected an indented 'Name: value' "
                             f"line under a path pattern, got {raw!r}")
        current.append((name.strip(), value.strip()))
    if pattern is not None:
        rules.append(HeaderRule(pattern, tuple(current)))
    return tuple(rules)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up (a crawler giving up on a slow page) is not an error here."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def __init__(self, address: tuple[str, int], root: Path, rules: tuple[HeaderRule, ...],
                 backlog: int):
        self.request_queue_size = backlog  # read by server_activate() -> listen(backlog)
        self.root = root
        self.rules = rules
        self.log: list[tuple[float, str]] = []  # (monotonic time, path) per request; append is atomic
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "provenance-localsite"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet by default
        return

    def do_HEAD(self) -> None:  # noqa: N802 - http.server naming
        self._respond(send_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._respond(send_body=True)

    def _respond(self, *, send_body: bool) -> None:
        path = urlsplit(self.path).path or "/"
        self.server.log.append((time.monotonic(), path))
        extra = [h for rule in self.server.rules if rule.matches(path) for h in rule.headers]
        pseudo = {k.lower(): v for k, v in extra if k.lower().startswith(PSEUDO_PREFIX)}
        headers = [(k, v) for k, v in extra if not k.lower().startswith(PSEUDO_PREFIX)]
        if "x-localsite-delay" in pseudo:
            time.sleep(float(pseudo["x-localsite-delay"]))
        body, content_type = self._body(path)
        if "x-localsite-body" in pseudo:
            body, content_type = pseudo["x-localsite-body"].encode("utf-8"), "text/plain"
        status = int(pseudo.get("x-localsite-status", 200 if body is not None else 404))
        if body is None:
            body, content_type = b"not found\n", "text/plain"
        names = {k.lower() for k, _ in headers}
        self.send_response(status)
        if "content-type" not in names:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _body(self, url_path: str) -> tuple[bytes | None, str]:
        """The file a URL path names (directories serve index.html), or None."""
        parts = [p for p in posixpath.normpath(unquote(url_path)).split("/") if p and p != "."]
        if any(p.startswith("_") or p == ".." for p in parts):
            return None, ""
        target = self.server.root.joinpath(*parts)
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return None, ""
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return target.read_bytes(), content_type


class LocalSite:
    """Serve ``root`` on ``host`` (a free port unless ``port`` is given) in a background thread."""

    def __init__(self, root: str | Path, *, host: str = "127.0.0.1", port: int = 0, backlog: int = 256):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} is not a directory")
        headers_path = self.root / HEADERS_FILE
        rules = parse_headers_file(headers_path.read_text(encoding="utf-8")) if headers_path.exists() else ()
        self._server = _Server((host, port), self.root, rules, backlog)
        self._thread: threading.Thread | None = None

    @classmethod
    def preferring(cls, root: str | Path, port: int, **kwargs) -> LocalSite:
        """On ``port`` when it is free (stable URLs across runs: the same pages keep their doc ids),
        else on any free port."""
        try:
            return cls(root, port=port, **kwargs)
        except OSError:
            return cls(root, port=0, **kwargs)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def requested(self) -> list[str]:
        """Paths requested so far, in arrival order."""
        return [path for _, path in self._server.log]

    @property
    def request_log(self) -> list[tuple[float, str]]:
        """``(time.monotonic(), path)`` of every request so far."""
        return list(self._server.log)

    @property
    def base_url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> LocalSite:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name="localsite",
                                            kwargs={"poll_interval": 0.1}, daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:  # pragma: no cover - a convenience for trying the demo site by hand
    import argparse

    parser = argparse.ArgumentParser(description="Serve a directory on 127.0.0.1 (honours _headers).")
    parser.add_argument("directory")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with LocalSite(args.directory, port=args.port) as site:
        print(f"serving {site.root} at {site.base_url}/ (Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
