"""Importers of existing corpora (JSONL, Parquet; WARC) into a workspace."""

from crawl.importers.formats import detect_format

__all__ = ["detect_format"]
