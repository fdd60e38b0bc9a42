"""``tinybert prune``: structured and vocabulary pruning of a task model (mechanics in
:mod:`tinybert.models.pruning` and :mod:`tinybert.models.vocab`)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from transformers import PreTrainedModel, PreTrainedTokenizerBase, set_seed

from tinybert.config import PruneConfig, StudentShape
from tinybert.errors import TinyBertError
from tinybert.evaluation import evaluate_model
from tinybert.io.environment import environment
from tinybert.io.outputs import output_folder, write_json
from tinybert.models.attention import use_default_attention
from tinybert.models.budget import budget_shape
from tinybert.models.layer_map import uniform_map
from tinybert.models.loading import count_parameters, describe_encoder, folder_size, load_classifier, load_tokenizer
from tinybert.models.pruning import cut_model
from tinybert.models.saving import install_model, save_model
from tinybert.models.structure import config_position_limit, sequence_length
from tinybert.models.students import resolve_shape
from tinybert.models.vocab import data_ids, dropped_share, piece_counts, prune_vocabulary
from tinybert.results import PruneResult, parse
from tinybert.tasks.base import TaskType, get_task_type
from tinybert.tasks.loading import Features, TaskData, load_data, model_labels
from tinybert.training.loop import make_accelerator

log = logging.getLogger(__name__)


def run_prune(config: PruneConfig) -> PruneResult:
    """Prune ``config.model`` into ``config.run.output``; returns the report also written to
    ``output/pruning.json`` (shape before and after, what was kept, the estimators, dev metrics of
    the model before and after pruning, no recovery training)."""
    inputs = {"--model": config.model, **config.data.paths()}
    with output_folder(config.run.output, config.run.overwrite, inputs) as output:
        return _prune_into(config, output)


@dataclass
class PruneRun:
    """The model to prune, its data, and the report so far (``pruning.json``)."""

    config: PruneConfig
    task: TaskData
    task_type: TaskType
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    before: StudentShape
    labels: tuple[str, ...] | None
    length: int
    features: Features
    accelerator: Accelerator
    report: dict[str, Any]


def _prune_into(config: PruneConfig, output: Path) -> PruneResult:
    """Setup, the kept word pieces (--prune-vocab), the structural cut, the vocabulary cut, the save."""
    run = _setup(config)
    keep = _kept_pieces(run) if config.vocab.prune_vocab else None  # before the cut: a budget counts them
    pruned = _cut_structure(run, keep) if config.prunes_structure else run.model
    tokenizer, features = run.tokenizer, run.features
    if keep is not None:
        tokenizer, features = _cut_vocabulary(run, pruned, keep)
    return _save(run, pruned, tokenizer, features, output)


def _setup(config: PruneConfig) -> PruneRun:
    """The task data, the model in eval mode and its dev metrics before pruning."""
    set_seed(0)
    task = load_data(config.data, need_train=True)
    task_type = get_task_type(task.task_type)
    model = load_classifier(config.model, task.spec.label_names, "--model", new_head=False, task_type=task_type)
    model.eval()
    tokenizer = load_tokenizer(config.model, "--model")
    before = describe_encoder(model.config, "--model")
    length = sequence_length(
        model, config.data.max_seq_length, task.spec.max_seq_length, "--max-seq-length", f"--model {config.model}"
    )
    labels = model_labels(model, task)
    features = Features(task, tokenizer, labels, length)
    accelerator = make_accelerator("fp32")
    report: dict[str, Any] = {
        "command": "prune",
        "model": config.model,
        "task": task.spec.name,
        "before": {
            **asdict(before),
            "parameters": count_parameters(model),
            "eval": evaluate_model(model, features, accelerator),
        },
    }
    return PruneRun(config, task, task_type, model, tokenizer, before, labels, length, features, accelerator, report)


def _kept_pieces(run: PruneRun) -> list[int]:
    """The vocabulary ids --prune-vocab keeps: the training data's pieces and --vocab-top."""
    vocab = run.config.vocab
    corpus = None
    if vocab.vocab_corpus is not None:
        with open(vocab.vocab_corpus, encoding="utf-8") as lines:
            corpus = piece_counts(run.tokenizer, (line.strip() for line in lines if line.strip()))
    return data_ids(run.tokenizer, run.features.train, corpus, vocab.vocab_top)


