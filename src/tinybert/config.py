"""Validated configuration dataclasses for every command.

Each dataclass checks itself in ``__post_init__`` and raises :class:`TinyBertError` naming the
option, so a bad value fails before any model is loaded. Field names match the CLI options
(``learning_rate`` is ``--learning-rate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tinybert.errors import TinyBertError


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise TinyBertError(message)


@dataclass(frozen=True)
class StudentShape:
    """Size of a student encoder."""

    layers: int
    """Number of Transformer layers (M)."""
    hidden: int
    """Hidden width d'."""
    heads: int
    """Attention heads; must equal the teacher's for the attention loss."""
    intermediate: int
    """Feed-forward width."""

    def __post_init__(self) -> None:
        for name in ("layers", "hidden", "heads", "intermediate"):
            _require(getattr(self, name) >= 1, f"--{name}: expected a positive integer, got {getattr(self, name)}")
        _require(
            self.hidden % self.heads == 0,
            f"--hidden {self.hidden} is not divisible by --heads {self.heads}",
        )


STUDENT_PRESETS: dict[str, StudentShape] = {
    # TinyBERT4 of the paper: 14.5M parameters with a 30522-word vocabulary.
    "tinybert-4l-312": StudentShape(layers=4, hidden=312, heads=12, intermediate=1200),
    # TinyBERT6: BERT-base width, half the depth.
    "tinybert-6l-768": StudentShape(layers=6, hidden=768, heads=12, intermediate=3072),
}


@dataclass(frozen=True)
class DataConfig:
    """Where the task's examples come from: a GLUE task folder, or generic files."""

    task: str | None = None
    """GLUE task name (sst2, cola, mrpc, stsb, qqp, mnli, qnli, rte, wnli); None for generic files."""
    data_dir: Path | None = None
    """Folder with the GLUE task's train.tsv and dev.tsv."""
    train_file: Path | None = None
    """Generic training file (.csv, .tsv or .jsonl); with ``task``, a training file in the task's own
    GLUE format used instead of ``data_dir``'s train.tsv (e.g. the output of ``tinybert augment``)."""
    dev_file: Path | None = None
    """Generic dev file, same format as the training file."""
    text_columns: tuple[str, ...] = ()
    """One or two text columns of the generic files."""
    label_column: str = "label"
    """Label column of the generic files."""
    regression: bool = False
    """Generic files: the label is a real number (regression) rather than a class."""
    max_train_samples: int | None = None
    """Use only the first N training examples."""
    max_eval_samples: int | None = None
    """Use only the first N examples of each evaluation split."""
    max_seq_length: int | None = None
    """Token limit; None: the task's default (64 single sentences, 128 pairs)."""

    def __post_init__(self) -> None:
        if self.task is not None:
            _require(self.data_dir is not None, f"--task {self.task} needs --data-dir (the folder with its TSV files)")
            _require(
                self.dev_file is None,
                "give either --task with --data-dir, or --train/--dev files, not both "
                "(--task takes --train only as a replacement train.tsv, e.g. from tinybert augment)",
            )
        else:
            _require(
                self.train_file is not None or self.dev_file is not None,
                "no data: give --task NAME --data-dir DIR, or --train FILE --dev FILE with --text-column",
            )
            _require(
                1 <= len(self.text_columns) <= 2,
                f"--text-column: expected one or two columns, got {len(self.text_columns)}",
            )
        for name in ("max_train_samples", "max_eval_samples", "max_seq_length"):
            value = getattr(self, name)
            _require(value is None or value >= 1, f"--{name.replace('_', '-')}: expected >= 1, got {value}")

    def paths(self) -> dict[str, Path | None]:
        """The data inputs by option name (an output folder must never overlap them)."""
        return {"--data-dir": self.data_dir, "--train": self.train_file, "--dev": self.dev_file}


