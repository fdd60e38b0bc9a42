"""Inference speed: latency percentiles, throughput, memory and size of several models side by side.

Each model is measured in a fresh process (``spawn``), so its peak memory is its own and one
model's allocations or thread pools cannot slow the next. Inputs are fixed-length batches of
random in-vocabulary token ids (no padding), identical for every model. After ``warmup`` calls,
each batch size is timed call by call until at least ``min_repeats`` calls and ``min_seconds``
have passed; latency percentiles come from those per-call times and throughput is
``batch size x calls / total time``.
"""

from __future__ import annotations

import concurrent.futures
import functools
import multiprocessing
import platform
from pathlib import Path

import numpy as np

from tinybert.config import BenchmarkConfig, RunOptions
from tinybert.errors import TinyBertError
from tinybert.io.environment import environment
from tinybert.io.outputs import atomic_file, output_folder, write_json
from tinybert.options import as_options
from tinybert.results import BenchmarkModel, BenchmarkResult, parse

__all__ = ["BenchmarkConfig", "environment", "measure_model", "plot", "run_benchmark"]


def _rss_mb() -> float | None:
    """Current resident memory of this process (Linux), MiB."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        return None


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MiB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / 1024 if platform.system() == "Darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _inputs(model, batch_size: int, seq_len: int) -> dict[str, np.ndarray]:
    """``(batch_size, seq_len)`` int64 ids: [CLS], random ordinary tokens, [SEP]; mask all ones."""
    tokenizer = model.tokenizer
    vocab = int(getattr(model.config, "vocab_size", len(tokenizer)))
    special = set(tokenizer.all_special_ids)
    low = min(1000, vocab // 2)  # BERT vocabularies keep [unused] and special tokens below 1000
    rng = np.random.default_rng(0)
    ids = rng.integers(low, vocab, size=(batch_size, seq_len), dtype=np.int64)
    ids[np.isin(ids, list(special))] = low
    if tokenizer.cls_token_id is not None and tokenizer.sep_token_id is not None:
        ids[:, 0], ids[:, -1] = tokenizer.cls_token_id, tokenizer.sep_token_id
    return {"input_ids": ids, "attention_mask": np.ones_like(ids)}


def measure_model(name: str, config: BenchmarkConfig) -> dict:
    """Load ``name`` and time it at every batch size (runs inside the per-model process)."""
    import torch
    import transformers

    from tinybert.deploy.runtime import load_inference_model
    from tinybert.models.structure import config_position_limit
    from tinybert.timing import time_calls

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    threads = torch.get_num_threads()
    rss_before = _rss_mb()
    model = load_inference_model(name, device=config.inference.device, threads=threads)
    limit = config_position_limit(model.config)
    if limit is not None and config.seq_len > limit:
        raise TinyBertError(
            f"--seq-len {config.seq_len}: --model {name} takes at most {limit} tokens (its position embeddings)"
        )
    if model.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    rows, c = [], config
    for batch_size in config.batch_sizes:
        inputs = _inputs(model, batch_size, config.seq_len)
        call = functools.partial(model.outputs, inputs)
        times = np.array(time_calls(call, c.warmup, c.min_repeats, c.min_seconds, c.max_repeats)) * 1000  # ms
        rows.append(
            {
                "batch_size": batch_size,
                "repeats": len(times),
                "p50_ms": float(np.percentile(times, 50)),
                "p90_ms": float(np.percentile(times, 90)),
                "p99_ms": float(np.percentile(times, 99)),
                "mean_ms": float(times.mean()),
                "throughput": float(batch_size * len(times) / (times.sum() / 1000)),
            }
        )
    peak = _peak_rss_mb()
    result = {
        "model": name,
        "kind": model.kind,
        "device": model.device,
        "parameters": model.parameters,
        "size_bytes": model.size_bytes,
        "threads": threads,
        "peak_rss_mb": round(peak, 1),
        "model_memory_mb": None if rss_before is None else round(peak - rss_before, 1),
        "batches": rows,
    }
    if model.device == "cuda":
        result["cuda_peak_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return result


def _measure_isolated(name: str, config: BenchmarkConfig) -> dict:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(measure_model, name, config).result()


def _speedups(results: list[dict]) -> None:
    """Add each model's speedup over the first: batch-1-style latency ratio and throughput ratio per batch."""
    base = {row["batch_size"]: row for row in results[0]["batches"]}
    for result in results:
        for row in result["batches"]:
            ref = base[row["batch_size"]]
            row["latency_speedup"] = ref["p50_ms"] / row["p50_ms"]
            row["throughput_speedup"] = row["throughput"] / ref["throughput"]
        result["size_ratio"] = results[0]["size_bytes"] / result["size_bytes"] if result["size_bytes"] else None
        result["parameter_ratio"] = results[0]["parameters"] / result["parameters"] if result["parameters"] else None


