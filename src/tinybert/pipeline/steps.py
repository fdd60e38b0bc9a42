"""Running a recipe: its steps in order, each skipped when its valid result is already there, then
the report. :func:`run_recipe` reads top to bottom: check the run folder, plan the paths, build
the steps, run them, write the report. Each step is one short function of the :class:`Plan`; the
steps call the public API (:func:`tinybert.finetune`, ...), so nothing here trains or measures by
itself. The recipe's schema and loading live in :mod:`tinybert.pipeline.recipe`."""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
import shutil
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tinybert.config import resolve_stage
from tinybert.data.glue import GLUE_TASKS, normalize_task_name
from tinybert.errors import TinyBertError
from tinybert.io.outputs import prepare_output, write_json
from tinybert.options import as_options
from tinybert.pipeline.recipe import (
    MINILM,
    MINILM_HUB_ID,
    RECOVERY_EPOCHS,
    Recipe,
    build_recipe,
    recipe_mapping,
    resolve_model,
    step_options,
)
from tinybert.results import DistillResult, EvaluationRecord, ReportResult, read

R = TypeVar("R")


@dataclass(frozen=True)
class Plan:
    """Where every step of one recipe run reads and writes, and the options they share."""

    recipe: Recipe
    out: Path
    source: str
    """The teacher as the recipe gives it (a folder or hub id; ``minilm`` resolved)."""
    teacher: str
    """The teacher the student learns from: the fine-tuned one when the recipe fine-tunes."""
    augmented: Path
    data: dict[str, Any]
    """The data options, under the same names for every command (but those of ``scoring``)."""
    scoring: dict[str, Any]
    """The data options only ``evaluate`` takes (sentence embeddings: ``pairs``, ``retrieval``)."""
    student: dict[str, Any]
    """The student options (``student:``)."""
    api: Any
    """The public API (:func:`tinybert.commands.api`): one function per command."""

    @property
    def teacher_dir(self) -> Path:
        return self.out / "teacher" if self.recipe.finetune.enabled else Path(self.source)

    @property
    def student_dir(self) -> Path:
        return self.out / "student"

    @property
    def baseline_dir(self) -> Path:
        return self.out / "baseline"

    @property
    def export_dir(self) -> Path:
        return self.out / "student-export"

    @property
    def bench_dir(self) -> Path:
        return self.out / "benchmark"

    @property
    def eval_dir(self) -> Path:
        return self.out / "eval"

    @property
    def compressed(self) -> dict[float, Path]:
        """Pruning after distillation: the recovered model's folder per sparsity."""
        return {s: self.out / "compressed" / f"sparsity-{round(100 * s)}" for s in self.recipe.compress.sparsities}

    @property
    def models(self) -> dict[str, Path]:
        """Every model the recipe makes, by report name, in report order."""
        found = {"teacher": self.teacher_dir, "student": self.student_dir}
        if self.recipe.baseline.enabled:
            found["baseline"] = self.baseline_dir
        if self.recipe.compress.enabled:
            found.update({f"sparsity-{round(100 * s)}": folder for s, folder in self.compressed.items()})
        if self.recipe.export.enabled:
            found["export"] = self.export_dir
        return found

    def training_files(self) -> dict[str, Any]:
        """What distillation trains on: with augmentation, the augmented file (with a task: a train.tsv
        replacement in the task's format; augmented rows are extra, the sample limit applied to the
        original rows when augmenting)."""
        return {"train": str(self.augmented), "max_train_samples": None} if self.recipe.augment.enabled else {}


def make_plan(recipe: Recipe, api: Any) -> Plan:
    out = Path(recipe.output)
    source = resolve_model(recipe.teacher)
    glue = recipe.data.task is not None and normalize_task_name(recipe.data.task) in GLUE_TASKS
    suffix = Path(recipe.data.train).suffix if recipe.data.train else ".tsv" if glue else ".txt"  # conll2003: CoNLL
    teacher = str(out / "teacher") if recipe.finetune.enabled else source
    data = as_options(recipe.data)
    groups = (getattr(recipe.data, f.name) for f in dataclasses.fields(recipe.data))
    only_evaluate = {name for g in groups for name in getattr(g, "evaluation_only", ())}
    scoring = {name: data.pop(name) for name in only_evaluate}
    return Plan(
        recipe,
        out,
        source,
        teacher,
        out / f"augmented{suffix}",
        data,
        {k: v for k, v in scoring.items() if v is not None},
        as_options(recipe.student),
        api,
    )


