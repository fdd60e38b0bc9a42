"""Loading models, configs and tokenizers with one-line errors; label checks."""

from __future__ import annotations

import json
import logging
import pickle
import re
from pathlib import Path
from typing import Any

import torch
from huggingface_hub.errors import StrictDataclassError
from safetensors import SafetensorError
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
from tinybert.models.structure import encoder_shape, validate_config
from tinybert.tasks.base import DEFAULT_TASK_TYPE, TaskType, get_task_type

log = logging.getLogger(__name__)

_GENERIC_LABEL = re.compile(r"^LABEL_\d+$")


TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
    "tokenizer.model",
)
"""Files of which a local model folder needs at least one for its tokenizer to load."""

LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError, StrictDataclassError, pickle.UnpicklingError, SafetensorError)
"""What loading a config, tokenizer or model raises on bad files (no traceback for the user)."""


def first_line(err: BaseException) -> str:
    """The message of ``err`` on one line (a strict-dataclass error: its cause, the last line)."""
    text = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    if isinstance(err, StrictDataclassError) and text:
        return text[-1]
    return text[0] if text else type(err).__name__


def looks_local(name_or_path: str) -> bool:
    """True for a name that can only be a local path (absolute, ``./``, ``~``, or inside an existing
    folder), not a hub id such as ``org/name``."""
    path = Path(name_or_path).expanduser()
    return (
        path.is_absolute()
        or name_or_path.startswith((".", "~"))
        or (len(path.parts) > 1 and path.parent.is_dir())
        or len(path.parts) > 2
    )


def check_local(name_or_path: str, option: str) -> Path | None:
    """The local folder ``name_or_path`` with a readable config.json, None for a hub id, or a one-line error."""
    path = Path(name_or_path).expanduser()
    if not path.exists():
        if looks_local(name_or_path):
            raise TinyBertError(f"{option} {name_or_path}: no such folder (expected a local model folder or a hub id)")
        return None
    if not path.is_dir():
        raise TinyBertError(f"{option} {name_or_path}: is a file, expected a Hugging Face model folder")
    config = path / "config.json"
    if not config.is_file():
        raise TinyBertError(
            f"{option} {name_or_path}: folder has no config.json (expected a Hugging Face model folder)"
        )
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TinyBertError(f"{option} {config}: not valid JSON ({first_line(err)})") from None
    return path


def check_weights(folder: Path, option: str) -> None:
    """The weight files of a local model folder are complete: each ``*.safetensors`` header parses
    and the file is as long as the header says; a folder with only pickle weights is named as such."""
    safetensors = sorted(folder.glob("*.safetensors"))
    for file in safetensors:
        problem = _safetensors_problem(file)
        if problem:
            raise TinyBertError(
                f"{option} {file}: {problem}; expected a complete safetensors file (copy or save the model again)"
            )
    if not safetensors and not any(folder.glob("*.bin")):
        raise TinyBertError(f"{option} {folder}: folder has no model weights (expected model.safetensors)")


def _safetensors_problem(file: Path) -> str | None:
    size = file.stat().st_size
    with file.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return f"truncated ({size} bytes)"
        length = int.from_bytes(head, "little")
        if length > size - 8:
            return f"truncated or corrupt (header of {length} bytes in a file of {size})"
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return "corrupt (its header is not JSON)"
    try:
        end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    except (TypeError, KeyError, IndexError):
        return "corrupt (its header lists no tensor offsets)"
    if size != 8 + length + end:
        return f"truncated or corrupt ({size} bytes, its header describes {8 + length + end})"
    return None


def load_pretrained(model_class: Any, name_or_path: str, option: str, **kwargs: Any) -> PreTrainedModel:
    """``model_class.from_pretrained(name_or_path, **kwargs)`` with the folder checked first and
    every load failure as one line naming ``option`` (pickle weights torch refuses: named as such)."""
    folder = check_local(name_or_path, option)
    if folder is not None:
        check_weights(folder, option)
    try:
        return model_class.from_pretrained(name_or_path, **kwargs)
    except pickle.UnpicklingError:
        raise TinyBertError(
            f"{option} {name_or_path}: its pickle weights (*.bin) hold objects that torch refuses to load "
            "safely (weights_only); expected model.safetensors (save the model with save_pretrained)"
        ) from None
    except LOAD_ERRORS as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load the model ({first_line(err)})") from None


def load_config(name_or_path: str, option: str) -> PretrainedConfig:
    """The model's config, from a local folder or the hub, with a one-line error otherwise."""
    check_local(name_or_path, option)
    try:
        config = AutoConfig.from_pretrained(name_or_path)
    except LOAD_ERRORS as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load a model config ({first_line(err)})") from None
    validate_config(config, f"{option} {name_or_path}")
    return config


def load_tokenizer(name_or_path: str, option: str) -> PreTrainedTokenizerBase:
    """The model's own tokenizer; a local folder must hold its files, and the tokenizer must fit
    the model's vocabulary (never transformers' fallback of a few special tokens)."""
    folder = check_local(name_or_path, option)
    if folder is not None and not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise TinyBertError(
            f"{option} {name_or_path}: folder has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, ...); "
            "expected the tokenizer the model was trained with (tokenizer.save_pretrained into the folder)"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except LOAD_ERRORS as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load its tokenizer ({first_line(err)})") from None
    if folder is not None:
        vocab = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("vocab_size")
        if isinstance(vocab, int) and len(tokenizer) > vocab:
            raise TinyBertError(
                f"{option} {name_or_path}: its tokenizer has {len(tokenizer)} tokens, the model's vocabulary "
                f"{vocab}; expected the model's own tokenizer"
            )
    return tokenizer


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
    head_options: dict[str, Any] | None = None,
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
    if not getattr(task_type, "has_labels", True):  # no labels to check; the head class reads its own head
        return load_pretrained(task_type.head_class, name_or_path, option, **(head_options or {}))
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
    return load_pretrained(
        task_type.head_class, name_or_path, option, ignore_mismatched_sizes=bool(overrides), **overrides
    )


def load_encoder(name_or_path: str, option: str) -> PreTrainedModel:
    """The bare encoder (``AutoModel``) of a pre-trained or fine-tuned model; any task head is dropped."""
    load_config(name_or_path, option)
    return load_pretrained(AutoModel, name_or_path, option)


def describe_encoder(config: PretrainedConfig, option: str) -> StudentShape:
    """The encoder shape of ``config``, or an error when the model is not a BERT-like encoder."""
    return encoder_shape(config, option)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def folder_size(path: Path) -> int:
    """Bytes of the weight files in a model folder."""
    return sum(f.stat().st_size for f in path.glob("*.safetensors")) + sum(f.stat().st_size for f in path.glob("*.bin"))
