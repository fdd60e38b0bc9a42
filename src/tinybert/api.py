"""The Python API: ``finetune``, ``distill``, ``evaluate``. The CLI is a thin layer over these."""

from __future__ import annotations

import logging
import platform
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from transformers import (
    PreTrainedModel,
    PreTrainedTokenizerBase,
    set_seed,
)

from tinybert.attention import use_default_attention, use_score_attention
from tinybert.config import (
    DataConfig,
    DistillConfig,
    FinetuneConfig,
    LossWeights,
    OptimConfig,
    StudentSpec,
    default_finetune_lr,
)
from tinybert.data import TaskData, encode, load_custom, load_glue, make_loader
from tinybert.errors import TinyBertError
from tinybert.metrics import compute_metrics, main_metric_value
from tinybert.models import (
    check_labels,
    count_parameters,
    describe_encoder,
    folder_size,
    load_classifier,
    load_config,
    load_tokenizer,
    make_student,
    resolve_shape,
)
from tinybert.objective import TEACHER_LOGITS, DistillationModule, SupervisedModule, check_heads
from tinybert.outputs import output_folder, replace_dir, write_json
from tinybert.runtime import is_export, load_inference_model
from tinybert.train import MetricLog, TrainResult, mean_loss, predict, train

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Shared pieces


def load_data(data: DataConfig, need_train: bool) -> TaskData:
    """Read the task's examples (train only when ``need_train``; training also needs a dev split,
    on which the best checkpoint is chosen)."""
    limits = {"train": data.max_train_samples, "eval": data.max_eval_samples}
    limits = {k: v for k, v in limits.items() if v is not None}
    if data.task is not None:
        splits = ("train", "dev") if need_train else ("dev",)
        train_file = data.train_file if need_train else None
        return load_glue(data.task, data.data_dir, splits=splits, max_samples=limits or None, train_file=train_file)
    if need_train and data.train_file is None:
        raise TinyBertError("--train FILE is required for training")
    if need_train and data.dev_file is None:
        raise TinyBertError("--dev FILE is required: the best checkpoint is chosen on it")
    evals = {"dev": data.dev_file} if data.dev_file is not None else {}
    return load_custom(
        data.train_file if need_train else None,
        evals,
        data.text_columns,
        data.label_column,
        regression=data.regression,
        max_samples=limits or None,
    )


def model_labels(model: PreTrainedModel, task: TaskData) -> tuple[str, ...] | None:
    """The model's labels in id order (None for regression)."""
    if task.spec.is_regression:
        return None
    return tuple(str(model.config.id2label[i]) for i in range(model.config.num_labels))


class Features:
    """Tokenised splits and their loaders, labels encoded with one model's ``label2id``."""

    def __init__(
        self,
        task: TaskData,
        tokenizer: PreTrainedTokenizerBase,
        labels: tuple[str, ...] | None,
        max_seq_length: int | None,
    ) -> None:
        self.task = task
        self.tokenizer = tokenizer
        self.max_seq_length = max_seq_length or task.spec.max_seq_length
        label2id = None if labels is None else {name: i for i, name in enumerate(labels)}
        regression = task.spec.is_regression

        def enc(examples: list) -> list[dict]:
            return encode(examples, tokenizer, self.max_seq_length, label2id, regression)

        self.train = enc(task.train) if task.train else []
        self.evals = {name: enc(examples) for name, examples in task.evals.items()}
        self.positive_label = (
            None
            if labels is None or len(labels) != 2
            else (labels.index(task.spec.label_names[-1]) if task.spec.label_names else 1)
        )

    def train_loader(self, batch_size: int, seed: int) -> DataLoader:
        return make_loader(self.train, self.tokenizer, batch_size, shuffle=True, seed=seed)

    def eval_loaders(self, batch_size: int) -> dict[str, DataLoader]:
        return {name: make_loader(f, self.tokenizer, batch_size, shuffle=False) for name, f in self.evals.items()}


