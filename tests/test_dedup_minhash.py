"""dedup's building blocks against datasketch and brute force: shingles, signatures, LSH, clusters."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pyarrow as pa
import pytest
from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup import shingles as sh
from dedup.clusters import components
from dedup.lsh import (band_group_codes, band_keys, candidate_pairs, pairs_from_codes, similar_pairs,
                       similar_pairs_spilled)
from dedup.minhash import Permutations, signatures, signatures_from_hashes
from dedup.params import LSH_WEIGHTS, LshParams, SignatureParams
from dedup.state import SignatureFile
from dedup.synthetic import generate
from provenance.errors import InputError


def sample_texts() -> list[str]:
    path = resources.files("provenance.sample") / "corpus.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    texts += [d.text for d in generate(40, seed=3)]
    texts += [
        "", "   ", "one", "two words", "exactly five words are here", "Ünïcödé tëxt ıs ŞTRANGE ß ﬁ",
        "tabs\tand\nnewlines\r\nand\u00a0non-breaking\u2003spaces\u3000too, and \x1cfile separators\x1f",
        "emoji 🙂 are words too 🙂 🙂 and so are CJK 漢字 かな",
        "repeat " * 300,
    ]
    return texts


def datasketch_signature(text: str, params: SignatureParams) -> np.ndarray:
    m = MinHash(num_perm=params.num_perm, seed=params.seed, scheme=params.scheme,
                hashfunc=sh.hashfunc(params.width))
    shingles = sh.shingles(text, params.ngram)
    if shingles:
        m.update_batch(shingles)
    return m.hashvalues


@pytest.mark.parametrize("params", [
    SignatureParams(),
    SignatureParams(num_perm=256, ngram=3, seed=42),
    SignatureParams(num_perm=64, ngram=1, seed=7, scheme="affine64"),
    SignatureParams(num_perm=128, ngram=5, seed=2**32 - 1, scheme="affine64"),
])
def test_signatures_equal_datasketch(params):
    texts = sample_texts()
    ours, counts = signatures(pa.array(texts), params)
    assert ours.shape == (len(texts), params.num_perm)
    for i, text in enumerate(texts):
        expected = datasketch_signature(text, params)
        assert ours[i].dtype == expected.dtype
        assert np.array_equal(ours[i], expected), f"text {i} differs: {text[:60]!r}"
        assert counts[i] == len(sh.shingles(text, params.ngram))


def test_update_loop_gives_the_same_signature_as_update_batch():
    params = SignatureParams()
    text = sample_texts()[0]
    m = MinHash(num_perm=params.num_perm, seed=params.seed, hashfunc=sh.shingle_hash32)
    for s in sh.shingles(text, params.ngram):
        m.update(s)
    assert np.array_equal(signatures(pa.array([text]), params)[0][0], m.hashvalues)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), min_size=1, max_size=6), st.integers(1, 6))
def test_signatures_equal_datasketch_on_arbitrary_text(texts, ngram):
    params = SignatureParams(num_perm=16, ngram=ngram, seed=5)
    ours, _ = signatures(pa.array(texts), params)
    for i, text in enumerate(texts):
        assert np.array_equal(ours[i], datasketch_signature(text, params))


def test_permutations_are_datasketchs():
    for params in (SignatureParams(), SignatureParams(num_perm=32, seed=9, scheme="affine64")):
        ours = Permutations.for_params(params)
        theirs = MinHash(num_perm=params.num_perm, seed=params.seed, scheme=params.scheme).permutations
        assert np.array_equal(ours.a, theirs[0]) and np.array_equal(ours.b, theirs[1])


def test_batch_shingle_hashes_match_the_one_document_definition():
    texts = sample_texts()
    for width in (32, 64):
        hashes, offsets = sh.shingle_hashes(pa.array(texts), 5, width)
        for i, text in enumerate(texts):
            expected = [sh.hashfunc(width)(s) for s in sh.shingles(text, 5)]
            assert hashes[offsets[i]:offsets[i + 1]].tolist() == expected


def test_tokens_are_pythons_lower_split_for_ordinary_text():
    for text in sample_texts():
        if "İ" not in text:
            assert sh.tokens(text) == text.lower().split()


def test_non_ascii_batches_tokenise_like_ascii_ones():
    ascii_text = "Plain ASCII words\x1cwith a file separator and\ttabs"
    alone = sh.shingle_hashes(pa.array([ascii_text]), 2, 32)[0]
    mixed = sh.shingle_hashes(pa.array([ascii_text, "ünïcode"]), 2, 32)
    assert alone.tolist() == mixed[0][:mixed[1][1]].tolist()
    assert sh.tokens(ascii_text) == ascii_text.lower().split()


_ASCII_TEXT = st.lists(st.sampled_from(list("aZb \t\n\r\x0b\x0c.,-") + ["Word", "  "]), max_size=30).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ASCII_TEXT, min_size=1, max_size=8), st.integers(0, 3))
def test_ascii_fast_path_tokenises_like_arrows_unicode_kernels(texts, skip):
    """The numpy tokenizer of ASCII batches (also on a sliced array) against the Arrow utf8 one."""
    arr = pa.array(["x"] * skip + texts).slice(skip)
    fast = sh._ascii_tokens(arr)
    assert fast is not None
    reference = sh._split_tokens(arr)
    assert fast.to_pylist() == reference.flatten().to_pylist()
    assert fast.per_text.tolist() == [len(t or []) for t in reference.to_pylist()]
    assert fast.to_pylist() == [w for t in texts for w in t.lower().split()]


def test_control_characters_and_non_ascii_take_the_unicode_path():
    for text in ("a\x1cb", "a\x00b", "caf\u00e9"):
        assert sh._ascii_tokens(pa.array([text])) is None
        assert sh.tokens(text) == text.lower().split()


def test_token_hash_reads_every_chunk_of_long_tokens():
    words = ["a", "abcdefgh", "abcdefghi", "abcdefgh" * 5, "abcdefgh" * 5 + "x", "é" * 9]
    for width in (32, 64):
        hashes, offsets = sh.shingle_hashes(pa.array(words), 1, width)
        assert hashes.tolist() == [sh.hashfunc(width)(w.encode()) for w in words]
        assert len(set(hashes.tolist())) == len(words)


def test_small_chunks_and_long_documents_give_the_same_signatures():
    params = SignatureParams(num_perm=32)
    perms = Permutations.for_params(params)
    texts = pa.array([" ".join(f"w{i}" for i in range(3000)), "a b c d e f g", "", "x " * 10])
    hashes, offsets = sh.shingle_hashes(texts, params.ngram, 32)
    big = signatures_from_hashes(hashes, offsets, perms, chunk=100_000)
    for chunk in (1, 7, 256):
        assert np.array_equal(signatures_from_hashes(hashes, offsets, perms, chunk=chunk), big)
    assert (big[2] == 2**32 - 1).all()  # an empty document keeps datasketch's empty signature


@pytest.mark.parametrize("threshold,num_perm", [(0.8, 128), (0.7, 256), (0.5, 64), (0.9, 128)])
def test_bands_and_rows_are_datasketchs_optimum(threshold, num_perm):
    lsh = LshParams.for_threshold(threshold, num_perm)
    theirs = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=LSH_WEIGHTS)
    assert (lsh.bands, lsh.rows) == (theirs.b, theirs.r)
    plain = LshParams.for_threshold(threshold, num_perm, weights=(0.5, 0.5))
    assert (plain.bands, plain.rows) == (MinHashLSH(threshold=threshold, num_perm=num_perm).b,
                                         MinHashLSH(threshold=threshold, num_perm=num_perm).r)


def test_a_pair_just_above_the_threshold_is_almost_always_a_candidate():
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):
        lsh = LshParams.for_threshold(threshold, 128)
        s = threshold + 0.05
        assert 1 - (1 - s ** lsh.rows) ** lsh.bands >= 0.94


def test_bad_parameters_are_refused_with_a_message():
    with pytest.raises(InputError, match="threshold"):
        LshParams.for_threshold(1.0, 128)
    with pytest.raises(InputError, match="scheme"):
        SignatureParams(scheme="legacy")


def test_candidate_pairs_equal_datasketch_lsh_queries():
    params = SignatureParams()
    lsh = LshParams.for_threshold(0.5, params.num_perm)
    docs = list(generate(300, seed=11, copy_fraction=0.5))
    texts = [d.text for d in docs]
    sigs, _ = signatures(pa.array(texts), params)
    ours = {tuple(p) for p in candidate_pairs(band_keys(sigs, lsh.bands, lsh.rows), max_bucket=10_000).tolist()}

    index = MinHashLSH(threshold=0.5, num_perm=params.num_perm, params=(lsh.bands, lsh.rows))
    minhashes = []
    for i, row in enumerate(sigs):
        m = MinHash(num_perm=params.num_perm, seed=params.seed, hashvalues=row, scheme=params.scheme)
        index.insert(i, m)
        minhashes.append(m)
    theirs = {(min(i, j), max(i, j)) for i, m in enumerate(minhashes) for j in index.query(m) if j != i}
    assert len(theirs) > 50
    assert ours == theirs


def test_band_groups_together_give_the_candidates_of_all_bands():
    """The banding stage split into groups of bands (what each engine task computes) unions to the
    candidates of all bands, whatever the split."""
    params = SignatureParams()
    lsh = LshParams.for_threshold(0.5, params.num_perm)
    sigs, _ = signatures(pa.array([d.text for d in generate(300, seed=12, copy_fraction=0.5)]), params)
    whole = candidate_pairs(band_keys(sigs, lsh.bands, lsh.rows), max_bucket=8)
    assert len(whole) > 50
    for cuts in ([0, lsh.bands], [0, 1, lsh.bands], [0, 3, 4, lsh.bands - 1, lsh.bands]):
        codes = [band_group_codes(sigs, lsh.rows, lo, hi, max_bucket=8) for lo, hi in zip(cuts, cuts[1:])]
        assert np.array_equal(pairs_from_codes(np.unique(np.concatenate(codes)), len(sigs)), whole)


def test_band_keys_spilled_to_files_and_grouped_a_band_at_a_time_give_the_same_pairs(tmp_path):
    """The out-of-core banding stage (one file of keys per band, one band in memory at a time,
    the signatures read from a .npy file a step at a time) finds the pairs of the in-memory stage,
    with and without a row subset, with small and large buckets."""
    params = SignatureParams()
    lsh = LshParams.for_threshold(0.6, params.num_perm)
    sigs, _ = signatures(pa.array([d.text for d in generate(400, seed=13, copy_fraction=0.6)]), params)
    stored = SignatureFile.create(tmp_path / "sigs.npy", len(sigs), params.num_perm, sigs.dtype)
    stored.write(np.arange(len(sigs)), sigs)
    subset = np.flatnonzero(np.arange(len(sigs)) % 3 != 1)
    for rows, max_bucket in ((None, 64), (subset, 64), (subset, 2)):
        pairs, sims = similar_pairs(sigs, lsh.bands, lsh.rows, lsh.threshold, max_bucket, rows)
        assert len(pairs) > 20
        spilled = similar_pairs_spilled(stored, lsh.bands, lsh.rows, lsh.threshold,  # reads like an array
                                        tmp_path / f"spill-{max_bucket}-{rows is None}", max_bucket, rows)
        assert np.array_equal(spilled[0], pairs) and np.array_equal(spilled[1], sims)


def test_large_buckets_are_chained_not_squared():
    keys = np.zeros((500, 1), np.uint64)  # one bucket of 500 rows
    pairs = candidate_pairs(keys, max_bucket=4)
    assert len(pairs) == 3 * 500 - 6  # each row with its next three
    labels = components(500, pairs[:, 0], pairs[:, 1])
    assert (labels == 0).all()


def _reference_components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [min(i for i in range(n) if find(i) == find(x)) for x in range(n)]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))))
def test_components_match_a_plain_union_find(case):
    n, edges = case
    left = np.array([e[0] for e in edges], np.int64)
    right = np.array([e[1] for e in edges], np.int64)
    assert components(n, left, right).tolist() == _reference_components(n, edges)
    rev = components(n, right[::-1].copy(), left[::-1].copy())  # order of edges does not matter
    assert rev.tolist() == _reference_components(n, edges)
