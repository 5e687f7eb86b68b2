"""`import --engine ray` stores exactly the documents of one local reader (WARC files of
tests/test_import_parallel.py), and `--ray-address` goes with `--engine ray` only."""

from __future__ import annotations

import pytest

import crawl
from crawl.importers.run import ImportOptions
from tests.test_import_parallel import crawl_files, documents

pytest.importorskip("ray", reason="the distributed extra (Ray) is not installed")
pytestmark = pytest.mark.ray


def test_ray_readers_store_the_documents_of_one_local_reader(tmp_path, cli):
    files = crawl_files(tmp_path / "warcs")
    local = tmp_path / "local"
    crawl.import_files(local, files, ImportOptions(workers=1))
    ws = tmp_path / "ray"
    result = cli("-w", str(ws), "import", "--engine", "ray", "--workers", "2", *map(str, files))
    assert result.code == 0, result.err
    assert documents(ws) == documents(local)


def test_ray_address_needs_the_ray_engine(tmp_path, cli):
    result = cli("-w", str(tmp_path / "ws"), "import", "--ray-address", "127.0.0.1:6379", str(tmp_path / "x.warc"))
    assert result.code == 2
    assert "--ray-address goes with --engine ray" in result.err
