"""WARC import benchmark: `provenance import --workers P` against a bare loop of WARC iteration plus
`trafilatura.extract` over the same files with the same number of processes, in one run.

Generated input (our own invented text): ``--files`` page WARCs of ``--pages`` HTML pages each
(about 400 words, some with license and consent markup, a few PDFs and redirects among them)
and a robotstxt WARC, gzip per record, written with warcio into a temporary folder.

* baseline: ``P`` processes (multiprocessing, spawned), each iterating whole files with warcio
  and running ``trafilatura.extract`` on every HTML response (what a bare Common Crawl loop does);
* readers only: the import's reader step (``crawl.importers.warc.read_warc``: both passes,
  the full page analysis) in ``P`` processes the same way, without the ledger;
* provenance: ``provenance import --workers P`` on the same files into a fresh workspace (signals,
  licenses, robots.txt captures applied at fetch time, ledger writes), as a process.

Both are timed wall clock including their start (imports, process spawns). While the import runs,
a reader process queries the ledger (``Ledger.query``, the path of ``provenance sql``) in a loop
and reports the longest any query waited. Also timed: WARC iteration alone (every record, HTTP
headers parsed, payload read) with warcio and with fastwarc when it is installed.

Prints pages/s of each and the ratio import / baseline (aim: >= 0.8), by wall clock and by CPU
time (user + system of all the processes of each: steadier on a shared machine); writes
bench/results/import_bench.json.

    python bench/import_bench.py [--files 4] [--pages 750] [--workers 2] [--reference DIR] [--html DIR]
                                 [--out JSON]

``--reference DIR`` also times warcio and fastwarc iteration over the *.warc.gz files of DIR
(read in place, never copied).

``--html DIR`` takes the pages' bodies from the real HTML files under DIR (``*.html`` or
``*.html.gz``, any depth, read in place; the WARCs are written to the temporary folder and
removed), cycled over the records, instead of the generated pages: ``trafilatura.extract``
takes about 16 ms a real page here against about 1 ms a generated one, so the import's own work
weighs less beside it.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.crawl_bench import WORDS  # noqa: E402 - the crawl bench's vocabulary (after the path is set)

HOSTS = [f"http://site{n}.example" for n in range(40)]


def _html(rng: random.Random, n: int) -> bytes:
    paras = "".join(f"<p>{' '.join(rng.choice(WORDS) for _ in range(80)).capitalize()}.</p>" for _ in range(5))
    extra = ""
    if n % 5 == 0:
        extra += '<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>'
    head = '<meta name="robots" content="noai">' if n % 7 == 0 else ""
    return (f"<!doctype html><html lang=en><head><title>Page {n}</title>{head}</head><body>"
            f"<nav><a href='/'>home</a></nav><article><h1>Page {n}</h1>{paras}{extra}</article>"
            f"<footer>footer text</footer></body></html>").encode()


def real_pages(folder: Path) -> list[bytes]:
    """The bodies of the HTML files under ``folder`` (gzip ones decompressed), in name order."""
    import gzip

    files = sorted(p for p in folder.rglob("*") if p.name.endswith((".html", ".html.gz", ".htm")))
    bodies = [gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes() for p in files]
    if not bodies:
        raise SystemExit(f"no *.html or *.html.gz files under {folder}")
    return bodies


def generate(folder: Path, n_files: int, n_pages: int, bodies: list[bytes] | None = None) -> list[Path]:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    rng = random.Random(16)
    files = []

    def record(writer: WARCWriter, url: str, when: str, status: str, ctype: str, body: bytes,
               extra: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        http = StatusAndHeaders(status, [("Content-Type", ctype), *extra], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                      warc_headers_dict={"WARC-Date": when}))

    for f in range(n_files):
        path = folder / f"CC-MAIN-bench-{f:05d}.warc.gz"
        with open(path, "wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            writer.write_record(writer.create_warcinfo_record(path.name, {"software": "bench/import_bench.py"}))
            for n in range(n_pages):
                url = f"{rng.choice(HOSTS)}/f{f}/page-{n}.html"
                when = f"2026-03-{10 + f:02d}T{n % 24:02d}:00:00Z"
                if n % 50 == 49:
                    record(writer, url.replace(".html", ".pdf"), when, "200 OK", "application/pdf", b"%PDF-1.4 ...")
                elif n % 50 == 48:
                    record(writer, url, when, "301 Moved", "text/html", b"", [("Location", url + "?x")])
                else:
                    body = bodies[(f * n_pages + n) % len(bodies)] if bodies else _html(rng, n)
                    # a real page's own charset is in its markup (or unknown): the header names none
                    ctype = "text/html" if bodies else "text/html; charset=utf-8"
                    record(writer, url, when, "200 OK", ctype, body)
        files.append(path)
    robots = folder / "CC-MAIN-bench-robotstxt-00000.warc.gz"
    with open(robots, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for i, host in enumerate(HOSTS):
            body = b"User-agent: GPTBot\nDisallow: /\n" if i % 3 == 0 else b"User-agent: *\nDisallow:\n"
            record(writer, f"{host}/robots.txt", "2026-03-01T00:00:00Z", "200 OK", "text/plain", body)
    files.append(robots)
    return files


# --- baseline: a bare loop --------------------------------------------------------------------

def _bare_file(path: str) -> int:
    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    extracted = 0
    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type != "response" or rec.http_headers is None:
                continue
            ctype = rec.http_headers.get_header("Content-Type") or ""
            if "html" not in ctype:
                continue
            html = rec.content_stream().read()
            if trafilatura.extract(html):
                extracted += 1
    return extracted


def _read_file(path: str) -> int:
    from crawl.importers.warc import read_warc

    return sum(len(chunk.pages) for chunk in read_warc(Path(path)))


def _warm() -> None:
    import trafilatura  # noqa: F401
    import warcio  # noqa: F401


def _children_cpu() -> float:
    """CPU seconds (user + system) of the child processes waited for so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def baseline(files: list[Path], workers: int, task=_bare_file) -> tuple[float, int, float]:  # noqa: ANN001
    """(wall seconds, pages, CPU seconds of the worker processes)."""
    start, cpu = time.perf_counter(), _children_cpu()
    ctx = multiprocessing.get_context("spawn")
    pool = ctx.Pool(workers, initializer=_warm)
    pages = sum(pool.map(task, [str(f) for f in files], chunksize=1))
    pool.close()
    pool.join()  # waited for: their CPU time is counted
    return time.perf_counter() - start, pages, _children_cpu() - cpu


