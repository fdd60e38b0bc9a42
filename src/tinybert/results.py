"""What each command returns: one typed, frozen dataclass per result file, read by the CLI's printout
(:mod:`tinybert.cli.render`), the report and the recipe instead of string keys.

A stage writes its record as JSON (``metrics.json``, ``pruning.json``, ``export.json``,
``benchmark.json``, ``augment.json``): the file's format is unchanged and is the contract with users'
scripts. :func:`parse` turns such a record, or the file itself (:func:`read`), into its dataclass; the
tests parse every command's real output with ``strict=True``, so a key a stage writes and no field
declares fails there. ``dataclasses.asdict(result)`` gives the record back as plain data.

Open-ended parts stay plain data: metrics by split and name (:data:`Metrics`), the environment
record, per-session timings, a student's init description.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from tinybert.errors import TinyBertError

Metrics = dict[str, dict[str, float]]
"""Split -> metric -> value, e.g. ``{"validation": {"accuracy": 0.91}}``."""

INLINE = {"inline": True}
"""Field metadata: the record's keys no other field names, kept in this dict field (a student's init
description, merged into its block by the stage)."""

R = TypeVar("R")


# ---------------------------------------------------------------------------------------------
# Training runs


@dataclass(frozen=True)
class StageSummary:
    """One training run of the loop: a distillation stage, or one learning rate of a fine-tuning search."""

    precision: str
    epochs: float
    learning_rate: float
    batch_size: int
    global_batch_size: int
    steps: int
    seconds: float
    best_step: int | None
    best: dict[str, float] | None
    """The dev figures at the best step (None without a dev set)."""
    sessions: list[dict[str, Any]]
    """One entry per process start: ``from_step``, ``to_step``, ``seconds`` (several after a resume)."""
    teacher_cache: dict[str, Any] | None = None
    """The intermediate stage's stored teacher states: ``stored``, ``bytes`` (and ``seconds``)."""


@dataclass(frozen=True)
class ModelSummary:
    """A teacher's or a student's block in ``metrics.json``."""

    parameters: int
    layers: int
    hidden: int
    path: str | None = None
    """The folder or hub name it was loaded from (the teacher)."""
    eval: Metrics | None = None
    size_bytes: int | None = None
    heads: int | None = None
    intermediate: int | None = None
    layer_map: list[int] | None = None
    """Teacher layer (1-based) each student layer learns from."""
    init: str | None = None
    """How the student began: ``teacher``, ``prune``, ``random``, ``folder PATH``."""
    vocab: dict[str, Any] | None = None
    """Vocabulary pruning's figures (``--prune-vocab``)."""
    details: dict[str, Any] = field(default_factory=dict, metadata=INLINE)
    """The rest of the init description (shape, copied tensors, what pruning kept)."""


@dataclass(frozen=True)
class FinetuneResult:
    """``tinybert finetune``: ``metrics.json`` of the fine-tuned model."""

    model: str
    task: str
    train_examples: int
    features: dict[str, int]
    eval: Metrics
    parameters: int
    size_bytes: int
    layers: int
    hidden: int
    student: dict[str, Any] | None
    """The student's init description when ``--student`` cut a new model; None otherwise."""
    runs: list[StageSummary]
    """One per learning rate searched."""
    best_learning_rate: float
    max_seq_length: int
    environment: dict[str, Any]
    command: str = "finetune"


@dataclass(frozen=True)
class DistillResult:
    """``tinybert distill``: ``metrics.json`` of the student."""

    task: str
    main_metric: str
    train_examples: int
    features: dict[str, int]
    teacher: ModelSummary
    student: ModelSummary
    retention: Metrics
    """Student / teacher per split and metric (None where the teacher scored 0)."""
    stages: dict[str, StageSummary]
    max_seq_length: int
    temperature: float
    loss_weights: dict[str, float]
    environment: dict[str, Any]
    command: str = "distill"

    @property
    def kept(self) -> tuple[str, str, float | None]:
        """(split, metric, retention) of the main metric on the first split."""
        split = next(iter(self.retention))
        return split, self.main_metric, self.retention[split].get(self.main_metric)