# ---------------------------------------------------------------------------------------------
# The steps


def finetune_teacher(p: Plan) -> object:
    options = step_options(p.recipe.finetune)
    return p.api.finetune(p.source, p.teacher_dir, **p.data, **options, seed=p.recipe.seed, overwrite=True)


def augment_data(p: Plan) -> object:
    recipe, a = p.recipe, p.recipe.augment
    task = {"task": recipe.data.task, "data_dir": recipe.data.data_dir} if recipe.data.task is not None else {}
    summary = p.api.augment(
        resolve_model(a.model or recipe.teacher),
        p.augmented,
        **task,
        train=recipe.data.train,
        text_columns=recipe.data.text_columns,
        **({"task_type": recipe.data.task_type} if recipe.data.task_type else {}),
        max_train_samples=recipe.data.max_train_samples,
        **step_options(a, "model"),
        overwrite=True,
    )
    write_json(p.out / "augment.json", dataclasses.asdict(summary))
    return summary


def distill_student(p: Plan) -> object:
    data = {**p.data, **p.training_files()}
    options = step_options(p.recipe.distill)
    return p.api.distill(p.teacher, p.student_dir, **data, **p.student, **options, seed=p.recipe.seed, overwrite=True)


def train_baseline(p: Plan) -> object:
    """The same student on the labels only, for as many epochs as both distillation stages."""
    distill = dataclasses.asdict(p.recipe.distill)
    epochs = [resolve_stage(distill, stage)[0] for stage in ("intermediate", "prediction")]
    derived = {
        "epochs": sum(epochs),
        "learning_rate": resolve_stage(distill, "prediction")[1],
        "batch_size": distill["batch_size"],
        "eval_steps": distill["eval_steps"],
    }
    options = {**derived, **step_options(p.recipe.baseline)}
    return p.api.finetune(
        p.teacher, p.baseline_dir, **p.data, **p.student, **options, seed=p.recipe.seed, overwrite=True
    )


def compress_student(p: Plan, sparsity: float, folder: Path) -> object:
    """The distilled student cut to ``sparsity`` and recovered by a short distillation."""
    cut = folder.with_name(folder.name + "-cut")
    p.api.prune(str(p.student_dir), cut, **p.data, sparsity=sparsity, overwrite=True)
    options = {**step_options(p.recipe.distill), **step_options(p.recipe.compress, "sparsities")}
    own_epochs = ("epochs", "intermediate_epochs", "prediction_epochs")
    if not any(getattr(p.recipe.compress, key) is not None for key in own_epochs):
        options = {k: v for k, v in options.items() if k not in own_epochs} | RECOVERY_EPOCHS
    data = {**p.data, **p.training_files()}
    return p.api.distill(p.teacher, folder, **data, student=str(cut), **options, seed=p.recipe.seed, overwrite=True)


def export_student(p: Plan) -> object:
    recipe = p.recipe
    parity_text = (
        {"task": recipe.data.task, "data_dir": recipe.data.data_dir}
        if recipe.data.task is not None
        else {"sample_file": recipe.data.dev, "text_columns": recipe.data.text_columns}
    )
    return p.api.export(p.student_dir, p.export_dir, **parity_text, **step_options(recipe.export), overwrite=True)