def with_teacher_logits(
    teacher: PreTrainedModel, features: Features, accelerator: Accelerator, batch_size: int = 64
) -> list[dict]:
    """The training features, each with the teacher's logits under :data:`TEACHER_LOGITS`.

    The teacher is frozen and in eval mode, so its logits for an example are the same in every
    epoch: one pass here replaces a teacher forward in every step of the prediction stage
    (BENCHMARKS.md, "Training speed": the demo's prediction stage 1.23x faster on CPU).
    """
    # Shortest first, so that each batch pads little (the training loop groups by length too).
    order = sorted(range(len(features.train)), key=lambda i: len(features.train[i]["input_ids"]))
    by_length = [features.train[i] for i in order]
    loader = accelerator.prepare(make_loader(by_length, features.tokenizer, batch_size, shuffle=False))
    logits, _ = predict(teacher, loader, accelerator)  # (N, C), in the order of by_length
    row_of = dict(zip(order, logits, strict=True))
    return [{**f, TEACHER_LOGITS: row_of[i].tolist()} for i, f in enumerate(features.train)]


def evaluate_model(
    model: PreTrainedModel,
    features: Features,
    accelerator: Accelerator,
    batch_size: int = 64,
    loaders: dict[str, DataLoader] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics of ``model`` on every evaluation split: {split: {metric: value}}."""
    loaders = loaders or {k: accelerator.prepare(v) for k, v in features.eval_loaders(batch_size).items()}
    results = {}
    for split, loader in loaders.items():
        logits, labels = predict(model, loader, accelerator)
        if labels is None:
            raise TinyBertError(f"split {split} has no labels to evaluate against")
        results[split] = compute_metrics(features.task.spec, logits, labels, positive_label=features.positive_label)
    return results


def save_model(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, final: Path) -> None:
    """Write a plain Hugging Face folder atomically (temporary folder, then rename)."""
    tmp = final.with_name(final.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    use_default_attention(model)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    finally:
        use_score_attention(model)
    replace_dir(tmp, final)


def install_model(source: Path, output: Path) -> None:
    """Move the files of the model folder ``source`` into ``output`` (beside metrics and logs)."""
    for item in source.iterdir():
        target = output / item.name
        if target.is_dir():
            shutil.rmtree(target)
        item.replace(target)
    source.rmdir()


def environment() -> dict[str, str]:
    """Versions and hardware recorded beside every trained model (metrics.json)."""
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "threads": str(torch.get_num_threads()),
        "date": time.strftime("%Y-%m-%d"),
    }


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


def _stage_summary(result: TrainResult, optim: OptimConfig) -> dict:
    return {
        "epochs": optim.epochs,
        "learning_rate": optim.learning_rate,
        "batch_size": optim.batch_size,
        "steps": result.steps,
        "seconds": round(result.seconds, 1),
        "best_step": result.best_step,
        "best": result.best_metrics,
    }


# ---------------------------------------------------------------------------------------------
# finetune


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
        model = load_classifier(config.model, task.spec.label_names, "--model", new_head=True)
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
        runs.append({"learning_rate": lr, **_stage_summary(result, optim)})
        if best is None or result.best_score > best[0]:
            best = (result.best_score, run_dir, lr)

    assert best is not None
    install_model(best[1] / "checkpoint-best", output)
    if len(rates) > 1:  # the search's other runs keep their logs, not their checkpoints
        for run in output.glob("lr-*/checkpoint-best"):
            shutil.rmtree(run)
    final = load_classifier(str(output), task.spec.label_names, "--model", new_head=False)
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


# ---------------------------------------------------------------------------------------------
# distill


def run_distill(config: DistillConfig) -> dict:
    """Task-specific TinyBERT distillation; the student lands in ``config.output``.

    ``stage="all"`` runs the intermediate-layer stage (embedding, attention and hidden losses;
    the checkpoint with the lowest dev loss is kept), then the prediction-layer stage from it
    (soft cross-entropy; the checkpoint with the best dev metric is kept). Returns the metrics
    also written to ``output/metrics.json``.
    """
    student_folder = config.student.student if config.student.is_folder else None
    inputs = {"--teacher": config.teacher, "--student": student_folder, **config.data.paths()}
    with output_folder(config.output, config.overwrite, inputs) as output:
        return _distill_into(config, output)


def _distill_into(config: DistillConfig, output: Path) -> dict:
    set_seed(config.seed)
    task = load_data(config.data, need_train=True)
    teacher = load_classifier(config.teacher, task.spec.label_names, "--teacher", new_head=False)
    describe_encoder(teacher.config, "--teacher")
    tokenizer = load_tokenizer(config.teacher, "--teacher")
    labels = model_labels(teacher, task)
    features = Features(task, tokenizer, labels, config.data.max_seq_length)

    student, layer_map, student_info = make_student(config.student, teacher, labels)
    s_layers, t_layers = student.config.num_hidden_layers, teacher.config.num_hidden_layers
    stages = ["intermediate", "prediction"] if config.stage == "all" else [config.stage]
    check_heads(student.config, teacher.config, config.weights, stages)
    use_score_attention(teacher, "--teacher")
    use_score_attention(student, "--student")

    accelerator = Accelerator()
    teacher.to(accelerator.device)
    eval_loaders = {k: accelerator.prepare(v) for k, v in features.eval_loaders(64).items()}
    first_split = next(iter(eval_loaders))
    teacher_metrics = evaluate_model(teacher, features, accelerator, loaders=eval_loaders)
    log.info("teacher: %s", teacher_metrics)

    checkpoints = output / "checkpoints"
    checkpoints.mkdir(exist_ok=True)
    stage_results: dict[str, dict] = {}
    for stage in stages:
        optim = config.intermediate_optim if stage == "intermediate" else config.prediction_optim
        set_seed(optim.seed)
        module = DistillationModule(
            student,
            teacher,
            layer_map,
            config.weights,
            stage,
            temperature=config.temperature,
            is_regression=task.spec.is_regression,
        )
        best_dir = checkpoints / f"{stage}-best"

        if stage == "intermediate":
            # The classifier is not trained yet, so the dev metric means nothing: keep the
            # checkpoint with the lowest dev distillation loss instead.
            def evaluate(m: DistillationModule) -> tuple[float, dict[str, float]]:
                losses = mean_loss(m, eval_loaders[first_split], accelerator)
                return -losses["loss"], {f"dev_{k}": v for k, v in losses.items()}
        else:

            def evaluate(m: DistillationModule) -> tuple[float, dict[str, float]]:
                metrics = evaluate_model(m.student, features, accelerator, loaders=eval_loaders)[first_split]
                return main_metric_value(task.spec, metrics), metrics

        def save(m: DistillationModule, best_dir: Path = best_dir) -> None:
            save_model(m.student, tokenizer, best_dir)

        train_features = features.train
        if stage == "prediction" and config.weights.prediction > 0:
            train_features = with_teacher_logits(teacher, features, accelerator)
        metric_log = MetricLog(output / "logs" / stage, output / "train_log.jsonl", accelerator.is_main_process)
        result = train(
            module,
            make_loader(train_features, tokenizer, optim.batch_size, shuffle=True, seed=optim.seed),
            optim,
            accelerator=accelerator,
            evaluate=evaluate,
            save_best=save,
            log=metric_log,
            desc=f"distill {stage}",
        )
        metric_log.close()
        stage_results[stage] = _stage_summary(result, optim)
        # The next stage (and the output) starts from this stage's best checkpoint.
        student = load_classifier(str(best_dir), labels, "--student", new_head=False)
        use_score_attention(student)

    final_dir = checkpoints / f"{stages[-1]}-best"
    install_model(final_dir, output)
    shutil.rmtree(checkpoints)
    student = load_classifier(str(output), labels, "--student", new_head=False)
    use_score_attention(student)
    student.to(accelerator.device)
    student_metrics = evaluate_model(student, features, accelerator, loaders=eval_loaders)
    teacher_size = folder_size(Path(config.teacher)) if Path(config.teacher).is_dir() else None
    summary = {
        "command": "distill",
        "task": task.spec.name,
        "main_metric": task.spec.main_metric,
        "train_examples": len(task.train),
        "teacher": {
            "path": config.teacher,
            "eval": teacher_metrics,
            "parameters": count_parameters(teacher),
            "size_bytes": teacher_size,
            "layers": t_layers,
            "hidden": teacher.config.hidden_size,
        },
        "student": {
            "eval": student_metrics,
            "parameters": count_parameters(student),
            "size_bytes": folder_size(output),
            "layers": s_layers,
            "hidden": student.config.hidden_size,
            "heads": student.config.num_attention_heads,
            "intermediate": student.config.intermediate_size,
            "layer_map": list(layer_map.teacher_layers),
            **student_info,
        },
        "retention": _retention(student_metrics, teacher_metrics),
        "stages": stage_results,
        "max_seq_length": features.max_seq_length,
        "temperature": config.temperature,
        "loss_weights": asdict(config.weights),
        "environment": environment(),
    }
    write_json(output / "metrics.json", summary)
    return summary


# ---------------------------------------------------------------------------------------------
# evaluate


def _evaluate_export(model: str, task: TaskData, max_seq_length: int | None, batch_size: int) -> dict:
    """Metrics of an ONNX or PyTorch-int8 export (``tinybert export``) on every evaluation split."""
    runtime = load_inference_model(model)
    check_labels(runtime.config, task.spec.label_names, "--model")
    features = Features(task, runtime.tokenizer, model_labels(runtime, task), max_seq_length)
    results = {}
    for split, loader in features.eval_loaders(batch_size).items():
        batches = list(loader)
        if any("labels" not in batch for batch in batches):
            raise TinyBertError(f"split {split} has no labels to evaluate against")
        logits = np.concatenate([runtime.logits(batch) for batch in batches])  # (N, C)
        labels = torch.cat([batch["labels"] for batch in batches]).numpy()  # (N,)
        results[split] = compute_metrics(task.spec, logits, labels, positive_label=features.positive_label)
    return results


def run_evaluate(
    model: str, data: DataConfig, split: str | None = None, output: Path | None = None, batch_size: int = 64
) -> dict[str, dict[str, float]]:
    """The task's metrics of ``model`` on its evaluation split(s): {split: {metric: value}}.

    Also written to ``output`` (a JSON file) when given.
    """
    task = load_data(data, need_train=False)
    if split is not None:
        if split not in task.evals:
            raise TinyBertError(f"--split {split}: expected one of {', '.join(task.evals) or '(none)'}")
        task = replace(task, evals={split: task.evals[split]})
    if is_export(model):
        metrics = _evaluate_export(model, task, data.max_seq_length, batch_size)
    else:
        net = load_classifier(model, task.spec.label_names, "--model", new_head=False)
        tokenizer = load_tokenizer(model, "--model")
        features = Features(task, tokenizer, model_labels(net, task), data.max_seq_length)
        accelerator = Accelerator()
        net.to(accelerator.device)
        metrics = evaluate_model(net, features, accelerator, batch_size=batch_size)
    if output is not None:
        write_json(Path(output), {"model": model, "task": task.spec.name, "eval": metrics})
    return metrics


# ---------------------------------------------------------------------------------------------
# Keyword-argument API, one function per CLI command with the same option names


def _layer_map_text(layer_map: str | Sequence[int] | None) -> str | None:
    return layer_map if layer_map is None or isinstance(layer_map, str) else ",".join(str(x) for x in layer_map)


def _data_config(
    task: str | None,
    data_dir: str | Path | None,
    train: str | Path | None,
    dev: str | Path | None,
    text_columns: Sequence[str] | str,
    label_column: str,
    regression: bool,
    max_seq_length: int | None,
    max_train_samples: int | None,
    max_eval_samples: int | None,
) -> DataConfig:
    columns = (text_columns,) if isinstance(text_columns, str) else tuple(text_columns)
    as_path = lambda p: None if p is None else Path(p)  # noqa: E731
    return DataConfig(
        task=task,
        data_dir=as_path(data_dir),
        train_file=as_path(train),
        dev_file=as_path(dev),
        text_columns=columns,
        label_column=label_column,
        regression=regression,
        max_seq_length=max_seq_length,
        max_train_samples=max_train_samples,
        max_eval_samples=max_eval_samples,
    )


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
    data = _data_config(
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
    spec = StudentSpec(student, layers, hidden, heads, intermediate, init, _layer_map_text(layer_map))
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


def distill(
    teacher: str,
    output: str | Path,
    *,
    task: str | None = None,
    data_dir: str | Path | None = None,
    train: str | Path | None = None,
    dev: str | Path | None = None,
    text_columns: Sequence[str] | str = (),
    label_column: str = "label",
    regression: bool = False,
    student: str | None = None,
    layers: int | None = None,
    hidden: int | None = None,
    heads: int | None = None,
    intermediate: int | None = None,
    init: str = "random",
    layer_map: str | Sequence[int] | None = None,
    stage: str = "all",
    epochs: float | None = None,
    intermediate_epochs: float | None = None,
    prediction_epochs: float | None = None,
    learning_rate: float | None = None,
    intermediate_lr: float | None = None,
    prediction_lr: float | None = None,
    batch_size: int = 32,
    temperature: float = 1.0,
    loss_weights: str | LossWeights | None = None,
    max_seq_length: int | None = None,
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
    warmup_ratio: float = 0.1,
    eval_steps: int | None = None,
    seed: int = 42,
    overwrite: bool = False,
) -> dict:
    """Task-specific TinyBERT distillation; same options as ``tinybert distill``.

    ``epochs``/``learning_rate`` set both stages unless a stage is given its own
    (defaults: intermediate 10 epochs at 5e-5, prediction 3 epochs at 3e-5).
    Returns the contents of ``output/metrics.json``.
    """

    def optim(
        stage_epochs: float | None, stage_lr: float | None, default_epochs: float, default_lr: float
    ) -> OptimConfig:
        return OptimConfig(
            epochs=stage_epochs or epochs or default_epochs,
            learning_rate=stage_lr or learning_rate or default_lr,
            batch_size=batch_size,
            warmup_ratio=warmup_ratio,
            eval_steps=eval_steps,
            seed=seed,
        )

    weights = loss_weights if isinstance(loss_weights, LossWeights) else LossWeights.parse(loss_weights)
    layer_map = _layer_map_text(layer_map)
    config = DistillConfig(
        teacher=str(teacher),
        output=Path(output),
        data=_data_config(
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
        ),
        student=StudentSpec(student, layers, hidden, heads, intermediate, init, layer_map),
        stage=stage,
        intermediate_optim=optim(intermediate_epochs, intermediate_lr, 10, 5e-5),
        prediction_optim=optim(prediction_epochs, prediction_lr, 3, 3e-5),
        temperature=temperature,
        weights=weights,
        seed=seed,
        overwrite=overwrite,
    )
    return run_distill(config)


def evaluate(
    model: str,
    *,
    task: str | None = None,
    data_dir: str | Path | None = None,
    dev: str | Path | None = None,
    text_columns: Sequence[str] | str = (),
    label_column: str = "label",
    regression: bool = False,
    split: str | None = None,
    max_seq_length: int | None = None,
    max_eval_samples: int | None = None,
    batch_size: int = 64,
    output: str | Path | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics of ``model`` on the task's dev split(s); same options as ``tinybert evaluate``."""
    data = _data_config(
        task, data_dir, None, dev, text_columns, label_column, regression, max_seq_length, None, max_eval_samples
    )
    return run_evaluate(
        str(model), data, split=split, output=None if output is None else Path(output), batch_size=batch_size
    )
