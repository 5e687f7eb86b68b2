"""Cost of reading license statements with their scope, against the rest of a page's analysis.

On the 213 real pages of the labelled set (tests/pagecorpus.py: PyPI sdists, downloaded once), times
in the same run

* parse: decoding and parsing each page (what every stage of the analysis shares);
* licenses: ``crawl.licensing.find_licenses`` on the parsed page (statements, scope, notices);
* analyze: the whole ``crawl.analysis.analyze`` (parse, licenses, metas, media, links, trafilatura);

and prints the times and the share of the analysis spent on licenses (aim: a small part of it).
Usage: python bench/license_scope_bench.py [ROUNDS]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawl.analysis import PageJob, _parse, analyze  # noqa: E402
from crawl.licensing import find_licenses  # noqa: E402
from crawl.links import base_of  # noqa: E402
from tests.pagecorpus import load_pages  # noqa: E402


def main(rounds: int = 1) -> dict:
    pages = load_pages()
    jobs = [PageJob(p.url, p.body, "text/html", want_links=False) for p in pages]
    t_parse = t_licenses = t_analyze = 0.0
    for _ in range(rounds):
        for job in jobs:
            t0 = time.perf_counter()
            _, root = _parse(job)
            t1 = time.perf_counter()
            find_licenses(root, base_of(root, job.url))
            t2 = time.perf_counter()
            analyze(job)
            t3 = time.perf_counter()
            t_parse += t1 - t0
            t_licenses += t2 - t1
            t_analyze += t3 - t2
    n = len(jobs) * rounds
    result = {
        "pages": n,
        "parse_ms_per_page": round(1000 * t_parse / n, 2),
        "licenses_ms_per_page": round(1000 * t_licenses / n, 2),
        "analyze_ms_per_page": round(1000 * t_analyze / n, 2),
        "licenses_share_of_analyze": round(t_licenses / t_analyze, 3),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