def evaluate_all(p: Plan) -> object:
    p.eval_dir.mkdir(exist_ok=True)
    results = {}
    for name, folder in p.models.items():
        if not p.recipe.labelled:
            evals = {FIGURES_SPLIT: _embedding_figures(p, folder, reference=None if name == "teacher" else p.teacher)}
            write_json(p.eval_dir / f"{name}.json", {"model": str(folder), "eval": evals})
            results[name] = evals
            continue
        evals = {"dev": p.api.evaluate(str(folder), **p.data)}
        if p.recipe.test is not None:
            evals["test"] = p.api.evaluate(str(folder), **{**p.data, "dev": p.recipe.test})["dev"]
        else:
            evals = evals["dev"]
        write_json(p.eval_dir / f"{name}.json", {"model": str(folder), "eval": evals})
        results[name] = evals
    return results


FIGURES_SPLIT = "eval"
"""The split name of a task type's own figures (sentence embeddings: pairs, retrieval, agreement)."""


def _embedding_figures(p: Plan, folder: Path, reference: str | None) -> dict[str, float]:
    """A sentence embedder's figures (:func:`~tinybert.tasks.embedding.flat_figures`): pairs and
    retrieval; with a ``dev`` file, the agreement with ``reference`` (the teacher) on it, scored
    apart so that the teacher is not scored on pairs and retrieval once per model."""
    from tinybert.tasks.embedding import flat_figures

    data = {**p.data, "dev": None}
    groups = p.api.evaluate(str(folder), **data, **p.scoring)
    if p.data.get("dev") is not None and reference is not None:
        groups |= p.api.evaluate(str(folder), **p.data, reference=reference)
    return flat_figures(groups)


def benchmark_models(p: Plan) -> object:
    names = [str(p.teacher_dir), str(p.student_dir)] + ([str(p.export_dir)] if p.recipe.export.enabled else [])
    if p.recipe.compress.enabled:
        names += [str(folder) for folder in p.compressed.values()]
    return p.api.benchmark(names, p.bench_dir, **step_options(p.recipe.benchmark), overwrite=True)


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


def plan_steps(p: Plan) -> list[Step]:
    """The recipe's enabled steps, in order (the report comes after them)."""
    recipe, steps = p.recipe, []
    if recipe.finetune.enabled:
        done = _exists(p.teacher_dir / "metrics.json")
        steps.append(Step("fine-tune the teacher", done, partial(finetune_teacher, p), (p.teacher_dir,)))
    if recipe.augment.enabled:
        done = lambda: p.augmented.is_file() and (p.out / "augment.json").is_file()  # noqa: E731
        steps.append(Step("augment", done, partial(augment_data, p)))
    done = _exists(p.student_dir / "metrics.json")
    steps.append(Step("distill the student", done, partial(distill_student, p), (p.student_dir,)))
    if recipe.baseline.enabled:
        done = _exists(p.baseline_dir / "metrics.json")
        steps.append(
            Step("train the student without distillation", done, partial(train_baseline, p), (p.baseline_dir,))
        )
    if recipe.compress.enabled:
        for sparsity, folder in p.compressed.items():
            cut = folder.with_name(folder.name + "-cut")
            name = f"prune the student to sparsity {sparsity:g} and recover"
            steps.append(
                Step(
                    name,
                    _exists(folder / "metrics.json"),
                    partial(compress_student, p, sparsity, folder),
                    (cut, folder),
                )
            )
    if recipe.export.enabled:
        done = _exists(p.export_dir / "export.json")
        steps.append(Step("export the student", done, partial(export_student, p), (p.export_dir,)))
    done = lambda: all((p.eval_dir / f"{n}.json").is_file() for n in p.models)  # noqa: E731
    steps.append(Step("evaluate", done, partial(evaluate_all, p)))
    if recipe.benchmark.enabled:
        done = _exists(p.bench_dir / "benchmark.json")
        steps.append(Step("benchmark", done, partial(benchmark_models, p), (p.bench_dir,)))
    return steps


def run_steps(steps: list[Step], out: Path, overwrite: bool, echo: Callable[[str], None]) -> None:
    """Each step not done yet; once a step runs, every later step runs too (their old results were
    made from the old inputs)."""
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


# ---------------------------------------------------------------------------------------------
# The run


