"""The human-readable report of a run: ``report.md``, a self-contained ``report.html``, and the student's model card.

Everything comes from files the other commands write: ``metrics.json`` of the fine-tuned teacher,
the distilled student and the student trained without distillation, their ``train_log.jsonl``
(loss parts and dev metrics over training), the evaluation of each model on the report's split,
``export.json`` and ``benchmark.json``. Plots are PNGs drawn with matplotlib (Agg) into
``plots/``; the HTML embeds them as base64, so it can be mailed or opened offline as one file.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from tinybert.errors import TinyBertError
from tinybert.io.environment import PACKAGES
from tinybert.io.environment import environment as current_environment
from tinybert.io.outputs import write_json
from tinybert.results import BenchmarkModel, BenchmarkResult, DistillResult, FinetuneResult, ReportResult, read
from tinybert.tasks.base import task_type_for_config

NOT_LOSS_KEYS = ("kind", "step", "lr", "stage")


@dataclass(frozen=True)
class ReportModel:
    """One row of the results table."""

    name: str
    """Row label, e.g. ``teacher``, ``student``, ``student without distillation``."""
    folder: Path | None
    """Model folder (PyTorch or export); its ``metrics.json``/``train_log.jsonl`` are read when present."""
    metrics: dict[str, float]
    """Task metrics on the report's split."""
    role: str = "student"
    """``teacher`` (the retention reference), ``student`` (the distilled model), ``baseline``, ``export`` or
    ``compressed`` (the student pruned and recovered: a point of the accuracy/speed curve)."""


@dataclass(frozen=True)
class ReportSpec:
    """What the report is about and where the evidence lies."""

    title: str
    models: tuple[ReportModel, ...]
    main_metric: str
    """The task's main metric, e.g. ``accuracy`` (must be in every model's ``metrics``)."""
    split: str = "test"
    """Name of the split the ``metrics`` were measured on."""
    benchmark: Path | None = None
    """Folder with ``benchmark.json`` (and ``benchmark.png``)."""
    command: str = ""
    """The exact command that produced the run."""
    recipe: str | None = None
    """The recipe's YAML text, when the run came from one."""
    notes: tuple[str, ...] = field(default_factory=tuple)
    """Extra lines for the summary (e.g. data set description)."""
    figures: tuple[str, ...] = ()
    """Metrics shown together in a "Figures" table, each with its retention (a task type scored by
    several figures: sentence embeddings' retrieval, pairs and agreement)."""
    figures_note: str = ""
    """What the figures measure, printed under their table."""

    def __post_init__(self) -> None:
        roles = [m.role for m in self.models]
        if roles.count("teacher") != 1:
            raise TinyBertError("report: expected exactly one model with role 'teacher'")
        for m in self.models:
            if self.main_metric not in m.metrics:
                raise TinyBertError(f"report: model {m.name!r} has no {self.main_metric!r} on {self.split}")


