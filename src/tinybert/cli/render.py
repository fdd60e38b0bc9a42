"""What each command prints when it is done: result tables (rich) and one-line summaries.

One function per command, named as the command (underscores for dashes), called with the command's
result and its config."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

import tinybert.config as cfg
from tinybert.results import (
    AugmentResult,
    BenchmarkResult,
    DistillResult,
    ExportResult,
    FinetuneResult,
    GeneralResult,
    Metrics,
    PredictResult,
    PruneResult,
    ReportResult,
)

MAIN_PROCESS = int(os.environ.get("RANK", "0")) == 0
"""False in the other processes of a multi-process launch (``accelerate launch``, ``torchrun``):
results are printed once, by the main process; errors by every process (:data:`errors`)."""

console = Console(stderr=True, quiet=not MAIN_PROCESS)
errors = Console(stderr=True)


def print_table(table: Table) -> None:
    """A result table on stdout; into a file or pipe at its full width (Rich's default there is
    80 columns, which wraps every cell of a wide table)."""
    Console(width=None if sys.stdout.isatty() else 200, quiet=not MAIN_PROCESS).print(table)


def metrics_table(title: str, rows: dict[str, dict[str, dict[str, float]]]) -> None:
    """rows: model name -> split -> metric -> value."""
    table = Table(title=title)
    table.add_column("model")
    table.add_column("split")
    metrics = sorted({m for splits in rows.values() for values in splits.values() for m in values})
    for m in metrics:
        table.add_column(m, justify="right")
    for name, splits in rows.items():
        for split, values in splits.items():
            table.add_row(name, split, *(f"{values[m]:.4f}" if m in values else "" for m in metrics))
    print_table(table)


def finetune(result: FinetuneResult, config: cfg.FinetuneConfig) -> None:
    metrics_table(f"fine-tuned {config.model} (lr {result.best_learning_rate:g})", {"model": result.eval})
    console.print(f"saved to {config.run.output}")


def distill(result: DistillResult, config: cfg.DistillConfig) -> None:
    metrics_table("distillation", {"teacher": result.teacher.eval or {}, "student": result.student.eval or {}})
    split, metric, ratio = result.kept
    kept = f"{100 * ratio:.1f}%" if ratio is not None else "n/a (teacher scored 0)"
    s_params, t_params = result.student.parameters, result.teacher.parameters
    console.print(
        f"student keeps {kept} of the teacher's {metric} on {split} with {s_params:,} parameters "
        f"({t_params / s_params:.1f}x fewer than the teacher's {t_params:,}); saved to {config.run.output}"
    )


def evaluate(metrics: Metrics, config: cfg.EvaluateConfig) -> None:
    metrics_table(f"evaluation of {config.model}", {"model": metrics})
    if config.run.output is not None:
        console.print(f"written to {config.run.output}")
    else:
        print(json.dumps(metrics))


def augment(result: AugmentResult, config: cfg.AugmentConfig) -> None:
    console.print(
        f"{result.examples:,} examples + {result.variants:,} variants -> {config.run.output} "
        f"({result.examples_per_second or 0:,} examples/s, candidates from {result.candidates})"
    )


def general_distill(result: GeneralResult, config: cfg.GeneralConfig) -> None:
    held_out = ", ".join(f"{k.removeprefix('eval_')} {v:.4f}" for k, v in result.eval.items())
    console.print(
        f"{result.steps} steps, {result.tokens_seen:,} tokens at {result.tokens_per_second or 0:,.0f} "
        f"tokens/s; held-out losses: {held_out or 'n/a'}; saved to {config.run.output}"
    )


def prune(result: PruneResult, config: cfg.PruneConfig) -> None:
    output = config.run.output
    splits = result.before.eval
    metric_names = [m if len(splits) == 1 else f"{split} {m}" for split, ms in splits.items() for m in ms]
    table = Table(title="pruning (no recovery training yet)")
    for name in ("", "layers", "hidden", "heads", "FFN", "params", *metric_names):
        table.add_column(name)
    for name, row in (("before", result.before), ("after", result.after)):
        metrics = [f"{v:.4f}" for ms in row.eval.values() for v in ms.values()]
        shape = (str(n) for n in (row.layers, row.hidden, row.heads, row.intermediate))
        params = row.parameters
        table.add_row(name, *shape, f"{params / 1e6:.2f}M" if params >= 1e6 else f"{params:,}", *metrics)
    console.print(table)
    if result.vocab:
        console.print(f"vocabulary: {result.vocab['before']:,} -> {result.vocab['after']:,} pieces")
    console.print(f"saved to {output} (what was kept: {output / 'pruning.json'})")


def export(result: ExportResult, config: cfg.ExportConfig) -> None:
    parity = result.parity
    agreement = "n/a" if parity.argmax_agreement is None else f"{parity.argmax_agreement:.1%}"
    if parity.min_similarity is not None:  # sentence embeddings
        agreement = f"n/a; lowest cosine {parity.min_similarity:.5f}"
    console.print(
        f"exported {result.kind} ({result.size_bytes / 2**20:.1f} MiB, source "
        f"{result.source_size_bytes / 2**20:.1f} MiB) to {config.run.output}; parity on {parity.samples} texts "
        f"({parity.source}): max |logit diff| {parity.max_abs_diff:.2e}, argmax agreement {agreement}"
    )
    if result.split_outliers and config.split_outliers == cfg.SPLIT_AUTO:
        split = result.split_outliers
        console.print(
            f"outliers computed in fp32: {sum(split.values())} input channels of {len(split)} weight matrices "
            f"(more than {config.outlier_factor:g}x the median channel; all-int8 failed the parity bar; "
            "--split-outliers off leaves them in)"
        )
    if result.fp32_matrices and config.keep_fp32 == cfg.KEEP_FP32_AUTO:
        console.print(
            f"kept in fp32: the {', '.join(result.fp32_matrices)} weight matrices (all-int8 failed the "
            "parity bar; larger and slower than all-int8, --keep-fp32 none refuses instead)"
        )


def benchmark(result: BenchmarkResult, config: cfg.BenchmarkConfig) -> None:
    output, seq_len = config.run.output, config.seq_len
    models = result.models
    sizes = [row.batch_size for row in models[0].batches]
    table = Table(title=f"{result.environment['cpu']}, {models[0].threads} threads, length {seq_len}")
    for name in ("model", "kind", "params", "MiB", f"b{sizes[0]} p50/p90/p99 ms"):
        table.add_column(name)
    for b in sizes:
        table.add_column(f"b{b} samples/s", justify="right")
    table.add_column("speedup", justify="right")
    for r in models:
        first = r.batches[0]
        table.add_row(
            r.model,
            r.kind,
            f"{(r.parameters or 0) / 1e6:.1f}M",
            f"{(r.size_bytes or 0) / 2**20:.0f}",
            f"{first.p50_ms:.1f} / {first.p90_ms:.1f} / {first.p99_ms:.1f}",
            *(f"{row.throughput:.0f}" for row in r.batches),
            " ".join(f"{row.latency_speedup:.1f}x" for row in r.batches),
        )
    print_table(table)
    console.print(f"written to {output}/benchmark.json and benchmark.png")


def predict(result: PredictResult, config: cfg.PredictConfig) -> None:
    output = config.run.output
    if output is not None and set(result.labels) == {"(rows)"}:  # tags, answers, embeddings: no label to count
        console.print(f"wrote the predictions of {result.rows} rows into {output}")
    elif output is not None:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.labels.items()))
        console.print(f"labelled {result.rows} rows ({counts}) into {output}")


def demo(result: ReportResult, config: cfg.DemoConfig) -> None:
    report(result)


def run(result: ReportResult, config: cfg.RunConfig) -> None:
    report(result)


def report(result: ReportResult) -> None:
    output = Path(result.output)
    table = Table(title=f"results ({output})")
    for name in result.header:
        table.add_column(name, justify="left" if name == "model" else "right")
    for row in result.rows:
        table.add_row(*row)
    print_table(table)
    console.print(f"report: {result.report} (and report.md); the student and its model card: {output}/student")
