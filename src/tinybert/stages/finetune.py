"""``tinybert finetune``: fine-tune a model (usually the teacher) on a task's labels."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from accelerate import Accelerator
from torch.utils.data import DataLoader
from transformers import PreTrainedTokenizerBase, set_seed

from tinybert.config import (
    FinetuneConfig,
    default_finetune_lr,
)
from tinybert.data.features import Collate
from tinybert.distillation.objective import SupervisedModule
from tinybert.errors import TinyBertError
from tinybert.evaluation import evaluate_model
from tinybert.io.environment import environment
from tinybert.io.outputs import shared_run_folder, write_json
from tinybert.models.attention import use_training_attention
from tinybert.models.loading import (
    count_parameters,
    describe_encoder,
    folder_size,
    load_classifier,
    load_config,
    load_tokenizer,
)
from tinybert.models.saving import install_model, record_in_config, save_model
from tinybert.models.structure import sequence_length
from tinybert.models.students import make_student, resolve_shape
from tinybert.results import FinetuneResult, parse
from tinybert.tasks.base import TaskType, get_task_type
from tinybert.tasks.loading import Features, TaskData, load_data, model_labels
from tinybert.tasks.metrics import main_metric_value
from tinybert.training.loop import make_accelerator, stage_summary, train_logged

log = logging.getLogger(__name__)


def run_finetune(config: FinetuneConfig) -> FinetuneResult:
    """Fine-tune ``config.model`` on the task's labels; the best dev checkpoint lands in ``config.run.output``.

    With several ``learning_rate`` values each is trained in turn and the best on dev is kept (the
    paper's small search). Returns the record also written to ``output/metrics.json``.
    """
    inputs = {"--model": config.model, **config.data.paths()}
    accelerator = make_accelerator(config.training.precision)
    with shared_run_folder(config.run.output, config.run.overwrite, config.run.resume, inputs, accelerator) as output:
        return _finetune_into(config, output, accelerator)


@dataclass
class Search:
    """What every run of the learning-rate search shares: the data, its task type and the tokenizer."""

    config: FinetuneConfig
    accelerator: Accelerator
    task: TaskData
    task_type: TaskType
    tokenizer: PreTrainedTokenizerBase
    rates: list[float]


@dataclass
class RateRun:
    """One run of the search: its summary (``done.json``), the student's description, its length."""

    summary: dict
    student_info: dict | None
    max_seq_length: int


def _finetune_into(config: FinetuneConfig, output: Path, accelerator: Accelerator) -> FinetuneResult:
    """Setup, one run per learning rate (the best on dev kept), then the best model saved and scored."""
    search = _setup(config, accelerator)
    runs, best = [], None  # best: (dev score, run folder, learning rate, its run)
    for lr in search.rates:
        run_dir = output / f"lr-{lr:g}" if len(search.rates) > 1 else output
        run = _train_rate(search, lr, run_dir)
        runs.append({k: v for k, v in run.summary.items() if k != "best_score"})
        if best is None or run.summary["best_score"] > best[0]:
            best = (run.summary["best_score"], run_dir, lr, run)
    assert best is not None
    return _save(search, output, runs, best[1], best[2], best[3])


def _setup(config: FinetuneConfig, accelerator: Accelerator) -> Search:
    """The data, and the learning rates to search (by default one, by the trained model's width)."""
    task = load_data(config.data, need_train=True)
    task_type = get_task_type(task.task_type)
    if not getattr(task_type, "has_labels", True):
        raise TinyBertError(
            f"--task-type {task_type.name}: finetune trains on labels, and this task has none; "
            "distil from a trained model instead (tinybert distill --teacher MODEL)"
        )
    model_cfg = load_config(config.model, "--model")
    shape = describe_encoder(model_cfg, "--model")
    if config.student.is_given and config.student.is_folder:
        shape = describe_encoder(load_config(config.student.student, "--student"), "--student")
    elif config.student.is_given:
        s = config.student
        shape = resolve_shape(model_cfg, s.student, s.layers, s.hidden, s.heads, s.intermediate)
    rates = list(config.training.learning_rate) or [default_finetune_lr(shape.hidden)]
    tokenizer = load_tokenizer(config.model, "--model")
    return Search(config, accelerator, task, task_type, tokenizer, rates)


def _train_rate(search: Search, lr: float, run_dir: Path) -> RateRun:
    """Train the model (or the student built from it) at ``lr`` into ``run_dir/checkpoint-best``
    (a finished run's summary, when resuming)."""
    config, accelerator, task, task_type = search.config, search.accelerator, search.task, search.task_type
    optim = replace(config.optim, learning_rate=lr)
    set_seed(optim.options.seed)
    model = load_classifier(config.model, task.spec.label_names, "--model", new_head=True, task_type=task_type)
    length = sequence_length(
        model, config.data.max_seq_length, task.spec.max_seq_length, "--max-seq-length", f"--model {config.model}"
    )
    features = Features(task, search.tokenizer, model_labels(model, task), length)
    student_info = None
    if config.student.is_given:
        # The baseline without distillation: the same student, trained on the labels only.
        def importance_batches() -> DataLoader:  # --init prune
            return features.loader(features.train[: config.student.prune_samples], 32, shuffle=False)

        model, layer_map, student_info = make_student(
            config.student, model, model_labels(model, task), batches=importance_batches
        )
        student_info["layer_map"] = list(layer_map.teacher_layers)
    use_training_attention(model, "--model")
    loaders = {k: accelerator.prepare(v) for k, v in features.eval_loaders(64).items()}
    first_split = next(iter(loaders))
    run_dir.mkdir(parents=True, exist_ok=True)

    def evaluate(module: SupervisedModule) -> tuple[float, dict[str, float]]:
        metrics = evaluate_model(module.model, features, accelerator, loaders=loaders)
        return main_metric_value(task.spec, metrics[first_split]), metrics[first_split]

    def save(module: SupervisedModule) -> None:
        save_model(module.model, search.tokenizer, run_dir / "checkpoint-best")

    done = run_dir / "checkpoints" / "done.json"  # a finished run of the search, when resuming
    if done.is_file():
        return RateRun(json.loads(done.read_text()), student_info, length)
    hard = getattr(task_type, "trains_on_hard_loss", False)  # else the head's own loss (labels=)
    result = train_logged(
        SupervisedModule(model, task_type if hard else None, task.spec.is_regression),
        features.train,
        Collate(features.collator),
        optim,
        accelerator=accelerator,
        output=run_dir,
        checkpoints=run_dir / "checkpoints",
        evaluate=evaluate,
        on_best=save,
        desc=f"finetune lr={lr:g}",
        resume=config.run.resume,
    )
    run = {
        "learning_rate": lr,
        **stage_summary(result, optim, accelerator.num_processes, str(accelerator.mixed_precision)),
    }
    run["best_score"] = result.best_score
    if accelerator.is_main_process:
        write_json(done, run)
    return RateRun(run, student_info, length)


def _save(
    search: Search, output: Path, runs: list[dict], best_dir: Path, best_lr: float, best: RateRun
) -> FinetuneResult:
    """The best run's model into ``output`` (the others keep their logs), scored; returns the summary
    written to ``metrics.json``."""
    config, accelerator, task, task_type = search.config, search.accelerator, search.task, search.task_type
    if accelerator.is_main_process:
        install_model(best_dir / "checkpoint-best", output)
        if len(search.rates) > 1:  # the search's other runs keep their logs, not their checkpoints
            for run_best in output.glob("lr-*/checkpoint-best"):
                shutil.rmtree(run_best)
        for done_run in [output / "checkpoints", *output.glob("lr-*/checkpoints")]:  # the run is complete
            if done_run.is_dir():
                shutil.rmtree(done_run)
    accelerator.wait_for_everyone()
    final = load_classifier(str(output), task.spec.label_names, "--model", new_head=False, task_type=task_type)
    use_training_attention(final)
    final.to(accelerator.device)
    features = Features(task, search.tokenizer, model_labels(final, task), best.max_seq_length)
    metrics = evaluate_model(final, features, accelerator)
    summary = {
        "command": "finetune",
        "model": config.model,
        "task": task.spec.name,
        "train_examples": len(task.train),
        "features": features.counts(),
        "eval": metrics,
        "parameters": count_parameters(final),
        "size_bytes": folder_size(output),
        "layers": final.config.num_hidden_layers,
        "hidden": final.config.hidden_size,
        "student": best.student_info,
        "runs": runs,
        "best_learning_rate": best_lr,
        "max_seq_length": features.max_seq_length,
        "environment": environment(),
    }
    if accelerator.is_main_process:
        record_in_config(output, task_type, next(iter(metrics.values())))
        write_json(output / "metrics.json", summary)
    return parse(FinetuneResult, summary)