# ---------------------------------------------------------------------------------------------
# Reading the evidence


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def read_log(path: Path) -> list[dict]:
    """Records of a ``train_log.jsonl`` (empty when absent)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def split_stages(records: list[dict], names: list[str]) -> dict[str, list[dict]]:
    """Cut one log into its training runs: a new run starts where the step count goes back.

    ``names`` label the runs in order (e.g. a distillation's ``intermediate``, ``prediction``);
    runs beyond them are numbered.
    """
    runs: list[list[dict]] = []
    last, parts = None, None
    for record in records:
        keys = set(record) if record["kind"] == "train" else None
        # a new run: the step count goes back, or the loss parts change (distillation's next stage)
        if last is None or record["step"] < last or (keys is not None and parts is not None and keys != parts):
            runs.append([])
            parts = None
        runs[-1].append(record)
        last = record["step"]
        parts = keys if keys is not None else parts
    return {(names[i] if i < len(names) else f"run {i + 1}"): run for i, run in enumerate(runs)}


def model_logs(model: ReportModel) -> dict[str, list[dict]]:
    """The training runs behind a model: ``{label: records}`` (a distillation gives one per stage)."""
    if model.folder is None:
        return {}
    records = read_log(model.folder / "train_log.jsonl")
    if not records:
        return {}
    distilled = read(DistillResult, model.folder / "metrics.json")
    stages = distilled.stages if distilled is not None else {}
    names = [f"{model.name}: {stage} stage" for stage in stages] or [model.name]
    return split_stages(records, names)


def _bench_rows(benchmark: BenchmarkResult | None) -> dict[str, BenchmarkModel]:
    """benchmark.json's models by resolved path."""
    return benchmark.by_path() if benchmark is not None else {}


# ---------------------------------------------------------------------------------------------
# Plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_losses(runs: dict[str, list[dict]], path: Path) -> bool:
    """One panel per training run, one line per loss part (training loss, mean over log intervals)."""
    runs = {k: [r for r in v if r["kind"] == "train"] for k, v in runs.items()}
    runs = {k: v for k, v in runs.items() if v}
    if not runs:
        return False
    plt = _pyplot()
    cols = min(2, len(runs))
    rows = (len(runs) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(6.5 * cols, 3.6 * rows), squeeze=False)
    for ax, (name, records) in zip(axes.flat, runs.items(), strict=False):
        parts = [k for k in records[0] if k not in NOT_LOSS_KEYS]
        for part in parts:
            points = [(r["step"], r[part]) for r in records if part in r]
            ax.plot(*zip(*points, strict=True), label=part, linewidth=1.4 if part == "loss" else 1.0)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        values = [r[p] for r in records for p in parts if p in r]
        if min(values) > 0 and max(values) / min(values) > 30:  # parts of very different sizes
            ax.set_yscale("log")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(runs) :]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot_dev(runs: dict[str, list[dict]], metric: str, path: Path) -> bool:
    """The dev metric at every evaluation of every run that reports it (distillation's intermediate
    stage reports its dev loss instead and is left out)."""
    series = {
        name: [(r["step"], r[metric]) for r in records if r["kind"] == "eval" and metric in r]
        for name, records in runs.items()
    }
    series = {k: v for k, v in series.items() if v}
    if not series:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for name, points in series.items():
        ax.plot(*zip(*points, strict=True), marker="o", label=name)
    ax.set_xlabel("step (of that run)")
    ax.set_ylabel(f"dev {metric}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def plot_metrics(models: tuple[ReportModel, ...], metric: str, split: str, path: Path) -> None:
    """A bar per model: its metric on the report's split."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(models) + 1.6))
    values = [m.metrics[metric] for m in models]
    colors = {
        "teacher": "tab:gray",
        "student": "tab:blue",
        "export": "tab:cyan",
        "baseline": "tab:orange",
        "compressed": "tab:green",
    }
    ax.barh(range(len(models)), values, color=[colors.get(m.role, "tab:blue") for m in models])
    ax.set_yticks(range(len(models)), [m.name for m in models])
    ax.invert_yaxis()
    for i, v in enumerate(values):
        ax.annotate(f" {v:.4f}", (v, i), va="center", fontsize=9)
    ax.set_xlim(min(0.0, min(values)), max(1.0, max(values) * 1.15))
    ax.set_xlabel(f"{split} {metric}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@dataclass(frozen=True)
class CurvePoint:
    """One model on the accuracy/size/speed curve of pruning after distillation."""

    label: str
    role: str
    metric: float
    parameters: int
    latency_ms: float | None
    """Batch-1 p50 latency from ``benchmark.json``; None when not benchmarked."""


def compression_points(spec: ReportSpec, benchmark: BenchmarkResult | None) -> list[CurvePoint]:
    """The teacher, the distilled student and each compressed model (parameters from ``benchmark.json``
    or the run's ``metrics.json``); empty without compressed models."""
    if not any(m.role == "compressed" for m in spec.models):
        return []
    bench = _bench_rows(benchmark)
    points = []
    for m in spec.models:
        if m.role not in ("teacher", "student", "compressed") or m.folder is None:
            continue
        b = bench.get(str(m.folder.resolve()))
        params = b.parameters if b else _summary_params(m.folder)
        if params is None:
            continue
        label = {"teacher": "teacher", "student": "distilled"}.get(m.role) or m.name.split(",")[0].split(" to ")[-1]
        latency = b.batches[0].p50_ms if b else None
        points.append(CurvePoint(label, m.role, m.metrics[spec.main_metric], params, latency))
    return points


def plot_compression(points: list[CurvePoint], metric: str, split: str, path: Path) -> bool:
    """The main metric against parameters and (when benchmarked) batch-1 latency: the teacher as a
    grey point, the distilled student and its pruned, recovered versions as one line."""
    if not points:
        return False
    plt = _pyplot()
    panels: list[tuple[str, Callable[[CurvePoint], float]]] = [("parameters (millions)", lambda p: p.parameters / 1e6)]
    if all(p.latency_ms is not None for p in points):
        panels.append(("latency p50, batch 1 (ms)", lambda p: p.latency_ms))  # type: ignore[arg-type, return-value]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.2), squeeze=False)
    for ax, (xlabel, x) in zip(axes[0], panels, strict=True):
        curve = sorted((p for p in points if p.role != "teacher"), key=x)
        ax.plot([x(p) for p in curve], [p.metric for p in curve], marker="o", color="tab:blue")
        for p in points:
            color = "tab:gray" if p.role == "teacher" else "tab:blue"
            ax.scatter([x(p)], [p.metric], color=color, zorder=3)
            ax.annotate(f" {p.label}", (x(p), p.metric), fontsize=8, color=color)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"{split} {metric}")
        ax.grid(alpha=0.3)
    fig.suptitle("Pruning after distillation: accuracy against size and speed")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------------------------------
# Content


def _mib(n: float | None) -> str:
    return "—" if n is None else f"{n / 2**20:.1f} MiB"


def _params(n: int | None) -> str:
    if n is None:
        return "—"
    return f"{n / 1e6:.1f}M" if n >= 100_000 else f"{n / 1e3:.1f}k"


def results_table(spec: ReportSpec, benchmark: BenchmarkResult | None) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the main table (metric, retention, size and speed per model)."""
    teacher = next(m for m in spec.models if m.role == "teacher")
    reference = teacher.metrics[spec.main_metric]
    bench = _bench_rows(benchmark)
    batch_sizes = [row.batch_size for row in benchmark.models[0].batches] if benchmark else []
    small, large = (batch_sizes[0], batch_sizes[-1]) if batch_sizes else (None, None)
    header = [
        "model",
        f"{spec.split} {spec.main_metric}",
        "retention",
        "parameters",
        "disk size",
        f"latency p50, batch {small}" if small else "latency",
        f"throughput, batch {large}" if large else "throughput",
        "speedup (latency)",
    ]
    rows = []
    for m in spec.models:
        value = m.metrics[spec.main_metric]
        retention = "—" if m.role == "teacher" or not reference else f"{100 * value / reference:.1f}%"
        b = bench.get(str(m.folder.resolve())) if m.folder is not None else None
        params = b.parameters if b else _summary_params(m.folder)
        size = b.size_bytes if b else _summary_size(m.folder)
        if b:
            first, last = b.batches[0], b.batches[-1]
            latency = f"{first.p50_ms:.1f} ms"
            throughput = f"{last.throughput:.0f}/s"
            speedup = f"{first.latency_speedup:.2f}x"
        else:
            latency = throughput = speedup = "—"
        rows.append([m.name, f"{value:.4f}", retention, _params(params), _mib(size), latency, throughput, speedup])
    return header, rows


def figures_table(spec: ReportSpec) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the "Figures" table: each of ``spec.figures`` per model, with its
    retention (the model's figure / the teacher's)."""
    teacher = next(m for m in spec.models if m.role == "teacher")
    header = ["model", *(f"{name} (retention)" for name in spec.figures)]
    rows = []
    for m in spec.models:
        cells = [m.name]
        for name in spec.figures:
            value, reference = m.metrics.get(name), teacher.metrics.get(name)
            if value is None:
                cells.append("—")
            elif m.role == "teacher" or not reference:
                cells.append(f"{value:.4f}")
            else:
                cells.append(f"{value:.4f} ({100 * value / reference:.1f}%)")
        rows.append(cells)
    return header, rows


def _trained(folder: Path | None) -> DistillResult | FinetuneResult | None:
    """The ``metrics.json`` of a distilled or fine-tuned model folder."""
    if folder is None:
        return None
    path = folder / "metrics.json"
    return read(DistillResult, path) or read(FinetuneResult, path)


def _summary_params(folder: Path | None) -> int | None:
    result = _trained(folder)
    if isinstance(result, DistillResult):
        return result.student.parameters
    return result.parameters if result is not None else None


def _summary_size(folder: Path | None) -> int | None:
    result = _trained(folder)
    if isinstance(result, DistillResult):
        return result.student.size_bytes
    return result.size_bytes if result is not None else None


def student_shape(spec: ReportSpec) -> list[str]:
    """Lines describing the distilled student: shape, init, layer map, stages."""
    student = next((m for m in spec.models if m.role == "student"), None)
    info = read(DistillResult, student.folder / "metrics.json") if student and student.folder else None
    if info is None:
        return []
    s, t = info.student, info.teacher
    lines = [
        f"Teacher: {t.layers} layers, hidden {t.hidden}, {t.parameters:,} parameters ({t.path}).",
        f"Student: {s.layers} layers, hidden {s.hidden}, {s.heads} heads, feed-forward {s.intermediate}, "
        f"{s.parameters:,} parameters ({t.parameters / s.parameters:.1f}x fewer).",
    ]
    if s.init:
        lines.append(f"Initialisation: {s.init}.")
    mapping = ", ".join(f"student {i + 1} ← teacher {g}" for i, g in enumerate(s.layer_map or ()))
    lines.append(f"Layer map (embeddings ← embeddings; prediction ← prediction): {mapping}.")
    for name, stage in info.stages.items():
        lines.append(
            f"Stage {name}: {stage.epochs:g} epochs, learning rate {stage.learning_rate:g}, batch "
            f"{stage.batch_size}, {stage.steps} steps in {stage.seconds:.0f} s, best at step "
            f"{stage.best_step}."
        )
    lines.append(f"Training examples of the distillation: {info.train_examples:,}.")
    weights = ", ".join(f"{k} {v:g}" for k, v in info.loss_weights.items())
    if weights:
        lines.append(f"Loss weights: {weights}; temperature {info.temperature:g}.")
    return lines


def environment(benchmark: BenchmarkResult | None) -> list[tuple[str, str]]:
    """Machine and package versions (the benchmark's record of the CPU/GPU when there is one)."""
    record = {**current_environment(), **(benchmark.environment if benchmark else {})}
    env = [("CPU", str(record["cpu"]))]
    if record.get("logical_cores"):
        env.append(("logical cores", str(record["logical_cores"])))
    env.append(("GPU", str(record.get("gpu", "none used"))))
    env += [(key, str(record[key])) for key in ("platform", "python", *PACKAGES) if record.get(key)]
    return env


# ---------------------------------------------------------------------------------------------
# Rendering


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}img{max-width:100%}pre{background:#f5f5f5;padding:1em;"
    "overflow-x:auto}"
)


