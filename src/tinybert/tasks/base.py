"""The task-type protocol and its registry.

A *task type* (sequence classification, token tagging, extractive QA, ...) is one module holding
one object that satisfies :class:`TaskType`: how a task's data is read, featurized and collated,
which Hugging Face head is loaded, which *prediction views* the distillation loss compares, the
hard-label loss, the metrics, the post-processing of outputs into per-row predictions, the
export's output names and the ``transformers.pipeline`` task name. Everything else (the training
loop, the objective, evaluation, the teacher-output cache, export, predict, the report) asks the
task type instead of assuming ``.logits`` of shape (B, C).

A task type is chosen

* for data: by :func:`task_type_for_data` (a data task name registered with
  :func:`register_task_type`'s ``tasks``, else the default ``sequence``: GLUE tasks and generic
  CSV/TSV/JSONL files);
* for a saved model (export, predict, evaluate of an export, the runtime, the model card): by
  :func:`task_type_for_config`, from the config's ``architectures`` (``BertForSequenceClassification``
  ends with the sequence type's ``architecture`` suffix ``ForSequenceClassification``).

A view is a pair ``(scores, mask)``:

* sequence classification / regression: one view, scores (B, C), mask None;
* token tagging: one view, scores (B, L, C), mask (B, L) over the positions that count;
* span extraction: two views (start, end), scores (B, L) each, mask (B, L).

A view with a mask is *per position*: its second dimension is the sequence, and it is cut to each
example's real length (its attention mask's sum) when kept per example (teacher cache, metrics).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch

from tinybert.errors import TinyBertError
from tinybert.options import OptionError

if TYPE_CHECKING:
    from transformers import PretrainedConfig

    from tinybert.config import DataConfig
    from tinybert.data.glue import TaskSpec
    from tinybert.data.readers import TaskData

__all__ = [
    "DEFAULT_TASK_TYPE",
    "TaskType",
    "View",
    "get_task_type",
    "per_example",
    "register_task_type",
    "split_metrics",
    "task_type_for_architectures",
    "task_type_for_config",
    "task_type_for_data",
    "task_type_for_model",
    "task_types",
    "text_batches",
    "unregister_task_type",
]

View = tuple[torch.Tensor, torch.Tensor | None]
"""``(scores, mask)``: scores (B, C) with mask None, or (B, L, ...) with a (B, L) mask."""

Collator = Callable[[list[dict]], dict[str, torch.Tensor]]

DEFAULT_TASK_TYPE = "sequence"


class TaskType(Protocol):
    """What the toolkit needs to know about one kind of task (see the module docstring).

    ``examples`` are the task type's own objects (:class:`~tinybert.data.readers.Example` for
    sequences); only the task type's functions look inside them. ``spec`` carries the data set's
    labels, metric, lengths and whether the target is a regression value.
    """

    name: str
    """Registry key, e.g. ``"sequence"``."""
    architecture: str
    """Suffix of the head's architecture name in a saved config, e.g. ``"ForSequenceClassification"``."""
    head_class: Any
    """The ``transformers`` auto class of the head, e.g. ``AutoModelForSequenceClassification``."""
    pipeline_task: str
    """The ``transformers.pipeline`` task the saved model serves, e.g. ``"text-classification"``."""
    output_names: tuple[str, ...]
    """Names of the head's outputs, in view order: ONNX output names and runtime output keys."""
    prediction_columns: tuple[str, ...]
    """The columns :meth:`postprocess` adds to every predicted row, e.g. ``("predicted_label", "score")``."""

    def read(self, data: DataConfig, need_train: bool) -> TaskData:
        """The task's examples per split (train only when ``need_train``), with its spec."""
        ...

    def examples_from_texts(self, texts: Sequence[Sequence[str]]) -> list[Any]:
        """Unlabelled examples from text fields (one list of 1-2 texts per row: predict, export parity)."""
        ...

    def texts(self, example: Any) -> list[str]:
        """An example's text fields, as a row of ``predict`` holds them (the export's parity text
        from a task's evaluation split)."""
        ...

    def featurize(
        self,
        examples: Sequence[Any],
        tokenizer: Any,
        max_seq_length: int,
        label2id: Mapping[str, int] | None,
        regression: bool = False,
    ) -> list[dict]:
        """The one tokenisation of the task (training, the export parity check and predict all
        call it): unpadded features with the model inputs (lists of ints), ``labels`` when the
        examples have labels (``label2id`` maps label names to ids; None for regression targets
        or unlabelled examples), and any extra list fields :meth:`views` reads (the loader pads
        them with zeros)."""
        ...

    def collator(self, tokenizer: Any) -> Collator:
        """Pads a list of features holding model inputs and ``labels`` into a batch of tensors."""
        ...

    def views(self, outputs: Mapping[str, torch.Tensor], batch: Mapping[str, torch.Tensor]) -> list[View]:
        """The prediction views of a model's outputs (by output name) on ``batch``."""
        ...

    def soft_loss(
        self, student: list[View], teacher: list[torch.Tensor], temperature: float, regression: bool
    ) -> torch.Tensor:
        """Scalar distillation loss of the student's views against the teacher's scores (same
        shapes; the student's masks apply to both)."""
        ...

    def hard_loss(self, student: list[View], labels: torch.Tensor, regression: bool) -> torch.Tensor:
        """Scalar loss of the student's views against the gold ``labels`` of the batch."""
        ...

    def metrics(
        self,
        spec: TaskSpec,
        predictions: list[list[np.ndarray]],
        labels: list[np.ndarray],
        positive_label: int | None,
    ) -> dict[str, float]:
        """Metrics from per-example predictions (``predictions[v][i]``: view v of example i, cut to
        its length) and per-example labels; must contain ``spec.main_metric``."""
        ...

    def postprocess(
        self,
        predictions: list[list[np.ndarray]],
        examples: Sequence[Any],
        features: Sequence[dict],
        config: PretrainedConfig,
    ) -> list[dict[str, Any]]:
        """Per-row predictions (output columns -> value) as the task's ``pipeline()`` gives them."""
        ...