@dataclass(frozen=True)
class OptimConfig:
    """One training run of the shared loop (a fine-tuning run or one distillation stage)."""

    epochs: float
    """Passes over the training data (fractions allowed)."""
    learning_rate: float
    """Peak learning rate of AdamW after linear warm-up."""
    batch_size: int = 32
    warmup_ratio: float = 0.1
    """Fraction of the steps spent warming the learning rate up from 0."""
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    """Clip the global gradient norm (over all parameters together) to this; 0 disables."""
    eval_steps: int | None = None
    """Evaluate every N optimizer steps; None: at the end of every epoch."""
    seed: int = 42

    def __post_init__(self) -> None:
        _require(self.epochs > 0, f"epochs: expected > 0, got {self.epochs}")
        _require(self.learning_rate > 0, f"learning rate: expected > 0, got {self.learning_rate}")
        _require(self.batch_size >= 1, f"--batch-size: expected >= 1, got {self.batch_size}")
        _require(0 <= self.warmup_ratio < 1, f"--warmup-ratio: expected in [0, 1), got {self.warmup_ratio}")
        _require(self.weight_decay >= 0, f"--weight-decay: expected >= 0, got {self.weight_decay}")
        _require(self.max_grad_norm >= 0, f"--max-grad-norm: expected >= 0, got {self.max_grad_norm}")
        _require(self.eval_steps is None or self.eval_steps >= 1, "--eval-steps: expected >= 1")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss parts; a part with weight 0 is not computed."""

    attention: float = 1.0
    hidden: float = 1.0
    embedding: float = 1.0
    prediction: float = 1.0
    hard_label: float = 0.0
    """Cross-entropy (or MSE) to the gold labels, added in the prediction stage."""

    def __post_init__(self) -> None:
        for name in ("attention", "hidden", "embedding", "prediction", "hard_label"):
            _require(getattr(self, name) >= 0, f"--{name.replace('_', '-')}-weight: expected >= 0")

    @classmethod
    def parse(cls, spec: str | None) -> LossWeights:
        """``"attention=1,hidden=1,embedding=1,prediction=1,hard_label=0.5"`` (any subset)."""
        if not spec:
            return cls()
        values: dict[str, float] = {}
        for item in spec.split(","):
            key, sep, value = item.partition("=")
            key = key.strip().replace("-", "_")
            _require(
                bool(sep) and key in cls.__dataclass_fields__,
                f"--loss-weights {spec!r}: expected name=value pairs with names {', '.join(cls.__dataclass_fields__)}",
            )
            try:
                values[key] = float(value)
            except ValueError:
                raise TinyBertError(f"--loss-weights {spec!r}: {value!r} is not a number") from None
        return cls(**values)


STAGES = ("intermediate", "prediction", "all")


@dataclass(frozen=True)
class StudentSpec:
    """Which student to build from a teacher, and how to initialise it."""

    student: str | None = None
    """Preset name (tinybert-4l-312, tinybert-6l-768) or a folder whose weights are the init."""
    layers: int | None = None
    hidden: int | None = None
    heads: int | None = None
    intermediate: int | None = None
    init: str = "random"
    """random, or teacher: copy embeddings and mapped teacher layers where shapes allow."""
    layer_map: str | None = None
    """Explicit map, e.g. 3,6,9,12; None: uniform."""

    def __post_init__(self) -> None:
        _require(self.init in ("random", "teacher"), f"--init {self.init!r}: expected random or teacher")
        has_shape_flags = any(v is not None for v in (self.layers, self.hidden, self.heads, self.intermediate))
        if self.student is not None and self.student in STUDENT_PRESETS:
            _require(
                not has_shape_flags,
                f"--student {self.student} is a preset: drop --layers/--hidden/--heads/--intermediate, "
                "or drop --student",
            )
        elif self.student is not None:
            _require(
                Path(self.student).is_dir(),
                f"--student {self.student!r}: expected a preset ({', '.join(STUDENT_PRESETS)}) or a model folder",
            )
            _require(
                not has_shape_flags, "--student FOLDER fixes the shape: drop --layers/--hidden/--heads/--intermediate"
            )
            _require(self.init == "random", "--student FOLDER is already the init: drop --init teacher")

    @property
    def is_folder(self) -> bool:
        return self.student is not None and self.student not in STUDENT_PRESETS

    @property
    def is_given(self) -> bool:
        """True when any student option was set (fine-tuning then trains a student, not the model itself)."""
        return self != StudentSpec()


@dataclass(frozen=True)
class DistillConfig:
    """Task-specific distillation: the TinyBERT recipe's stage 2."""

    teacher: str
    """Fine-tuned teacher: a local folder or a hub id."""
    output: Path
    """Folder for the student (a plain Hugging Face model folder) and its metrics."""
    data: DataConfig
    student: StudentSpec = field(default_factory=StudentSpec)
    stage: str = "all"
    intermediate_optim: OptimConfig = field(default_factory=lambda: OptimConfig(epochs=10, learning_rate=5e-5))
    prediction_optim: OptimConfig = field(default_factory=lambda: OptimConfig(epochs=3, learning_rate=3e-5))
    temperature: float = 1.0
    weights: LossWeights = field(default_factory=LossWeights)
    seed: int = 42
    overwrite: bool = False

    def __post_init__(self) -> None:
        _require(self.stage in STAGES, f"--stage {self.stage!r}: expected one of {', '.join(STAGES)}")
        _require(self.temperature > 0, f"--temperature: expected > 0, got {self.temperature}")


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning a model (usually the teacher) on a task's labels."""

    model: str
    output: Path
    data: DataConfig
    optim: OptimConfig
    learning_rates: Sequence[float] = ()
    """More than one: a search; each is trained and the best on dev is kept."""
    student: StudentSpec = field(default_factory=StudentSpec)
    """When given: fine-tune a student built from ``model`` (the baseline without distillation)."""
    overwrite: bool = False


def default_finetune_lr(hidden_size: int) -> float:
    """Learning rate that gives a strong teacher without tuning, by model width.

    Small encoders need a larger step: measured here, MiniLM-L6-H384 reached MRPC 80.9 acc and
    CoLA MCC 25.0 at 1e-4 but only 72.5 and 11.9 at 2e-5 (3 epochs, batch 32). BERT-base-sized
    models follow the BERT paper's 2e-5..5e-5 range.
    """
    if hidden_size <= 512:
        return 1e-4
    if hidden_size <= 768:
        return 5e-5
    return 2e-5


def layer_map_text(layer_map: str | Sequence[int] | None) -> str | None:
    return layer_map if layer_map is None or isinstance(layer_map, str) else ",".join(str(x) for x in layer_map)


def data_config(
    task: str | None,
    data_dir: str | Path | None,
    train: str | Path | None,
    dev: str | Path | None,
    text_columns: Sequence[str] | str,
    label_column: str,
    regression: bool,
    max_seq_length: int | None,
    max_train_samples: int | None,
    max_eval_samples: int | None,
) -> DataConfig:
    columns = (text_columns,) if isinstance(text_columns, str) else tuple(text_columns)
    as_path = lambda p: None if p is None else Path(p)  # noqa: E731
    return DataConfig(
        task=task,
        data_dir=as_path(data_dir),
        train_file=as_path(train),
        dev_file=as_path(dev),
        text_columns=columns,
        label_column=label_column,
        regression=regression,
        max_seq_length=max_seq_length,
        max_train_samples=max_train_samples,
        max_eval_samples=max_eval_samples,
    )