def write_report(output: Path, spec: ReportSpec) -> ReportResult:
    """Write ``report.md``, ``report.html``, ``report.json`` (the results table) and ``plots/*.png``
    into ``output``."""
    output = Path(output)
    plots = output / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    benchmark = read(BenchmarkResult, spec.benchmark / "benchmark.json") if spec.benchmark is not None else None

    runs: dict[str, list[dict]] = {}
    for m in spec.models:
        runs.update(model_logs(m))
    figures: list[tuple[str, Path]] = []
    plot_metrics(spec.models, spec.main_metric, spec.split, plots / "metrics.png")
    figures.append((f"{spec.split} {spec.main_metric} per model", plots / "metrics.png"))
    if plot_losses(runs, plots / "losses.png"):
        figures.append(("Training loss per stage and loss part", plots / "losses.png"))
    if plot_dev(runs, spec.main_metric, plots / "dev_metric.png"):
        figures.append((f"Dev {spec.main_metric} over training", plots / "dev_metric.png"))
    if plot_compression(compression_points(spec, benchmark), spec.main_metric, spec.split, plots / "compression.png"):
        figures.append(("Accuracy against size and speed (pruning after distillation)", plots / "compression.png"))
    if spec.benchmark is not None and (spec.benchmark / "benchmark.png").is_file():
        figures.append(("Speed (tinybert benchmark)", spec.benchmark / "benchmark.png"))

    header, rows = results_table(spec, benchmark)
    shape = student_shape(spec)
    env = environment(benchmark)
    threads = benchmark.models[0].threads if benchmark else None
    speed_note = (
        f"Speed: `tinybert benchmark`, sequence length {benchmark.settings.get('seq_len')}, "
        f"{threads} thread{'' if threads == 1 else 's'}, each model in its own process; speedup = teacher's "
        "batch-1 p50 latency / the model's."
        if benchmark
        else "Speed: not measured."
    )

    md: list[str] = [f"# {spec.title}", ""]
    md += [*spec.notes, ""] if spec.notes else []
    md += ["## Results", "", _md_table(header, rows), "", speed_note, ""]
    if spec.figures:
        md += ["## Figures", "", _md_table(*figures_table(spec)), "", spec.figures_note, ""]
    if shape:
        md += ["## Student", "", *(f"- {line}" for line in shape), ""]
    md += ["## Plots", ""]
    for caption, path in figures:
        md += [f"### {caption}", "", f"![{caption}]({_relative(path, output)})", ""]
    md += ["## How it was made", "", "```bash", spec.command, "```", ""]
    if spec.recipe:
        md += ["Recipe:", "", "```yaml", spec.recipe.rstrip(), "```", ""]
    md += ["## Environment", "", _md_table(["", "value"], [[k, v] for k, v in env]), ""]
    (output / "report.md").write_text("\n".join(md))

    body = [f"<h1>{html.escape(spec.title)}</h1>"]
    body += [f"<p>{html.escape(line)}</p>" for line in spec.notes]
    body += ["<h2>Results</h2>", _html_table(header, rows), f"<p>{html.escape(speed_note.replace('`', ''))}</p>"]
    if spec.figures:
        body += ["<h2>Figures</h2>", _html_table(*figures_table(spec)), f"<p>{html.escape(spec.figures_note)}</p>"]
    if shape:
        body += ["<h2>Student</h2><ul>", *(f"<li>{html.escape(line)}</li>" for line in shape), "</ul>"]
    body += ["<h2>Plots</h2>"]
    for caption, path in figures:
        body += [f"<h3>{html.escape(caption)}</h3>", f'<img alt="{html.escape(caption)}" src="{_image(path)}">']
    body += ["<h2>How it was made</h2>", f"<pre>{html.escape(spec.command)}</pre>"]
    if spec.recipe:
        body += ["<p>Recipe:</p>", f"<pre>{html.escape(spec.recipe)}</pre>"]
    body += ["<h2>Environment</h2>", _html_table(["", "value"], [[k, v] for k, v in env])]
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(spec.title)}</title><style>{STYLE}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )
    (output / "report.html").write_text(page)
    summary = {"header": header, "rows": rows, "figures": [str(p) for _, p in figures]}
    write_json(output / "report.json", summary)
    return ReportResult(**summary, report=str(output / "report.html"), output=str(output))


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path.resolve())


