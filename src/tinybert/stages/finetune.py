"""``tinybert finetune``: fine-tune a model (usually the teacher) on a task's labels."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from accelerate import Accelerator
from transformers import set_seed

from tinybert.config import (
    FinetuneConfig,
    OptimConfig,
    StudentSpec,
    data_config,
    default_finetune_lr,
    layer_map_text,
)
from tinybert.data.loading import Features, load_data, model_labels
from tinybert.distillation.objective import SupervisedModule
from tinybert.evaluation import evaluate_model
from tinybert.io.environment import environment
from tinybert.io.outputs import output_folder, write_json
from tinybert.models.attention import use_score_attention
from tinybert.models.loading import (
    count_parameters,
    describe_encoder,
    folder_size,
    load_classifier,
    load_config,
    load_tokenizer,
)
from tinybert.models.saving import install_model, save_model
from tinybert.models.students import make_student, resolve_shape
from tinybert.tasks.base import get_task_type
from tinybert.tasks.metrics import main_metric_value
from tinybert.training.loop import MetricLog, stage_summary, train

log = logging.getLogger(__name__)


def run_finetune(config: FinetuneConfig) -> dict:
    """Fine-tune ``config.model`` on the task's labels; the best dev checkpoint lands in ``config.output``.

    With several ``learning_rates`` each is trained in turn and the best on dev is kept (the
    paper's small search). Returns the metrics also written to ``output/metrics.json``.
    """
    inputs = {"--model": config.model, **config.data.paths()}
    with output_folder(config.output, config.overwrite, inputs) as output:
        return _finetune_into(config, output)


def _finetune_into(config: FinetuneConfig, output: Path) -> dict:
    task = load_data(config.data, need_train=True)
    task_type = get_task_type(task.task_type)
    model_cfg = load_config(config.model, "--model")
    shape = describe_encoder(model_cfg, "--model")
    if config.student.is_given and config.student.is_folder:
        shape = describe_encoder(load_config(config.student.student, "--student"), "--student")
    elif config.student.is_given:
        s = config.student
        shape = resolve_shape(model_cfg, s.student, s.layers, s.hidden, s.heads, s.intermediate)
    rates = list(config.learning_rates) or [default_finetune_lr(shape.hidden)]
    tokenizer = load_tokenizer(config.model, "--model")
    student_info: dict | None = None
    accelerator = Accelerator()
    runs = []
    best: tuple[float, Path, float] | None = None  # (dev score, run folder, learning rate)
    for lr in rates:
        run_dir = output / f"lr-{lr:g}" if len(rates) > 1 else output
        optim = replace(config.optim, learning_rate=lr)
        set_seed(optim.seed)
        model = load_classifier(config.model, task.spec.label_names, "--model", new_head=True, task_type=task_type)
        if config.student.is_given:
            # The baseline without distillation: the same student, trained on the labels only.
            model, layer_map, student_info = make_student(config.student, model, model_labels(model, task))
            student_info["layer_map"] = list(layer_map.teacher_layers)
        use_score_attention(model, "--model")
        features = Features(task, tokenizer, model_labels(model, task), config.data.max_seq_length)
        loaders = {k: accelerator.prepare(v) for k, v in features.eval_loaders(64).items()}
        first_split = next(iter(loaders))
        run_dir.mkdir(parents=True, exist_ok=True)

        def evaluate(
            module: SupervisedModule,
            features: Features = features,
            loaders: dict = loaders,
            first_split: str = first_split,
        ) -> tuple[float, dict[str, float]]:
            metrics = evaluate_model(module.student, features, accelerator, loaders=loaders)
            return main_metric_value(features.task.spec, metrics[first_split]), metrics[first_split]

        def save(module: SupervisedModule, run_dir: Path = run_dir) -> None:
            save_model(module.student, tokenizer, run_dir / "checkpoint-best")

        metric_log = MetricLog(run_dir / "logs", run_dir / "train_log.jsonl", accelerator.is_main_process)
        result = train(
            SupervisedModule(model),
            features.train_loader(optim.batch_size, optim.seed),
            optim,
            accelerator=accelerator,
            evaluate=evaluate,
            save_best=save,
            log=metric_log,
            desc=f"finetune lr={lr:g}",
        )
        metric_log.close()
        runs.append({"learning_rate": lr, **stage_summary(result, optim)})
        if best is None or result.best_score > best[0]:
            best = (result.best_score, run_dir, lr)

    assert best is not None
    install_model(best[1] / "checkpoint-best", output)
    if len(rates) > 1:  # the search's other runs keep their logs, not their checkpoints
        for run in output.glob("lr-*/checkpoint-best"):
            shutil.rmtree(run)
    final = load_classifier(str(output), task.spec.label_names, "--model", new_head=False, task_type=task_type)
    use_score_attention(final)
    final.to(accelerator.device)
    features = Features(task, tokenizer, model_labels(final, task), config.data.max_seq_length)
    metrics = evaluate_model(final, features, accelerator)
    summary = {
        "command": "finetune",
        "model": config.model,
        "task": task.spec.name,
        "train_examples": len(task.train),
        "eval": metrics,
        "parameters": count_parameters(final),
        "size_bytes": folder_size(output),
        "layers": final.config.num_hidden_layers,
        "hidden": final.config.hidden_size,
        "student": student_info,
        "runs": runs,
        "best_learning_rate": best[2],
        "max_seq_length": features.max_seq_length,
        "environment": environment(),
    }
    write_json(output / "metrics.json", summary)
    return summary


def finetune(
    model: str,
    output: str | Path,
    *,
    task: str | None = None,
    data_dir: str | Path | None = None,
    train: str | Path | None = None,
    dev: str | Path | None = None,
    text_columns: Sequence[str] | str = (),
    label_column: str = "label",
    regression: bool = False,
    epochs: float = 3.0,
    learning_rate: float | Sequence[float] | None = None,
    batch_size: int = 32,
    max_seq_length: int | None = None,
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
    warmup_ratio: float = 0.1,
    weight_decay: float = 0.01,
    eval_steps: int | None = None,
    seed: int = 42,
    student: str | None = None,
    layers: int | None = None,
    hidden: int | None = None,
    heads: int | None = None,
    intermediate: int | None = None,
    init: str = "random",
    layer_map: str | Sequence[int] | None = None,
    overwrite: bool = False,
) -> dict:
    """Fine-tune ``model`` (folder or hub id) on a task; same options as ``tinybert finetune``.

    ``learning_rate``: one value, several (a search: the best on dev is kept), or None for a
    default by model width. With any student option (``student``, ``layers``, ...), a student
    built from ``model`` as in :func:`distill` is fine-tuned instead: the same small model
    without distillation, for comparison. Returns the contents of ``output/metrics.json``.
    """
    rates = (
        []
        if learning_rate is None
        else ([float(learning_rate)] if isinstance(learning_rate, int | float) else [float(r) for r in learning_rate])
    )
    optim = OptimConfig(
        epochs=epochs,
        learning_rate=rates[0] if rates else 1e-4,
        batch_size=batch_size,
        warmup_ratio=warmup_ratio,
        weight_decay=weight_decay,
        eval_steps=eval_steps,
        seed=seed,
    )
    data = data_config(
        task,
        data_dir,
        train,
        dev,
        text_columns,
        label_column,
        regression,
        max_seq_length,
        max_train_samples,
        max_eval_samples,
    )
    spec = StudentSpec(student, layers, hidden, heads, intermediate, init, layer_map_text(layer_map))
    return run_finetune(
        FinetuneConfig(
            model=str(model),
            output=Path(output),
            data=data,
            optim=optim,
            learning_rates=rates,
            student=spec,
            overwrite=overwrite,
        )
    )