_TYPES: dict[str, TaskType] = {}
_DATA_TASKS: dict[str, str] = {}  # data task name (normalised) -> task type name


def register_task_type(task_type: TaskType, tasks: Sequence[str] = ()) -> TaskType:
    """Register ``task_type`` (replacing one of the same name); ``tasks``: data task names
    (``--task NAME``) whose data it reads. Returns ``task_type``."""
    from tinybert.data.glue import GLUE_TASKS, normalize_task_name

    taken = [name for name in tasks if normalize_task_name(name) in GLUE_TASKS]
    if taken:
        raise TinyBertError(f"task type {task_type.name}: '{taken[0]}' is a GLUE task, read by the sequence type")
    _TYPES[task_type.name] = task_type
    for name in tasks:
        _DATA_TASKS[normalize_task_name(name)] = task_type.name
    return task_type


def unregister_task_type(name: str) -> None:
    """Remove a task type and its data task names (tests)."""
    _TYPES.pop(name, None)
    for key in [k for k, v in _DATA_TASKS.items() if v == name]:
        del _DATA_TASKS[key]


def task_types() -> dict[str, TaskType]:
    """The registered task types by name."""
    _load_builtin()
    return dict(_TYPES)


def registered_tasks() -> list[str]:
    """The data task names that registered task types read (``--task NAME``), besides GLUE's."""
    _load_builtin()
    return sorted(_DATA_TASKS)


def check_task_name(task: str | None) -> None:
    """Refuse a ``--task`` that neither GLUE nor a registered task type knows, listing the known ones.

    Raises:
        OptionError: on the ``task`` option (each surface names it its own way).
    """
    from tinybert.data.glue import GLUE_TASKS, normalize_task_name

    if task is None or normalize_task_name(task) in GLUE_TASKS or normalize_task_name(task) in registered_tasks():
        return
    known = ", ".join([*GLUE_TASKS, *registered_tasks()])
    raise OptionError("task", f"unknown task {task!r}: expected one of {known}")


def get_task_type(name: str) -> TaskType:
    """The task type called ``name``.

    Raises:
        TinyBertError: an unknown name, listing the known ones.
    """
    _load_builtin()
    if name not in _TYPES:
        raise TinyBertError(f"unknown task type '{name}': expected one of {', '.join(sorted(_TYPES))}")
    return _TYPES[name]


