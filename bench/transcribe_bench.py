"""Benchmark of `provenance transcribe` on CPU, against faster-whisper called directly.

Audio: the speech fixture (provenance/sample/site/media/speech.flac, 17 s) looped with short pauses to a few
minutes, written as one FLAC file. Same model (the bundled tiny.en), same settings (CPU, int8,
beam 5, VAD on, sequential, temperature 0), same process. Prints:

* overhead ratio = wall time of the direct call / wall time of `provenance transcribe`
  (both: load the model, decode the file, transcribe; provenance also hashes, writes the shard
  and the ledger). Aim: >= 0.9. Temperature 0 makes both runs deterministic: with Whisper's
  default fallback, the looped (so repetitive) text fails the compression-ratio check and windows
  are decoded again by random sampling, which makes run times vary by tens of percent.
* batched / sequential speed ratio: BatchedInferencePipeline (batch 8) against sequential decoding
  with the same decoding options (temperature 0, no conditioning on previous text, no timestamps),
  on one loaded model. Each mode keeps its own voice activity detection settings: the batched
  pipeline cuts the audio at every pause and pads each chunk to Whisper's 30 s window, so on a CPU
  it can do more encoder work than sequential decoding; on a GPU the batch wins (bench/gpu_transcribe.sh).

Usage: .venv/bin/python bench/transcribe_bench.py [--minutes 3] [--repeat 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transcribe.audio import SAMPLE_RATE, decode_audio  # noqa: E402
from transcribe.model import bundled_model_dir  # noqa: E402
from transcribe.wer import word_error_rate  # noqa: E402

FIXTURE = REPO / "provenance" / "sample" / "site" / "media" / "speech.flac"
SPEECH_TEXT = ("Every document in this corpus carries a receipt. It says where the text came from, under which "
               "license it was published, and whether the owner agreed to machine learning. When an owner "
               "objects, we know exactly what to remove.")
PAUSE_S = 1.0


def build_audio(minutes: float, out: Path) -> tuple[Path, float, str]:
    """The fixture looped (with pauses) to about ``minutes``, as FLAC; returns path, seconds, reference."""
    import av

    one = decode_audio(FIXTURE, max_duration_s=60).samples
    pause = np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)
    loops = max(1, round(minutes * 60 / (one.shape[0] / SAMPLE_RATE + PAUSE_S)))
    samples = np.concatenate([np.concatenate([one, pause])] * loops)
    pcm = (samples * 32767).astype(np.int16).reshape(1, -1)
    with av.open(str(out), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=SAMPLE_RATE)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out, samples.shape[0] / SAMPLE_RATE, " ".join([SPEECH_TEXT] * loops)


def direct_run(path: Path) -> tuple[float, str]:
    """faster-whisper alone: load, decode, transcribe, with the settings the provenance run is given."""
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio as fw_decode

    t0 = time.perf_counter()
    model = WhisperModel(str(bundled_model_dir()), device="cpu", compute_type="int8")
    segments, _ = model.transcribe(fw_decode(str(path)), beam_size=5, vad_filter=True, temperature=0.0)
    text = " ".join(s.text.strip() for s in segments)
    return time.perf_counter() - t0, text


def provenance_run(path: Path, workspace: Path, *, force: bool) -> tuple[float, str]:
    """`provenance -w WS transcribe FILE` in this process; returns wall time and transcript."""
    from provenance.cli import main
    from provenance.ledger import Ledger

    args = ["-w", str(workspace), "transcribe", "--temperature", "0", str(path)] + (["--force"] if force else [])
    t0 = time.perf_counter()
    try:
        main(args)
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    elapsed = time.perf_counter() - t0
    [row] = Ledger(workspace).query(
        "SELECT c.text FROM transcriptions t JOIN corpus c ON c.doc_id = t.doc_id AND c.text_sha256 = t.text_sha256"
    ).to_pylist()
    return elapsed, row["text"]


def mode_runs(path: Path, repeat: int) -> dict[str, float]:
    """Batched against sequential decoding on one loaded model (model load excluded)."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    model = WhisperModel(str(bundled_model_dir()), device="cpu", compute_type="int8")
    batched = BatchedInferencePipeline(model)
    audio = decode_audio(path, max_duration_s=24 * 3600).samples

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        best = float("inf")
        for _ in range(repeat):
            t0 = time.perf_counter()
            segments, _ = fn()
            list(segments)
            best = min(best, time.perf_counter() - t0)
        return best

    same = dict(beam_size=5, vad_filter=True, temperature=0.0, condition_on_previous_text=False)
    return {
        "sequential_same_s": timed(lambda: model.transcribe(audio, without_timestamps=True, **same)),
        "batched_same_s": timed(lambda: batched.transcribe(audio, batch_size=8, **same)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="minutes of audio (default 3)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement; the best counts")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="transcribe-bench-") as tmp:
        tmpdir = Path(tmp)
        path, seconds, reference = build_audio(args.minutes, tmpdir / "speech-loop.flac")
        print(f"audio: {seconds:.0f} s ({seconds / 60:.1f} min), the speech fixture looped; model tiny.en, "
              f"CPU int8, beam 5, VAD on, temperature 0", flush=True)
        workspace = tmpdir / "ws"
        cold, _ = provenance_run(path, workspace, force=False)  # fresh workspace: hashes the weights once
        direct, prov = [], []
        for _ in range(args.repeat):  # interleaved, so load on the shared machine hits both alike
            direct.append(direct_run(path))
            prov.append(provenance_run(path, workspace, force=True))
        d_best, d_text = min(direct)
        p_best, p_text = min(prov)
        modes = mode_runs(path, args.repeat)

    results = {
        "audio_s": round(seconds, 1),
        "direct_s": round(d_best, 3), "provenance_s": round(p_best, 3), "provenance_cold_s": round(cold, 3),
        "direct_rtf": round(d_best / seconds, 4), "provenance_rtf": round(p_best / seconds, 4),
        "overhead_ratio": round(d_best / p_best, 3),
        "wer_direct": round(word_error_rate(reference, d_text), 4),
        "wer_provenance": round(word_error_rate(reference, p_text), 4),
        **{k: round(v, 3) for k, v in modes.items()},
        "batched_speedup_same_decoding": round(modes["sequential_same_s"] / modes["batched_same_s"], 3),
    }
    print(f"direct faster-whisper:   {d_best:7.2f} s  RTF {results['direct_rtf']:.4f}  WER {results['wer_direct']:.3f}")
    print(f"provenance transcribe:   {p_best:7.2f} s  RTF {results['provenance_rtf']:.4f}  WER "
          f"{results['wer_provenance']:.3f}  (first run in a fresh workspace: {cold:.2f} s)")
    print(f"overhead ratio (direct / provenance, aim >= 0.9): {results['overhead_ratio']:.3f}")
    print(f"sequential {modes['sequential_same_s']:.2f} s vs batched(8) {modes['batched_same_s']:.2f} s "
          f"with the same decoding options: batched speed-up {results['batched_speedup_same_decoding']:.2f}x")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
