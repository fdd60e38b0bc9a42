"""Task specifications for the GLUE benchmark (and the shape of a custom task).

A :class:`TaskSpec` says what a task looks like to the rest of the toolkit: single sentences or
pairs, classification or regression, the display names of the labels (these become the model's
``id2label``), the metric used to pick the best checkpoint and the default sequence length.
How a task's files are laid out on disk is the readers' business (:mod:`tinybert.data.readers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinybert.errors import TinyBertError

__all__ = ["GLUE_TASKS", "TaskSpec", "get_task"]

SINGLE_SENTENCE_MAX_LENGTH = 64
PAIR_MAX_LENGTH = 128


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
    """

    name: str
    is_regression: bool
    label_names: tuple[str, ...] | None
    main_metric: str
    max_seq_length: int
    is_pair: bool
    train_file: str | None
    eval_files: dict[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        # ``eval_files`` is a dict, which would make the generated hash fail.
        return hash((self.name, self.is_regression, self.label_names, self.main_metric, self.is_pair))

    @property
    def num_labels(self) -> int:
        """Size of the model's output layer: 1 for regression, else the number of classes."""
        return 1 if self.is_regression or not self.label_names else len(self.label_names)


def _glue(
    name: str,
    label_names: tuple[str, ...] | None,
    main_metric: str,
    is_pair: bool,
    eval_files: dict[str, str] | None = None,
) -> TaskSpec:
    return TaskSpec(
        name=name,
        is_regression=label_names is None,
        label_names=label_names,
        main_metric=main_metric,
        max_seq_length=PAIR_MAX_LENGTH if is_pair else SINGLE_SENTENCE_MAX_LENGTH,
        is_pair=is_pair,
        train_file="train.tsv",
        eval_files=eval_files if eval_files is not None else {"dev": "dev.tsv"},
    )


GLUE_TASKS: dict[str, TaskSpec] = {
    "sst2": _glue("sst2", ("negative", "positive"), "accuracy", is_pair=False),
    "cola": _glue("cola", ("unacceptable", "acceptable"), "mcc", is_pair=False),
    # MRPC/QQP checkpoints are chosen on the mean of accuracy and F1: F1 alone rewards predicting
    # the majority (positive) class everywhere (MRPC dev: F1 81.2 at 68.4% accuracy).
    "mrpc": _glue("mrpc", ("not_equivalent", "equivalent"), "accuracy_and_f1", is_pair=True),
    "stsb": _glue("stsb", None, "pearson", is_pair=True),
    "qqp": _glue("qqp", ("not_duplicate", "duplicate"), "accuracy_and_f1", is_pair=True),
    "mnli": _glue(
        "mnli",
        ("contradiction", "entailment", "neutral"),
        "accuracy",
        is_pair=True,
        eval_files={"dev_matched": "dev_matched.tsv", "dev_mismatched": "dev_mismatched.tsv"},
    ),
    "qnli": _glue("qnli", ("entailment", "not_entailment"), "accuracy", is_pair=True),
    "rte": _glue("rte", ("entailment", "not_entailment"), "accuracy", is_pair=True),
    "wnli": _glue("wnli", ("not_entailment", "entailment"), "accuracy", is_pair=True),
}


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
