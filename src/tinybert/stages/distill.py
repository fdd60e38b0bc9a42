"""``tinybert distill``: task-specific TinyBERT distillation."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import psutil
from accelerate import Accelerator
from torch.utils.data import DataLoader
from transformers import PreTrainedModel, PreTrainedTokenizerBase, set_seed

from tinybert.config import (
    DistillConfig,
)
from tinybert.data.features import Collate
from tinybert.data.readers import TaskData
from tinybert.distillation.objective import DistillationModule, check_heads
from tinybert.distillation.teacher_cache import with_teacher_logits
from tinybert.distillation.teacher_states import INDEX_KEY, teacher_states
from tinybert.evaluation import evaluate_model, predict_views
from tinybert.io.environment import environment
from tinybert.io.outputs import shared_run_folder, write_json
from tinybert.models.attention import use_training_attention
from tinybert.models.layer_map import LayerMap
from tinybert.models.loading import (
    count_parameters,
    describe_encoder,
    folder_size,
    load_classifier,
    load_tokenizer,
)
from tinybert.models.saving import install_model, record_in_config, save_model
from tinybert.models.structure import sequence_length
from tinybert.models.students import make_student
from tinybert.models.vocab import data_ids, dropped_share, prune_vocabulary
from tinybert.results import DistillResult, parse
from tinybert.tasks.base import TaskType, get_task_type, split_metrics
from tinybert.tasks.loading import Features, load_data, model_labels
from tinybert.tasks.metrics import main_metric_value
from tinybert.training.loop import make_accelerator, mean_loss, stage_summary, train_logged

log = logging.getLogger(__name__)


def run_distill(config: DistillConfig) -> DistillResult:
    """Task-specific TinyBERT distillation; the student lands in ``config.run.output``.

    ``stage="all"`` runs the intermediate-layer stage (embedding, attention and hidden losses;
    the checkpoint with the lowest dev loss is kept), then the prediction-layer stage from it
    (soft cross-entropy; the checkpoint with the best dev metric is kept). Returns the record
    also written to ``output/metrics.json``.
    """
    student_folder = config.student.student if config.student.is_folder else None
    inputs = {"--teacher": config.teacher, "--student": student_folder, **config.data.paths()}
    accelerator = make_accelerator(config.training.precision)
    with shared_run_folder(config.run.output, config.run.overwrite, config.run.resume, inputs, accelerator) as output:
        return _distill_task_into(config, output, accelerator)


@dataclass
class Run:
    """What setup gives the stages and the save: the data, the two models and how they map."""

    config: DistillConfig
    output: Path
    accelerator: Accelerator
    task: TaskData
    task_type: TaskType
    features: Features
    labels: tuple[str, ...] | None
    tokenizer: PreTrainedTokenizerBase
    teacher: PreTrainedModel
    student: PreTrainedModel
    layer_map: LayerMap
    student_info: dict
    stages: list[str]
    eval_loaders: dict[str, DataLoader]
    teacher_metrics: dict[str, dict[str, float]]

    @property
    def checkpoints(self) -> Path:
        return self.output / "checkpoints"


def _distill_task_into(config: DistillConfig, output: Path, accelerator: Accelerator) -> DistillResult:
    """Setup, then each stage from the previous stage's best student, then the student saved and scored."""
    run = _setup(config, output, accelerator)
    stage_results = {}
    for stage in run.stages:
        stage_results[stage] = _train_stage(run, stage)
        # The next stage (and the output) starts from this stage's best checkpoint.
        best = run.checkpoints / f"{stage}-best"
        run.student = load_classifier(str(best), run.labels, "--student", new_head=False, task_type=run.task_type)
        use_training_attention(run.student)
    return _save(run, stage_results)


