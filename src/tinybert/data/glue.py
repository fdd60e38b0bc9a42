"""Task specifications for the GLUE benchmark (and the shape of a custom task).

A :class:`TaskSpec` says what a task looks like to the rest of the toolkit: single sentences or
pairs, classification or regression, the display names of the labels (these become the model's
``id2label``), the metric used to pick the best checkpoint and the default sequence length.
Each GLUE task's entry also says how its files are laid out (:class:`GlueFiles`); the readers
(:mod:`tinybert.data.readers`) read them by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinybert.errors import TinyBertError

__all__ = ["GLUE_TASKS", "GlueFiles", "TaskSpec", "get_task", "normalize_task_name"]

SINGLE_SENTENCE_MAX_LENGTH = 64
PAIR_MAX_LENGTH = 128


@dataclass(frozen=True)
class GlueFiles:
    """Where a GLUE task keeps its files and which columns hold texts and labels."""

    folder: str
    """Canonical folder name in ``glue_data/`` (``SST-2``, ``CoLA``, ...)."""
    text_columns: tuple[str, ...]
    """Header names of text_a (and text_b)."""
    label_column: str
    raw_labels: tuple[str, ...] | None
    """The label values as written in the files, index-aligned with ``TaskSpec.label_names``
    (``("0", "1")``); None for regression."""
    test_files: tuple[tuple[str, str], ...] = (("test", "test.tsv"),)
    """Split name -> file name of the unlabelled test files."""
    headerless_columns: tuple[str, ...] | None = None
    """Names of the columns of a header-less file (CoLA)."""
    skip_malformed: bool = False
    """Skip (and count) rows with a wrong number of fields (QQP's known broken rows)."""


@dataclass(frozen=True)
class TaskSpec:
    """What a task is: inputs, labels, metric and default sequence length.

    Attributes:
        name: ``"sst2"``, ``"mnli"``, ... or ``"custom"``.
        is_regression: True for a single float target (STS-B), False for classification.
        label_names: display names of the classes in GLUE's canonical order (index = class id);
            None for regression.
        main_metric: key of the metrics dict used to pick the best checkpoint.
        max_seq_length: default maximum number of tokens per example.
        is_pair: True when every example has two texts.
        train_file: training file name inside the task folder (GLUE); None for custom data.
        eval_files: split name -> file name of the labelled evaluation files (GLUE).
        files: folder, columns and raw label values of a GLUE task's files; None for custom data.
    """

    name: str
    is_regression: bool
    label_names: tuple[str, ...] | None
    main_metric: str
    max_seq_length: int
    is_pair: bool
    train_file: str | None
    eval_files: dict[str, str] = field(default_factory=dict)
    files: GlueFiles | None = field(default=None, compare=False)

    def __hash__(self) -> int:
        # ``eval_files`` is a dict, which would make the generated hash fail.
        return hash((self.name, self.is_regression, self.label_names, self.main_metric, self.is_pair))

    @property
    def num_labels(self) -> int:
        """Size of the model's output layer: 1 for regression, else the number of classes."""
        return 1 if self.is_regression or not self.label_names else len(self.label_names)

    def label_map(self) -> dict[str, str] | None:
        """Raw label value in the GLUE files -> display name; None for regression."""
        if self.files is None or self.files.raw_labels is None or self.label_names is None:
            return None
        return dict(zip(self.files.raw_labels, self.label_names, strict=True))


ZERO_ONE = ("0", "1")


def _glue(
    name: str,
    label_names: tuple[str, ...] | None,
    main_metric: str,
    files: GlueFiles,
    eval_files: dict[str, str] | None = None,
) -> TaskSpec:
    is_pair = len(files.text_columns) == 2
    return TaskSpec(
        name=name,
        is_regression=label_names is None,
        label_names=label_names,
        main_metric=main_metric,
        max_seq_length=PAIR_MAX_LENGTH if is_pair else SINGLE_SENTENCE_MAX_LENGTH,
        is_pair=is_pair,
        train_file="train.tsv",
        eval_files=eval_files if eval_files is not None else {"dev": "dev.tsv"},
        files=files,
    )


_NLI = ("entailment", "not_entailment")

GLUE_TASKS: dict[str, TaskSpec] = {
    "sst2": _glue("sst2", ("negative", "positive"), "accuracy", GlueFiles("SST-2", ("sentence",), "label", ZERO_ONE)),
    "cola": _glue(
        "cola",
        ("unacceptable", "acceptable"),
        "mcc",
        GlueFiles(
            "CoLA",
            ("sentence",),
            "label",
            ZERO_ONE,
            headerless_columns=("source", "label", "original_mark", "sentence"),
        ),
    ),
    # MRPC/QQP checkpoints are chosen on the mean of accuracy and F1: F1 alone rewards predicting
    # the majority (positive) class everywhere (MRPC dev: F1 81.2 at 68.4% accuracy).
    "mrpc": _glue(
        "mrpc",
        ("not_equivalent", "equivalent"),
        "accuracy_and_f1",
        GlueFiles("MRPC", ("#1 String", "#2 String"), "Quality", ZERO_ONE),
    ),
    "stsb": _glue("stsb", None, "pearson", GlueFiles("STS-B", ("sentence1", "sentence2"), "score", None)),
    "qqp": _glue(
        "qqp",
        ("not_duplicate", "duplicate"),
        "accuracy_and_f1",
        GlueFiles("QQP", ("question1", "question2"), "is_duplicate", ZERO_ONE, skip_malformed=True),
    ),
    "mnli": _glue(
        "mnli",
        ("contradiction", "entailment", "neutral"),
        "accuracy",
        GlueFiles(
            "MNLI",
            ("sentence1", "sentence2"),
            "gold_label",
            ("contradiction", "entailment", "neutral"),
            test_files=(("test_matched", "test_matched.tsv"), ("test_mismatched", "test_mismatched.tsv")),
        ),
        eval_files={"dev_matched": "dev_matched.tsv", "dev_mismatched": "dev_mismatched.tsv"},
    ),
    "qnli": _glue("qnli", _NLI, "accuracy", GlueFiles("QNLI", ("question", "sentence"), "label", _NLI)),
    "rte": _glue("rte", _NLI, "accuracy", GlueFiles("RTE", ("sentence1", "sentence2"), "label", _NLI)),
    "wnli": _glue(
        "wnli",
        ("not_entailment", "entailment"),
        "accuracy",
        GlueFiles("WNLI", ("sentence1", "sentence2"), "label", ZERO_ONE),
    ),
}
"""The one table of GLUE tasks: labels, metric, lengths and file layout per task."""


def normalize_task_name(name: str) -> str:
    """``"SST-2"`` -> ``"sst2"``, ``"STS_B"`` -> ``"stsb"``: lower case without ``-``/``_``/spaces."""
    return "".join(ch for ch in str(name).strip().lower() if ch not in "-_ ")


def get_task(name: str) -> TaskSpec:
    """Return the GLUE task called ``name`` (case, ``-`` and ``_`` are ignored: ``"SST-2"`` works).

    Raises:
        TinyBertError: for an unknown name, listing the valid ones.
    """
    key = normalize_task_name(name)
    if key not in GLUE_TASKS:
        valid = ", ".join(GLUE_TASKS)
        raise TinyBertError(f"unknown task '{name}': expected one of {valid}")
    return GLUE_TASKS[key]