def _label(result: BenchmarkModel) -> str:
    path = Path(result.model)
    name = path.parent.name + "/" + path.name if path.suffix == ".onnx" else path.name or result.model
    return f"{name} ({result.kind})"


def plot(results: list[BenchmarkModel], path: Path, title: str) -> None:
    """Bar charts: p50 latency at the smallest batch size, and throughput at every batch size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [_label(r) for r in results]
    batch_sizes = [row.batch_size for row in results[0].batches]
    fig, (ax_lat, ax_thr) = plt.subplots(1, 2, figsize=(13, 0.6 * len(results) + 3.2))
    latency = [r.batches[0].p50_ms for r in results]
    y = np.arange(len(results))
    ax_lat.barh(y, latency, color="tab:blue")
    ax_lat.set_yticks(y, labels)
    ax_lat.invert_yaxis()
    ax_lat.set_xlabel(f"p50 latency at batch {batch_sizes[0]} (ms, lower is better)")
    for i, r in enumerate(results):
        ax_lat.annotate(
            f" {latency[i]:.1f} ms  ({r.batches[0].latency_speedup:.1f}x)",
            (latency[i], i),
            va="center",
            fontsize=8,
        )
    ax_lat.set_xlim(0, max(latency) * 1.45)
    width = 0.8 / len(batch_sizes)
    for j, batch_size in enumerate(batch_sizes):
        values = [r.batches[j].throughput for r in results]
        ax_thr.barh(y + (j - (len(batch_sizes) - 1) / 2) * width, values, height=width, label=f"batch {batch_size}")
    ax_thr.set_yticks(y, [""] * len(results))
    ax_thr.invert_yaxis()
    ax_thr.set_xlabel("throughput (samples/s, higher is better)")
    ax_thr.legend(loc="lower right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def run_benchmark(config: BenchmarkConfig) -> BenchmarkResult:
    """Measure every model, write ``benchmark.json`` and ``benchmark.png`` to ``config.run.output``."""
    for name in config.all_models:
        if not Path(name).exists() and (Path(name).suffix == ".onnx" or len(Path(name).parts) > 2):
            raise TinyBertError(f"--model {name}: not found")
    with output_folder(config.run.output, config.run.overwrite, {}) as output:
        results = [_measure_isolated(name, config) for name in config.all_models]
        devices = sorted({r["device"] for r in results})  # --device auto: each model where it runs
        env = environment("cuda" if "cuda" in devices else "cpu")
        _speedups(results)
        summary = {
            "environment": env,
            "settings": {
                k: v for k, v in as_options(config).items() if k not in ("models", *RunOptions.__dataclass_fields__)
            },
            "models": results,
        }
        summary["settings"]["output"] = str(config.run.output)
        write_json(output / "benchmark.json", summary)
        result = parse(BenchmarkResult, summary)
        plot(
            result.models,
            output / "benchmark.png",
            f"{env['cpu']} ({env.get('gpu', '/'.join(devices))}), {result.models[0].threads} threads, "
            f"sequence length {config.seq_len}",
        )
    return result