@dataclass(frozen=True)
class GeneralResult:
    """``tinybert general-distill``: ``metrics.json`` of the general student."""

    teacher: ModelSummary
    student: ModelSummary
    corpus: dict[str, Any]
    steps: int
    batch_size: int
    gradient_accumulation_steps: int
    tokens_seen: int
    train_seconds: float
    tokens_per_second: float | None
    sessions: list[dict[str, Any]]
    eval: dict[str, float]
    """Held-out losses, ``eval_<part>``."""
    learning_rate: float
    warmup_ratio: float
    loss_weights: dict[str, float]
    seed: int
    environment: dict[str, Any]
    command: str = "general-distill"


# ---------------------------------------------------------------------------------------------
# Pruning


@dataclass(frozen=True)
class PrunedShape:
    """The encoder before or after ``tinybert prune``."""

    layers: int
    hidden: int
    heads: int
    intermediate: int
    parameters: int
    eval: Metrics
    size_bytes: int | None = None


@dataclass(frozen=True)
class PruneResult:
    """``tinybert prune``: ``pruning.json``."""

    model: str
    task: str
    before: PrunedShape
    after: PrunedShape
    cut: dict[str, Any]
    """What was kept: teacher layers, hidden dimensions, heads, neurons, and the estimators used."""
    environment: dict[str, Any]
    budget: dict[str, Any] | None = None
    """The shape a ``--sparsity``/``--target-params``/``--target-latency`` budget chose."""
    vocab: dict[str, Any] | None = None
    """``before`` and ``after`` piece counts with ``--prune-vocab``."""
    command: str = "prune"


# ---------------------------------------------------------------------------------------------
# Deployment


@dataclass(frozen=True)
class Parity:
    """The exported model against the PyTorch one, on the same texts."""

    samples: int
    source: str
    max_abs_diff: float
    mean_abs_diff: float
    argmax_agreement: float | None
    max_diff_allowed: float | None
    min_agreement_allowed: float | None
    failures: list[str]
    outputs_max_abs_diff: dict[str, float]
    decoded_agreement: float | None
    passed: bool
    min_similarity: float | None = None
    """Sentence embeddings: the lowest cosine of one text's exported and PyTorch embeddings."""


@dataclass(frozen=True)
class ExportResult:
    """``tinybert export``: ``export.json`` in the exported folder."""

    source_model: str
    format: str
    quantize: str
    kind: str
    file: str
    opset: int | None
    inputs: list[str]
    outputs: list[str]
    task_type: str
    dynamic_axes: dict[str, int] | None
    parameters: int
    size_bytes: int
    source_size_bytes: int
    vocab: dict[str, Any] | None
    seconds: float
    parity: Parity
    versions: dict[str, Any]
    fp32_matrices: list[str] = field(default_factory=list)
    """int8 ONNX: the kinds of weight matrix left in fp32 (--keep-fp32)."""
    split_outliers: dict[str, int] = field(default_factory=dict)
    """int8 ONNX: the weight matrices (modules) whose outlier input channels are computed in fp32
    (--split-outliers) -> how many channels each."""


@dataclass(frozen=True)
class BatchTiming:
    """One batch size of one model in ``benchmark.json``."""

    batch_size: int
    repeats: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    throughput: float
    """Samples per second."""
    latency_speedup: float
    """The first model's p50 / this one's."""
    throughput_speedup: float


@dataclass(frozen=True)
class BenchmarkModel:
    """One model of ``benchmark.json``."""

    model: str
    kind: str
    parameters: int | None
    size_bytes: int | None
    threads: int
    batches: list[BatchTiming]
    size_ratio: float | None
    parameter_ratio: float | None
    device: str = "cpu"
    peak_rss_mb: float | None = None
    model_memory_mb: float | None = None