# --- provenance import, with a reader watching ---------------------------------------------------

READER = """
import sys, time, json
from provenance.ledger import Ledger
from provenance.errors import ProvenanceError
ws, stop = sys.argv[1], sys.argv[2]
import os
waits = []
while not os.path.exists(stop):
    t = time.perf_counter()
    try:
        Ledger(ws).query("SELECT count(*) AS n FROM documents")
        waits.append(time.perf_counter() - t)
    except ProvenanceError:
        pass  # no ledger yet
    time.sleep(0.05)
print(json.dumps({"queries": len(waits), "max_wait_s": max(waits, default=0.0),
                  "mean_wait_s": sum(waits) / len(waits) if waits else 0.0}))
"""


def provenance_import(files: list[Path], workers: int, ws: Path) -> tuple[float, int, dict, float]:
    exe = Path(sys.executable).parent / "provenance"
    stop = ws.parent / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(ws), str(stop)], stdout=subprocess.PIPE, text=True)
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run([str(exe), "-w", str(ws), "import", "--workers", str(workers), *map(str, files)],
                          capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu  # the import and its readers
    stop.touch()
    out, _ = reader.communicate(timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"import failed: {proc.stderr}")
    from provenance.ledger import Ledger

    docs = Ledger(ws).query("SELECT count(*) AS n FROM fetches WHERE outcome = 'document'").column("n")[0].as_py()
    return elapsed, docs, json.loads(out), cpu


# --- iteration alone ----------------------------------------------------------------------------

def iterate_warcio(files: list[Path]) -> tuple[float, int]:
    from warcio.archiveiterator import ArchiveIterator

    start, n = time.perf_counter(), 0
    for f in files:
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh, check_digests=True):
                if rec.rec_type == "response" and rec.http_headers is not None:
                    rec.content_stream().read()
                n += 1
    return time.perf_counter() - start, n