def _setup(config: DistillConfig, output: Path, accelerator: Accelerator) -> Run:
    """The data, the teacher and the student (built and initialised), the stages, the teacher's dev metrics."""
    set_seed(config.training.seed)
    task = load_data(config.data, need_train=True)
    task_type = get_task_type(task.task_type)
    head_options = getattr(task_type, "head_options", None)
    teacher = load_classifier(
        config.teacher,
        task.spec.label_names,
        "--teacher",
        new_head=False,
        task_type=task_type,
        head_options=head_options(config.data) if head_options is not None else None,
    )
    describe_encoder(teacher.config, "--teacher")
    tokenizer = load_tokenizer(config.teacher, "--teacher")
    labels = model_labels(teacher, task)
    length = sequence_length(
        teacher, config.data.max_seq_length, task.spec.max_seq_length, "--max-seq-length", f"--teacher {config.teacher}"
    )
    features = Features(task, tokenizer, labels, length)

    def importance_batches() -> DataLoader:  # --init prune: the first training examples, in order
        return features.loader(features.train[: config.student.prune_samples], 32, shuffle=False)

    student, layer_map, student_info = make_student(config.student, teacher, labels, batches=importance_batches)
    prepare_student = getattr(task_type, "prepare_student", None)  # e.g. a sentence embedder's projection
    if prepare_student is not None:
        prepare_student(student, student_info)
    stages = ["intermediate", "prediction"] if config.stage == "all" else [config.stage]
    check_heads(student.config, teacher.config, config.losses.loss_weights, stages, student_info.get("kept_heads"))
    scores = "intermediate" in stages and config.losses.loss_weights.attention > 0
    use_training_attention(teacher, "--teacher", scores=scores)
    use_training_attention(student, "--student", scores=scores)

    teacher.to(accelerator.device)
    eval_loaders = {k: accelerator.prepare(v) for k, v in features.eval_loaders(64).items()}
    if not getattr(task_type, "has_labels", True):  # no labels: the teacher's views are the dev targets
        teacher_metrics = _with_teacher_targets(teacher, features, accelerator, eval_loaders)
        task = features.task
    else:
        teacher_metrics = evaluate_model(teacher, features, accelerator, loaders=eval_loaders)
    log.info("teacher: %s", teacher_metrics)
    (output / "checkpoints").mkdir(exist_ok=True)
    return Run(
        config, output, accelerator, task, task_type, features, labels, tokenizer, teacher, student, layer_map,
        student_info, stages, eval_loaders, teacher_metrics,
    )  # fmt: skip


def _with_teacher_targets(
    teacher: PreTrainedModel, features: Features, accelerator: Accelerator, loaders: dict[str, DataLoader]
) -> dict[str, dict[str, float]]:
    """Each dev example of ``features`` with the teacher's views as its target (the task type's
    ``with_targets``), so that the dev figure compares the student with the teacher; returns the
    teacher's own figures, from the same views (one pass of the teacher, not two)."""
    task_type, spec, evals, metrics = features.task_type, features.task.spec, {}, {}
    for split, loader in loaders.items():
        views, _ = predict_views(teacher, loader, accelerator, task_type)
        evals[split] = task_type.with_targets(features.task.evals[split], views)
        metrics[split] = split_metrics(task_type, spec, views, None, evals[split], features.evals[split], None)
    features.task = replace(features.task, evals=evals)  # the tokens are the same: only the targets are new
    return metrics