def task_type_for_data(data: DataConfig, task_type: str | None = None) -> TaskType:
    """The task type reading ``data``: ``task_type`` when given, else the one registered for
    ``data.task``, else ``sequence`` (GLUE tasks and generic files)."""
    from tinybert.data.glue import normalize_task_name

    _load_builtin()
    if task_type is not None:
        return get_task_type(task_type)
    if data.task is not None and normalize_task_name(data.task) in _DATA_TASKS:
        return get_task_type(_DATA_TASKS[normalize_task_name(data.task)])
    return get_task_type(DEFAULT_TASK_TYPE)


def task_type_for_config(config: PretrainedConfig, where: str, folder: str | Path | None = None) -> TaskType:
    """The task type of a saved model: one whose ``claims(config, folder)`` says so (a sentence
    embedder), else by the config's ``architectures``; a config without architectures is taken as
    ``sequence``.

    Raises:
        TinyBertError: no registered task type has a head of these architectures (``where`` names
            the model, e.g. ``"--model out/student"``).
    """
    _load_builtin()
    for task_type in reversed(_TYPES.values()):  # a task type that knows its models by their config
        claims = getattr(task_type, "claims", None)
        if claims is not None and claims(config, folder):
            return task_type
    return task_type_for_architectures(list(getattr(config, "architectures", None) or []), where)


def task_type_for_model(model: Any) -> TaskType:
    """The task type of a loaded model, from its class name (``BertForTokenClassification``)."""
    return task_type_for_architectures([type(model).__name__], f"model {type(model).__name__}")


def task_type_for_architectures(architectures: Sequence[str], where: str) -> TaskType:
    """The task type whose ``architecture`` suffix ends one of ``architectures``; none given: ``sequence``."""
    _load_builtin()
    if not architectures:
        return get_task_type(DEFAULT_TASK_TYPE)
    for task_type in reversed(_TYPES.values()):  # the latest registered wins (a user's over a built-in)
        if any(a.endswith(task_type.architecture) for a in architectures):
            return task_type
    heads = ", ".join(f"*{t.architecture}" for t in _TYPES.values())
    raise TinyBertError(
        f"{where}: has no classification head ({', '.join(architectures)}); expected a fine-tuned model "
        f"with one of the heads {heads}"
    )


def per_example(views: list[View], attention_mask: torch.Tensor) -> list[list[np.ndarray]]:
    """Views of a batch -> ``[view][example]`` arrays (float32 for floating scores); per-position views (mask not None)
    are cut to each example's real length ``attention_mask[i].sum()`` (right padding)."""
    if any(mask is not None for _, mask in views) and bool((attention_mask[:, 1:] > attention_mask[:, :-1]).any()):
        raise TinyBertError(
            "a batch is padded on the left; per-position views need right padding (padding_side='right')"
        )
    lengths = attention_mask.sum(dim=1).tolist()  # (B,)
    out: list[list[np.ndarray]] = []
    for scores, mask in views:
        values = scores.detach().cpu()
        arrays = (values.float() if values.is_floating_point() else values).numpy()
        if mask is None:
            out.append(list(arrays))  # B x (C,)
        else:
            out.append([arrays[i, : int(n)] for i, n in enumerate(lengths)])  # B x (L_i, ...)
    return out


def text_batches(
    task_type: TaskType, tokenizer: Any, texts: Sequence[Sequence[str]], max_seq_length: int, batch_size: int
) -> list[tuple[dict[str, torch.Tensor], list[Any], list[dict]]]:
    """Unlabelled rows of text fields -> padded batches, through the task type's one tokenisation
    path (:meth:`TaskType.featurize` and its collator, as in training).

    A task type may give several features per example (windows of a long text), each marked with
    the example's position under ``example_index``; an example's features are kept in one batch.

    Returns:
        ``(batch, examples, features)`` per batch of up to ``batch_size`` rows, in row order;
        ``batch`` holds (B, L) tensors, one row per feature: B = the rows' count, or more for a
        task type whose rows become several features (token windows of a long sentence, extractive
        QA windows; each feature's ``example_index`` is its row's position in ``examples``).
    """
    from tinybert.data.features import make_loader

    examples = task_type.examples_from_texts(texts)
    collator = task_type.collator(tokenizer)
    out = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        features = task_type.featurize(chunk, tokenizer, max_seq_length, None)
        if not features:
            continue
        (batch,) = make_loader(features, tokenizer, len(features), shuffle=False, collator=collator)
        out.append((batch, chunk, features))
    return out