def iterate_fastwarc(files: list[Path]) -> tuple[float, int] | None:
    try:
        from fastwarc.warc import ArchiveIterator
    except ImportError:
        return None
    start, n = time.perf_counter(), 0
    for f in files:
        with open(f, "rb") as fh:
            for rec in ArchiveIterator(fh, parse_http=True, verify_digests=True):
                rec.reader.read()
                n += 1
    return time.perf_counter() - start, n


def iteration(files: list[Path]) -> dict:
    best: dict[str, tuple[float, int]] = {}
    for _ in range(3):
        for name, fn in (("warcio", iterate_warcio), ("fastwarc", iterate_fastwarc)):
            got = fn(files)
            if got is not None and (name not in best or got[0] < best[name][0]):
                best[name] = got
    out = {name: {"seconds": round(t, 4), "records": n, "records_per_s": round(n / t, 1)} for name, (t, n) in best.items()}
    if "fastwarc" in best:
        out["fastwarc_speedup"] = round(best["warcio"][0] / best["fastwarc"][0], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--pages", type=int, default=750)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reference", type=Path, default=None, help="also time iteration over DIR/*.warc.gz")
    parser.add_argument("--html", type=Path, default=None, help="real HTML pages (DIR/**/*.html[.gz]) as the bodies")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "import_bench.json")
    args = parser.parse_args()
    # as installed: Python caches compiled modules (a PYTHONDONTWRITEBYTECODE=1 environment would
    # otherwise compile some 800 modules again in every process, the bare loop's and the import's)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        folder = Path(tmp)
        files = generate(folder, args.files, args.pages, real_pages(args.html) if args.html else None)
        size = sum(f.stat().st_size for f in files)
        base_s, base_pages, base_cpu = baseline(files, args.workers)
        readers_s, readers_pages, readers_cpu = baseline(files, args.workers, _read_file)
        imp_s, imp_docs, reader, imp_cpu = provenance_import(files, args.workers, folder / "ws")
        base_rate, imp_rate = base_pages / base_s, imp_docs / imp_s
        result = {
            "input": {"files": len(files), "pages_per_file": args.pages, "bytes": size,
                      "pages": f"real HTML from {args.html}" if args.html else "generated"},
            "workers": args.workers, "cpus": os.cpu_count(),
            "baseline": {"seconds": round(base_s, 2), "pages": base_pages, "pages_per_s": round(base_rate, 1)},
            "import": {"seconds": round(imp_s, 2), "documents": imp_docs, "pages_per_s": round(imp_rate, 1)},
            "ratio": round(imp_rate / base_rate, 3),
            # the import's reader processes alone (read_warc: both passes, analysis), no ledger
            "readers_only": {"seconds": round(readers_s, 2), "pages": readers_pages,
                             "ratio": round(readers_pages / readers_s / base_rate, 3)},
            # CPU seconds of all their processes (start included): what a machine of its own would
            # give, where wall-clock ratios on a shared machine move with the others' load
            "cpu_seconds": {"baseline": round(base_cpu, 2), "readers_only": round(readers_cpu, 2),
                            "import": round(imp_cpu, 2)},
            "cpu_ratio": round((base_cpu / base_pages) / (imp_cpu / imp_docs), 3),
            "readers_only_cpu_ratio": round((base_cpu / base_pages) / (readers_cpu / readers_pages), 3),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "reader_during_import": {k: round(v, 3) if isinstance(v, float) else v for k, v in reader.items()},
            "iteration_generated": iteration(files),
        }
        if args.reference is not None:
            result["iteration_reference"] = iteration(sorted(args.reference.glob("*.warc.gz")))
    print(json.dumps(result, indent=2))
    print(f"import / bare loop ({args.workers} processes): {result['ratio']:.2f}x wall clock, "
          f"{result['cpu_ratio']:.2f}x CPU time (aim >= 0.8)")
    out = args.out
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