def _train_stage(run: Run, stage: str) -> dict:
    """Train one stage into ``checkpoints/STAGE-best``; returns its summary (a finished stage's, when
    resuming). Intermediate: the lowest dev distillation loss is kept, the teacher's outputs read
    from disk when they fit; prediction: the best dev metric, the teacher's views computed once."""
    config, accelerator, features = run.config, run.accelerator, run.features
    done = run.checkpoints / f"{stage}-done.json"
    if done.is_file():
        return json.loads(done.read_text())
    optim = config.intermediate_optim if stage == "intermediate" else config.prediction_optim
    set_seed(optim.options.seed)
    module = DistillationModule(
        run.student,
        run.teacher,
        run.layer_map,
        config.losses.loss_weights,
        stage,
        temperature=config.losses.temperature,
        is_regression=run.task.spec.is_regression,
        task_type=run.task_type,
        kept_hidden=run.student_info.get("kept_hidden"),
        kept_heads=run.student_info.get("kept_heads"),
    )
    first_split = next(iter(run.eval_loaders))
    train_features, dev_loader, states = features.train, run.eval_loaders[first_split], None
    if stage == "intermediate":
        train_features, dev_loader, states = _store_teacher_states(
            module, features, dev_loader, config.teacher_cache_gb, run.checkpoints / "teacher-states", accelerator
        )

        # The classifier is not trained yet, so the dev metric means nothing: keep the checkpoint
        # with the lowest dev distillation loss instead.
        def evaluate(m: DistillationModule) -> tuple[float, dict[str, float]]:
            losses = mean_loss(m, dev_loader, accelerator)
            return -losses["loss"], {f"dev_{k}": v for k, v in losses.items()}
    else:
        if config.losses.loss_weights.prediction > 0:
            train_features = with_teacher_logits(run.teacher, features, accelerator)

        def evaluate(m: DistillationModule) -> tuple[float, dict[str, float]]:
            metrics = evaluate_model(m.student, features, accelerator, loaders=run.eval_loaders)[first_split]
            return main_metric_value(run.task.spec, metrics), metrics

    def save(m: DistillationModule) -> None:
        save_model(m.student, run.tokenizer, run.checkpoints / f"{stage}-best")

    result = train_logged(
        module,
        train_features,
        Collate(features.collator),
        optim,
        accelerator=accelerator,
        output=run.output,
        checkpoints=run.checkpoints / stage,
        stage=stage,
        evaluate=evaluate,
        on_best=save,
        desc=f"distill {stage}",
        resume=config.run.resume,
    )
    summary = stage_summary(result, optim, accelerator.num_processes, str(accelerator.mixed_precision))
    if states is not None:
        summary["teacher_cache"] = states
    module.states = None
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        shutil.rmtree(run.checkpoints / "teacher-states", ignore_errors=True)
        write_json(done, summary)
    return summary


def _save(run: Run, stage_results: dict[str, dict]) -> DistillResult:
    """The last stage's best student into the output folder (vocabulary-pruned with --prune-vocab),
    scored beside the teacher; returns the summary written to ``metrics.json``."""
    config, accelerator, output, features = run.config, run.accelerator, run.output, run.features
    accelerator.wait_for_everyone()  # every process has read the last stage's best before it moves
    if accelerator.is_main_process:
        install_model(run.checkpoints / f"{run.stages[-1]}-best", output)
        shutil.rmtree(run.checkpoints)
    accelerator.wait_for_everyone()
    student = load_classifier(str(output), run.labels, "--student", new_head=False, task_type=run.task_type)
    vocab, eval_loaders = None, run.eval_loaders
    if config.vocab.prune_vocab:
        keep = data_ids(run.tokenizer, features.train)
        dropped = dropped_share(run.tokenizer, keep, features.evals, "--prune-vocab")
        small_tokenizer, report = prune_vocabulary(student, run.tokenizer, keep)
        vocab = {**asdict(report), "dropped_pieces": dropped}
        if accelerator.is_main_process:
            save_model(student, small_tokenizer, output / "vocab-pruned")
            install_model(output / "vocab-pruned", output)
        accelerator.wait_for_everyone()
        features = Features(run.task, small_tokenizer, run.labels, features.max_seq_length)  # dev text, new ids
        eval_loaders = {k: accelerator.prepare(v) for k, v in features.eval_loaders(64).items()}
    use_training_attention(student)
    student.to(accelerator.device)
    student_metrics = evaluate_model(student, features, accelerator, loaders=eval_loaders)
    teacher, task = run.teacher, run.task
    summary = {
        "command": "distill",
        "task": task.spec.name,
        "main_metric": task.spec.main_metric,
        "train_examples": len(task.train),
        "features": features.counts(),
        "teacher": {
            "path": config.teacher,
            "eval": run.teacher_metrics,
            "parameters": count_parameters(teacher),
            "size_bytes": folder_size(Path(config.teacher)) if Path(config.teacher).is_dir() else None,
            "layers": teacher.config.num_hidden_layers,
            "hidden": teacher.config.hidden_size,
        },
        "student": {
            "eval": student_metrics,
            "parameters": count_parameters(student),
            "size_bytes": folder_size(output),
            "layers": student.config.num_hidden_layers,
            "hidden": student.config.hidden_size,
            "heads": student.config.num_attention_heads,
            "intermediate": describe_encoder(student.config, "--student").intermediate,
            "layer_map": list(run.layer_map.teacher_layers),
            **run.student_info,
            **({"vocab": vocab} if vocab else {}),
        },
        "retention": _retention(student_metrics, run.teacher_metrics),
        "stages": stage_results,
        "max_seq_length": features.max_seq_length,
        "temperature": config.losses.temperature,
        "loss_weights": asdict(config.losses.loss_weights),
        "environment": environment(),
    }
    if accelerator.is_main_process:
        record_in_config(output, run.task_type, next(iter(student_metrics.values())))
        write_json(output / "metrics.json", summary)
    return parse(DistillResult, summary)


