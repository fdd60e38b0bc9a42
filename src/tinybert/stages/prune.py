"""``tinybert prune``: structured and vocabulary pruning of a task model (mechanics in
:mod:`tinybert.models.pruning` and :mod:`tinybert.models.vocab`)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from transformers import set_seed

from tinybert.config import PruneConfig
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
from tinybert.tasks.base import get_task_type
from tinybert.tasks.loading import Features, load_data, model_labels
from tinybert.training.loop import make_accelerator

log = logging.getLogger(__name__)


def run_prune(config: PruneConfig) -> dict:
    """Prune ``config.model`` into ``config.run.output``; returns the report also written to
    ``output/pruning.json`` (shape before and after, what was kept, the estimators, dev metrics of
    the model before and after pruning, no recovery training)."""
    inputs = {"--model": config.model, **config.data.paths()}
    with output_folder(config.run.output, config.run.overwrite, inputs) as output:
        return _prune_into(config, output)


def _prune_into(config: PruneConfig, output: Path) -> dict:
    set_seed(0)
    task = load_data(config.data, need_train=True)
    task_type = get_task_type(task.task_type)
    model = load_classifier(config.model, task.spec.label_names, "--model", new_head=False, task_type=task_type)
    model.eval()
    tokenizer = load_tokenizer(config.model, "--model")
    before = describe_encoder(model.config, "--model")
    labels = model_labels(model, task)
    length = sequence_length(
        model, config.data.max_seq_length, task.spec.max_seq_length, "--max-seq-length", f"--model {config.model}"
    )
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
    keep = None
    if config.vocab.prune_vocab:  # known before the cut: a --target-params budget counts the pruned vocabulary
        corpus = None
        if config.vocab.vocab_corpus is not None:
            with open(config.vocab.vocab_corpus, encoding="utf-8") as lines:
                corpus = piece_counts(tokenizer, (line.strip() for line in lines if line.strip()))
        keep = data_ids(tokenizer, features.train, corpus, config.vocab.vocab_top)
    pruned = model
    if config.prunes_structure:
        budgets = {
            "--sparsity": config.sparsity,
            "--target-params": config.target_params,
            "--target-latency": config.target_latency,
        }
        budgeted = any(v is not None for v in budgets.values())
        spec = config.student
        layers = spec.layers if spec.layers is not None or not budgeted else before.layers  # a budget keeps depth
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
        layers = spec.layer_map or (uniform if spec.layer_choice == "uniform" else None)
        counted = layers or uniform
        if budgeted:
            budget = budget_shape(
                model,
                counted,
                task_type.head_class,
                sparsity=config.sparsity,
                target_params=config.target_params,
                target_latency_ms=config.target_latency,
                seq_len=config.latency_seq_len,
                vocab_size=None if keep is None else len(keep),
                option=next(flag for flag, value in budgets.items() if value is not None),
            )
            shape = budget.shape
            report["budget"] = {
                "sparsity": config.sparsity,
                "target_params": config.target_params,
                "shape": asdict(shape),
                "encoder_sparsity": round(budget.sparsity, 4),
            }
            if config.target_latency is not None:
                report["budget"]["latency"] = {
                    "target_ms": config.target_latency,
                    "seq_len": config.latency_seq_len,
                    "threads": torch.get_num_threads(),
                    "measured_ms": round(budget.latency_ms, 3),
                    "model_ms": round(budget.original_latency_ms, 3),
                }
        batches = features.loader(features.train[: config.student.prune_samples], 32, shuffle=False)
        pruned, cut = cut_model(
            model,
            shape,
            batches,
            layers=layers,
            head_class=task_type.head_class,
            option="tinybert prune",
        )
        report["cut"] = cut.describe()
    if keep is not None:
        dropped = dropped_share(tokenizer, keep, features.evals, "--prune-vocab")
        tokenizer, vocab = prune_vocabulary(pruned, tokenizer, keep)
        report["vocab"] = {
            **asdict(vocab),
            "top": config.vocab.vocab_top,
            "corpus": str(config.vocab.vocab_corpus or ""),
            "dropped_pieces": dropped,
        }
        features = Features(task, tokenizer, labels, length)  # dev text through the pruned tokenizer
    use_default_attention(pruned)
    save_model(pruned, tokenizer, output / "model")
    install_model(output / "model", output)
    after = describe_encoder(pruned.config, "--model")
    report["after"] = {
        **asdict(after),
        "parameters": count_parameters(pruned),
        "size_bytes": folder_size(output),
        "eval": evaluate_model(pruned, features, accelerator),
    }
    report["environment"] = environment()
    write_json(output / "pruning.json", report)
    log.info("pruned %s -> %s", report["before"]["parameters"], report["after"]["parameters"])
    return report