def _cut_structure(run: PruneRun, keep: list[int] | None) -> PreTrainedModel:
    """The model cut to the shape the options give (a preset, shape options or a budget), its
    layers given, the uniform map's, or chosen by importance."""
    config, model, spec = run.config, run.model, run.config.student
    budgeted = any(v is not None for v in (config.sparsity, config.target_params, config.target_latency))
    layers = spec.layers if spec.layers is not None or not budgeted else run.before.layers  # a budget keeps depth
    shape = resolve_shape(model.config, spec.student, layers, spec.hidden, spec.heads, spec.intermediate)
    if spec.student is None and spec.layers is None and spec.layer_map is not None:
        shape = type(shape)(len(spec.layer_map), shape.hidden, shape.heads, shape.intermediate)
    limit = config_position_limit(model.config)
    if config.target_latency is not None and limit is not None and config.latency_seq_len > limit:
        raise TinyBertError(
            f"--latency-seq-len {config.latency_seq_len}: --model {config.model} takes at most {limit} tokens"
        )
    # The kept layers: given, the uniform map's, or (None) chosen by importance in the cut; a
    # budget counts the uniform map's when importance will choose (layers of one model are alike).
    uniform = uniform_map(shape.layers, model.config.num_hidden_layers).teacher_layers
    kept_layers = spec.layer_map or (uniform if spec.layer_choice == "uniform" else None)
    if budgeted:
        shape = _budget(run, kept_layers or uniform, keep)
    batches = run.features.loader(run.features.train[: spec.prune_samples], 32, shuffle=False)
    pruned, cut = cut_model(
        model, shape, batches, layers=kept_layers, head_class=run.task_type.head_class, option="tinybert prune"
    )
    run.report["cut"] = cut.describe()
    return pruned


def _budget(run: PruneRun, layers: tuple[int, ...], keep: list[int] | None) -> StudentShape:
    """The widest shape within the budget (--sparsity, --target-params or --target-latency),
    recorded in the report."""
    config = run.config
    budgets = {
        "--sparsity": config.sparsity,
        "--target-params": config.target_params,
        "--target-latency": config.target_latency,
    }
    budget = budget_shape(
        run.model,
        layers,
        run.task_type.head_class,
        sparsity=config.sparsity,
        target_params=config.target_params,
        target_latency_ms=config.target_latency,
        seq_len=config.latency_seq_len,
        vocab_size=None if keep is None else len(keep),
        option=next(flag for flag, value in budgets.items() if value is not None),
    )
    run.report["budget"] = {
        "sparsity": config.sparsity,
        "target_params": config.target_params,
        "shape": asdict(budget.shape),
        "encoder_sparsity": round(budget.sparsity, 4),
    }
    if config.target_latency is not None:
        run.report["budget"]["latency"] = {
            "target_ms": config.target_latency,
            "seq_len": config.latency_seq_len,
            "threads": torch.get_num_threads(),
            "measured_ms": round(budget.latency_ms, 3),
            "model_ms": round(budget.original_latency_ms, 3),
        }
    return budget.shape


def _cut_vocabulary(
    run: PruneRun, pruned: PreTrainedModel, keep: list[int]
) -> tuple[PreTrainedTokenizerBase, Features]:
    """The embedding table and tokenizer cut to ``keep``; the features of the dev text through it."""
    dropped = dropped_share(run.tokenizer, keep, run.features.evals, "--prune-vocab")
    tokenizer, vocab = prune_vocabulary(pruned, run.tokenizer, keep)
    run.report["vocab"] = {
        **asdict(vocab),
        "top": run.config.vocab.vocab_top,
        "corpus": str(run.config.vocab.vocab_corpus or ""),
        "dropped_pieces": dropped,
    }
    return tokenizer, Features(run.task, tokenizer, run.labels, run.length)  # dev text through the pruned tokenizer


def _save(
    run: PruneRun, pruned: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, features: Features, output: Path
) -> PruneResult:
    """The pruned model into ``output``, scored; returns the report written to ``pruning.json``."""
    use_default_attention(pruned)
    save_model(pruned, tokenizer, output / "model")
    install_model(output / "model", output)
    after = describe_encoder(pruned.config, "--model")
    report = run.report
    report["after"] = {
        **asdict(after),
        "parameters": count_parameters(pruned),
        "size_bytes": folder_size(output),
        "eval": evaluate_model(pruned, features, run.accelerator),
    }
    report["environment"] = environment()
    write_json(output / "pruning.json", report)
    result = parse(PruneResult, report)
    log.info("pruned %s -> %s", result.before.parameters, result.after.parameters)
    return result