def _store_teacher_states(
    module: DistillationModule,
    features: Features,
    dev_loader: DataLoader,
    budget_gb: float,
    folder: Path,
    accelerator: Accelerator,
) -> tuple[list[dict], DataLoader, dict]:
    """The intermediate stage's training features and dev loader, reading the teacher's outputs
    from ``folder`` (computed here once, or kept from before a resume) when they fit ``budget_gb``
    and the free disk; else the plain ones, and the teacher runs in every step.

    Returns (training features, dev loader, what was done, for metrics.json)."""
    train, dev = features.train, next(iter(features.evals.values()))
    plain = features.train, dev_loader
    layout = module.states_layout()
    nbytes = layout.nbytes([len(f["input_ids"]) for f in (*train, *dev)])
    free = shutil.disk_usage(folder.parent).free + (_folder_bytes(folder) if folder.is_dir() else 0)
    if nbytes > budget_gb * 1e9 or nbytes > 0.9 * free:
        log.info(
            "teacher outputs: %.2f GB (budget %.2f GB, free %.2f GB); the teacher runs in every step",
            nbytes / 1e9,
            budget_gb,
            free / 1e9,
        )
        return (*plain, {"stored": False, "bytes": nbytes, "budget_bytes": int(budget_gb * 1e9)})
    memory = _available_memory()
    if nbytes > memory:
        log.warning(
            "teacher outputs: %.2f GB, more than the %.2f GB of memory free to cache them: each step will read "
            "them from disk, which can be slower than running the teacher (a 25 GB store with 16 GB free: "
            "about 10 s per step against 1.5; BENCHMARKS.md, issue 26); a --teacher-cache-gb under %.0f runs "
            "the teacher in every step instead",
            nbytes / 1e9,
            memory / 1e9,
            nbytes / 1e9,
        )
    rows = [{**f, INDEX_KEY: i} for i, f in enumerate((*train, *dev))]
    start = time.perf_counter()
    module.states = teacher_states(module.teacher, rows, layout, folder, accelerator, Collate(features.collator))
    seconds = time.perf_counter() - start
    log.info("teacher outputs: %.2f GB in %s (%.0f s)", nbytes / 1e9, folder, seconds)
    dev_loader = accelerator.prepare(features.loader(rows[len(train) :], 64, shuffle=False))
    return rows[: len(train)], dev_loader, {"stored": True, "bytes": nbytes, "seconds": round(seconds, 1)}


def _available_memory() -> int:
    """Bytes of memory the system could give now without swapping: free plus reclaimable cache
    (psutil's ``available``, MemAvailable on Linux)."""
    return psutil.virtual_memory().available


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def _retention(student: dict[str, dict[str, float]], teacher: dict[str, dict[str, float]]) -> dict:
    """Student / teacher for every metric of every split (1.0 = the teacher's score; None when the
    teacher scored 0, e.g. an MCC of 0)."""
    out: dict[str, dict[str, float | None]] = {}
    for split, metrics in student.items():
        out[split] = {
            k: (v / teacher[split][k] if teacher[split].get(k) else None)
            for k, v in metrics.items()
            if k in teacher.get(split, {})
        }
    return out