# ------------------------------------------------------------------------------------------------
# Optional members of a task type (read with getattr; a task type without them behaves as the
# sequence type does). Extractive QA (tasks/span.py) uses them: each example becomes several
# features (windows), so its metrics need the examples and the features, not per-feature labels.
#
# * ``example_metrics(spec, predictions, examples, features) -> dict``: metrics of a split from the
#   per-feature views (``predictions[v][f]``) and the split's examples and features; used instead of
#   ``metrics`` (see :func:`split_metrics`).
# * ``sample_texts``: rows of text fields for the export parity check when no file is given.
# * ``sample_rows(path, text_columns, limit) -> list[list[str]]``: the export parity check's rows
#   from ``--sample-file`` read the task type's way (sentence embeddings: a text file or corpus too).
# * ``decoded_parity = True``: the export parity bar is the agreement of :meth:`TaskType.postprocess`'s
#   rows (the decoded predictions), not of the per-view argmaxes.
# * ``text_columns``: default input columns of ``predict`` (e.g. ``("question", "context")``).
# * ``predict_max_seq_length``: ``predict``'s default token limit (else the model's maximum).
# * ``model_max_seq_length(config) -> int | None``: the token limit a saved model records for itself
#   (a sentence embedder's head), ``predict``'s and ``evaluate``'s default before the above.
# * ``trains_on_hard_loss = True``: ``finetune`` trains on :meth:`TaskType.hard_loss` of the views, not
#   on the head's own ``labels=`` loss (a head whose labels are several tensors: QA's start and end).
# * ``has_labels = False``: the data has no labels; the teacher's views are the dev targets
#   (``with_targets(examples, views)`` gives the examples that carry them), the model is loaded
#   without label or architecture checks, with ``head_options(data)`` as keywords of its head
#   class's ``from_pretrained`` (sentence embeddings).
# * ``claims(config, folder) -> bool``: the task type of a saved model whose architecture does not
#   say it (a sentence embedder: its config records its head, or its folder has modules.json).
# * ``array_column``: a prediction column holding one vector per row (sentence embeddings:
#   ``embedding``), which ``predict --output X.npy`` writes as one (N, D) array.
# * ``parity_similarity(reference, exported) -> float`` and ``parity_bars`` (``{"fp32": x, "int8":
#   y}``): the export parity bar is the lowest similarity of one example's views (sentence
#   embeddings: their cosine), not an argmax agreement.


def split_metrics(
    task_type: TaskType,
    spec: TaskSpec,
    predictions: list[list[np.ndarray]],
    labels: list[np.ndarray] | None,
    examples: Sequence[Any],
    features: Sequence[dict],
    positive_label: int | None,
) -> dict[str, float]:
    """The metrics of one evaluation split: the task type's ``example_metrics`` when it has one,
    else its :meth:`TaskType.metrics` of the per-example views and labels.

    Raises:
        TinyBertError: a task type that needs labels and the split has none.
    """
    by_example = getattr(task_type, "example_metrics", None)
    if by_example is not None:
        return by_example(spec, predictions, examples, features)
    if labels is None:
        raise TinyBertError("the split has no labels to evaluate against")
    return task_type.metrics(spec, predictions, labels, positive_label)


def _load_builtin() -> None:
    """Import the built-in task types (they register themselves)."""
    if DEFAULT_TASK_TYPE not in _TYPES:
        import tinybert.tasks.sequence
    if "token" not in _TYPES:
        import tinybert.tasks.token
    if "span" not in _TYPES:
        import tinybert.tasks.span
    if "embedding" not in _TYPES:
        import tinybert.tasks.embedding  # noqa: F401