@dataclass(frozen=True)
class BenchmarkResult:
    """``tinybert benchmark``: ``benchmark.json``."""

    environment: dict[str, Any]
    settings: dict[str, Any]
    models: list[BenchmarkModel]

    def by_path(self) -> dict[str, BenchmarkModel]:
        """Its models by resolved path."""
        return {str(Path(m.model).resolve()): m for m in self.models}


@dataclass(frozen=True)
class EvaluationRecord:
    """A model's figures as ``tinybert evaluate --output`` and the recipe's ``eval/NAME.json`` keep them."""

    model: str
    eval: Metrics
    task: str | None = None
    reference: str | None = None
    """Sentence embeddings: the model compared with (``--reference``)."""


@dataclass(frozen=True)
class AugmentResult:
    """``tinybert augment``: ``augment.json`` beside the augmented file."""

    input: str
    output: str
    model: str
    candidates: str
    device: str
    n: int
    p: float
    k: int
    seed: int
    examples: int
    variants: int
    rows_written: int
    seconds: float
    examples_per_second: float | None
    word_vectors: str | None = None
    replace_polarity_words: bool | None = None
    replaceable_words: int | None = None
    task_type: str | None = None
    entity_words: str | None = None
    entity_words_with_candidates_kept: int | None = None
    model_load_seconds: float | None = None
    cpu_seconds: float | None = None


@dataclass(frozen=True)
class PredictResult:
    """``tinybert predict``: what was labelled."""

    rows: int
    labels: dict[str, int]
    """Rows per predicted label."""
    output: str


@dataclass(frozen=True)
class ReportResult:
    """``tinybert run`` and ``tinybert demo``: the report's results table (``report.json``)."""

    header: list[str]
    rows: list[list[str]]
    figures: list[str]
    """The plots, as PNG paths."""
    report: str
    """``report.html``."""
    output: str
    """The run folder."""


# ---------------------------------------------------------------------------------------------
# Reading records


def parse(cls: type[R], record: dict[str, Any], strict: bool = False) -> R:
    """``record`` (a result file's JSON) as ``cls``. Keys no field declares go to the ``INLINE``
    field where there is one, else are dropped (a file from a newer tinybert), or, with ``strict``,
    are an error."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    inline = next((f.name for f in fields(cls) if f.metadata.get("inline")), None)  # type: ignore[arg-type]
    values = {k: _convert(hints[k], v, strict) for k, v in record.items() if k in names and k != inline}
    rest = {k: v for k, v in record.items() if k not in names}
    if inline is not None:
        values[inline] = rest
    elif rest and strict:
        raise TinyBertError(f"{cls.__name__}: no field for {', '.join(sorted(rest))}")
    try:
        return cls(**values)
    except TypeError as exc:  # a record from an older tinybert lacks a field
        raise TinyBertError(f"{cls.__name__}: {exc}") from None


def read(cls: type[R], path: Path) -> R | None:
    """The result file at ``path`` as ``cls``; None when there is none or it is another command's."""
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    command = next((f.default for f in fields(cls) if f.name == "command"), None)  # type: ignore[arg-type]
    if command is not None and record.get("command") != command:
        return None
    return parse(cls, record)


def _convert(hint: Any, value: Any, strict: bool) -> Any:
    """``value`` as the type ``hint`` names: dataclasses (alone, optional, in a list or a dict's
    values) are parsed; everything else stays as the JSON gave it."""
    if value is None:
        return None
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(inner[0], value, strict) if len(inner) == 1 else value
    if is_dataclass(hint):
        return parse(hint, value, strict)  # type: ignore[arg-type]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is list and args and is_dataclass(args[0]):
        return [parse(args[0], v, strict) for v in value]  # type: ignore[arg-type]
    if origin is dict and len(args) == 2 and is_dataclass(args[1]):
        return {k: parse(args[1], v, strict) for k, v in value.items()}  # type: ignore[arg-type]
    return value