# ---------------------------------------------------------------------------------------------
# Model card


def _pipeline_task(folder: Path) -> str:
    """The ``pipeline()`` task of the model in ``folder``: its task type's, from ``config.json``
    (a sentence embedder's head record, else the architectures; a folder without a config is taken
    as a sequence classifier)."""
    config = SimpleNamespace(**(read_json(folder / "config.json") or {}))
    return task_type_for_config(config, f"model card: {folder}", folder).pipeline_task


def write_model_card(spec: ReportSpec, dataset: str, base_model: str) -> Path:
    """Write the distilled student's ``README.md`` (Hugging Face model card: YAML front matter with
    the metrics on the report's split, then how the model was made)."""
    import yaml

    student = next((m for m in spec.models if m.role == "student"), None)
    if student is None or student.folder is None:
        raise TinyBertError("model card: the report has no student folder")
    teacher = next(m for m in spec.models if m.role == "teacher")
    pipeline_task = _pipeline_task(student.folder)
    sentences = pipeline_task == "feature-extraction"  # a sentence embedder: sentence-transformers loads it
    front = {
        "library_name": "sentence-transformers" if sentences else "transformers",
        "pipeline_tag": pipeline_task,
        "tags": ["tinybert", "knowledge-distillation", pipeline_task],
        "base_model": base_model,
        "model-index": [
            {
                "name": student.folder.name,
                "results": [
                    {
                        "task": {"type": pipeline_task, "name": pipeline_task.replace("-", " ").title()},
                        "dataset": {"name": dataset, "type": dataset, "split": spec.split},
                        "metrics": [
                            {"type": name, "value": round(float(value), 4), "name": f"{spec.split} {name}"}
                            for name, value in student.metrics.items()
                        ],
                    }
                ],
            }
        ],
    }
    value, reference = student.metrics[spec.main_metric], teacher.metrics[spec.main_metric]
    kept = f"{100 * value / reference:.1f}%" if reference else "n/a"
    baseline = next((m for m in spec.models if m.role == "baseline"), None)
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False).rstrip(),
        "---",
        "",
        f"# {student.folder.name}",
        "",
        "A student distilled by [tinybert](https://arxiv.org/abs/1909.10351)-style task distillation from "
        + (
            f"the sentence embedder `{base_model}` on {dataset}."
            if sentences
            else f"a teacher fine-tuned from `{base_model}` on {dataset}."
        ),
        "",
        f"- {spec.split} {spec.main_metric}: **{value:.4f}** (teacher {reference:.4f}; {kept} of the teacher)",
    ]
    if baseline is not None:
        score = baseline.metrics[spec.main_metric]
        lines.append(f"- the same student trained on the labels only: {score:.4f} {spec.main_metric}")
    lines += ["", "## How it was made", "", *(f"- {line}" for line in student_shape(spec)), ""]
    lines += ["```bash", spec.command, "```", "", "## Use", "", "```python"]
    if sentences:
        lines += ["from sentence_transformers import SentenceTransformer", ""]
        lines += [f"model = SentenceTransformer('{student.folder.name}')", "vectors = model.encode(texts)", "```", ""]
    else:
        lines += ["from transformers import pipeline", ""]
        lines += [f"classifier = pipeline('{pipeline_task}', model='{student.folder.name}')", "```", ""]
    if pipeline_task == "question-answering":  # gone from transformers 5: say what works there
        lines[-2:-2] = [
            "# transformers >= 5 has no question-answering pipeline; there:",
            "# tinybert predict --model MODEL --input rows.jsonl  (question, context -> answer, score, start, end)",
        ]
    path = student.folder / "README.md"
    path.write_text("\n".join(lines))
    return path
