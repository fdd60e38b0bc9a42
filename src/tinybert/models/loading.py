"""Loading models, configs and tokenizers with one-line errors; label checks."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from tinybert.config import StudentShape
from tinybert.errors import TinyBertError
from tinybert.models.structure import encoder_shape
from tinybert.tasks.base import DEFAULT_TASK_TYPE, TaskType, get_task_type

log = logging.getLogger(__name__)

_GENERIC_LABEL = re.compile(r"^LABEL_\d+$")
_LAYER_KEY = re.compile(r"(^|\.)layer\.(\d+)\.")


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def load_config(name_or_path: str, option: str) -> PretrainedConfig:
    """The model's config, from a local folder or the hub, with a one-line error otherwise."""
    path = Path(name_or_path)
    if path.exists() and not (path / "config.json").is_file():
        raise TinyBertError(
            f"{option} {name_or_path}: folder has no config.json (expected a Hugging Face model folder)"
        )
    try:
        return AutoConfig.from_pretrained(name_or_path)
    except (OSError, ValueError) as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load a model config ({first_line(err)})") from None


def load_tokenizer(name_or_path: str, option: str) -> PreTrainedTokenizerBase:
    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError, TypeError) as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load its tokenizer ({first_line(err)})") from None


def has_named_labels(config: PretrainedConfig) -> bool:
    """False when id2label is transformers' placeholder ``LABEL_0, LABEL_1, ...``."""
    names = list(config.id2label.values())
    return not all(_GENERIC_LABEL.match(str(n)) for n in names)


def label_config(labels: tuple[str, ...] | None) -> dict:
    """Config overrides for a head over ``labels`` (None: one regression output)."""
    if labels is None:
        return {"num_labels": 1, "problem_type": "regression", "id2label": {0: "LABEL_0"}, "label2id": {"LABEL_0": 0}}
    return {
        "num_labels": len(labels),
        "problem_type": "single_label_classification",
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }


def check_labels(config: PretrainedConfig, labels: tuple[str, ...] | None, option: str) -> None:
    """The model's head must predict the data's labels: same names (any order) or a regression head."""
    if labels is None:
        if config.num_labels != 1:
            raise TinyBertError(
                f"{option}: the task is regression but the model predicts {config.num_labels} "
                f"classes ({', '.join(map(str, config.id2label.values()))}); expected one output"
            )
        return
    model_labels = [str(config.id2label[i]) for i in range(config.num_labels)]
    if not has_named_labels(config):
        raise TinyBertError(
            f"{option}: the model's labels are unnamed ({', '.join(model_labels)}), so it is not known which "
            f"class is which; set id2label in its config.json to the data's labels ({', '.join(labels)})"
        )
    if sorted(model_labels) != sorted(labels):
        raise TinyBertError(
            f"{option}: the model predicts labels {model_labels} but the data has {list(labels)}; "
            "expected the same label names"
        )


def load_classifier(
    name_or_path: str,
    labels: tuple[str, ...] | None,
    option: str,
    new_head: bool,
    task_type: TaskType | None = None,
) -> PreTrainedModel:
    """A model with the head of ``task_type`` (default: a sequence classifier) for ``labels``.

    ``new_head=False`` (a teacher to distil from, a model to evaluate): the head must already
    predict these labels. ``new_head=True`` (fine-tuning): a model with no head, or with
    placeholder labels, gets a fresh head over ``labels``; one already fine-tuned on the same
    label names keeps its head and label order.
    """
    task_type = task_type if task_type is not None else get_task_type(DEFAULT_TASK_TYPE)
    head = task_type.architecture
    config = load_config(name_or_path, option)
    overrides: dict = {}
    if new_head:
        keeps_head = (labels is None and config.num_labels == 1 and config.problem_type == "regression") or (
            labels is not None
            and has_named_labels(config)
            and config.num_labels == len(labels)
            and sorted(map(str, config.id2label.values())) == sorted(labels)
        )
        if not keeps_head:
            if (
                has_named_labels(config)
                and config.architectures
                and any(a.endswith(head) for a in config.architectures)
            ):
                raise TinyBertError(
                    f"{option} {name_or_path}: already fine-tuned for labels "
                    f"{list(config.id2label.values())}, the data has {list(labels or ['<regression>'])}"
                )
            overrides = label_config(labels)
    else:
        architectures = config.architectures or []
        if architectures and not any(a.endswith(head) for a in architectures):
            raise TinyBertError(
                f"{option} {name_or_path}: has no classification head ({', '.join(architectures)}); "
                "expected a model fine-tuned on the task: run `tinybert finetune` first"
            )
        check_labels(config, labels, option)
    try:
        model = task_type.head_class.from_pretrained(name_or_path, ignore_mismatched_sizes=bool(overrides), **overrides)
    except (OSError, ValueError, KeyError) as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load the model ({first_line(err)})") from None
    return model


def load_encoder(name_or_path: str, option: str) -> PreTrainedModel:
    """The bare encoder (``AutoModel``) of a pre-trained or fine-tuned model; any task head is dropped."""
    load_config(name_or_path, option)
    try:
        return AutoModel.from_pretrained(name_or_path)
    except (OSError, ValueError, KeyError) as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load the model ({first_line(err)})") from None


def describe_encoder(config: PretrainedConfig, option: str) -> StudentShape:
    """The encoder shape of ``config``, or an error when the model is not a BERT-like encoder."""
    return encoder_shape(config, option)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def folder_size(path: Path) -> int:
    """Bytes of the weight files in a model folder."""
    return sum(f.stat().st_size for f in path.glob("*.safetensors")) + sum(f.stat().st_size for f in path.glob("*.bin"))