def check_run_folder(recipe: Recipe, resolved: dict, overwrite: bool) -> Path:
    """Create the run folder, or check that the one there was made by this recipe (refused
    otherwise unless ``overwrite``), and save the recipe in it (``recipe.yaml``)."""
    out = Path(recipe.output)
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
        if not saved.is_file():
            raise TinyBertError(
                f"output {out}: folder exists and is not a recipe run (no recipe.yaml); choose another or pass "
                "--overwrite"
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
    return out


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
) -> ReportResult:
    """Run every step of ``recipe`` not done yet; returns the report's results table.

    ``prepare``: called once the output folder is checked and created, before the steps (the demo
    writes its data there).

    ``overwrite``: run every step again, replacing their results. A run folder made by a
    different recipe is refused unless ``overwrite``.
    """
    from tinybert.commands import api

    resolved = resolved if resolved is not None else recipe_mapping(recipe)
    out = check_run_folder(recipe, resolved, overwrite)
    if prepare is not None:
        prepare()
    plan = make_plan(recipe, api())
    steps = plan_steps(plan)
    run_steps(steps, out, overwrite, echo)
    echo(f"[{len(steps) + 1}/{len(steps) + 1}] report")
    return write_recipe_report(plan, resolved, command, report_title, report_notes, dataset_name)


def write_recipe_report(
    p: Plan,
    resolved: dict,
    command: str | None,
    title: str | None,
    notes: Sequence[str],
    dataset_name: str | None,
) -> ReportResult:
    """The report (``report.html``, ``report.json``) and the student's model card."""
    from tinybert.pipeline.report import ReportModel, ReportSpec, write_model_card, write_report
    from tinybert.tasks.embedding import FIGURES_NOTE

    recipe = p.recipe
    split = "test" if recipe.test is not None else None
    export = recipe.export
    labels = {
        "teacher": "teacher",
        "student": "student (distilled)",
        "export": f"student, {export.format}{' ' + export.quantize if export.quantize else ''}",
        "baseline": "student without distillation",
        **{f"sparsity-{round(100 * s)}": f"student pruned to sparsity {s:g}, recovered" for s in p.compressed},
    }
    student_summary = _read(DistillResult, p.student_dir / "metrics.json")
    rows = []
    for name, folder in p.models.items():
        evals = _read(EvaluationRecord, p.eval_dir / f"{name}.json").eval
        split = split or next(iter(evals))
        role = "compressed" if name.startswith("sparsity-") else name
        rows.append(ReportModel(labels[name], folder, evals[split], role=role))
    # a task type's own figures (sentence embeddings): the first is the main one, all in a table
    figures = tuple(dict.fromkeys(name for row in rows for name in row.metrics)) if not recipe.labelled else ()
    spec = ReportSpec(
        title=title or f"tinybert: {student_summary.task} distillation report",
        models=tuple(rows),
        main_metric=figures[0] if figures else student_summary.main_metric,
        figures=figures,
        figures_note=FIGURES_NOTE if figures else "",
        split=split or "dev",
        benchmark=p.bench_dir if recipe.benchmark.enabled else None,
        command=command or _command_line(),
        recipe=yaml.safe_dump(resolved, sort_keys=False),
        notes=tuple(notes),
    )
    summary = write_report(p.out, spec)
    base_model = MINILM_HUB_ID if recipe.teacher == MINILM else recipe.teacher
    write_model_card(spec, dataset=dataset_name or student_summary.task, base_model=base_model)
    return summary


def _read(cls: type[R], path: Path) -> R:
    result = read(cls, path)
    if result is None:
        raise TinyBertError(f"{path}: missing (a step did not finish; run the recipe again)")
    return result


def _diff(a: Any, b: Any, prefix: str = "") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        return {k for key in keys for k in _diff(a.get(key), b.get(key), f"{prefix}{key}.")}
    return set() if a == b else {prefix.rstrip(".")}


def _command_line() -> str:
    return " ".join(shlex.quote(a) for a in ["tinybert", *sys.argv[1:]])


__all__ = ["Plan", "Step", "make_plan", "plan_steps", "run_recipe", "run_steps"]
