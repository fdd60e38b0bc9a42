"""Loading teachers, building students, and initialising students from teacher layers."""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from tinybert.config import STUDENT_PRESETS, StudentShape, StudentSpec
from tinybert.errors import TinyBertError
from tinybert.layer_map import LayerMap, parse_layer_map, uniform_map

log = logging.getLogger(__name__)

_GENERIC_LABEL = re.compile(r"^LABEL_\d+$")
_LAYER_KEY = re.compile(r"(^|\.)layer\.(\d+)\.")


def _first_line(err: BaseException) -> str:
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
        raise TinyBertError(f"{option} {name_or_path}: cannot load a model config ({_first_line(err)})") from None


def load_tokenizer(name_or_path: str, option: str) -> PreTrainedTokenizerBase:
    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError, TypeError) as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load its tokenizer ({_first_line(err)})") from None


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


def load_classifier(name_or_path: str, labels: tuple[str, ...] | None, option: str, new_head: bool) -> PreTrainedModel:
    """A sequence classifier for ``labels``.

    ``new_head=False`` (a teacher to distil from, a model to evaluate): the head must already
    predict these labels. ``new_head=True`` (fine-tuning): a model with no head, or with
    placeholder labels, gets a fresh head over ``labels``; one already fine-tuned on the same
    label names keeps its head and label order.
    """
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
                and any(a.endswith("ForSequenceClassification") for a in config.architectures)
            ):
                raise TinyBertError(
                    f"{option} {name_or_path}: already fine-tuned for labels "
                    f"{list(config.id2label.values())}, the data has {list(labels or ['<regression>'])}"
                )
            overrides = label_config(labels)
    else:
        architectures = config.architectures or []
        if architectures and not any(a.endswith("ForSequenceClassification") for a in architectures):
            raise TinyBertError(
                f"{option} {name_or_path}: has no classification head ({', '.join(architectures)}); "
                "expected a model fine-tuned on the task: run `tinybert finetune` first"
            )
        check_labels(config, labels, option)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            name_or_path, ignore_mismatched_sizes=bool(overrides), **overrides
        )
    except (OSError, ValueError, KeyError) as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load the model ({_first_line(err)})") from None
    return model


def load_encoder(name_or_path: str, option: str) -> PreTrainedModel:
    """The bare encoder (``AutoModel``) of a pre-trained or fine-tuned model; any task head is dropped."""
    load_config(name_or_path, option)
    try:
        return AutoModel.from_pretrained(name_or_path)
    except (OSError, ValueError, KeyError) as err:
        raise TinyBertError(f"{option} {name_or_path}: cannot load the model ({_first_line(err)})") from None


def describe_encoder(config: PretrainedConfig, option: str) -> StudentShape:
    """The encoder shape of ``config``, or an error when the model is not a BERT-like encoder."""
    try:
        return StudentShape(
            layers=config.num_hidden_layers,
            hidden=config.hidden_size,
            heads=config.num_attention_heads,
            intermediate=config.intermediate_size,
        )
    except AttributeError as err:
        raise TinyBertError(
            f"{option}: {config.model_type} config has no {err.name}; expected a BERT-family encoder "
            "(num_hidden_layers, hidden_size, num_attention_heads, intermediate_size)"
        ) from None


def resolve_shape(
    teacher: PretrainedConfig,
    preset: str | None,
    layers: int | None,
    hidden: int | None,
    heads: int | None,
    intermediate: int | None,
) -> StudentShape:
    """Student shape from a preset, or from explicit values with the teacher's for the rest.

    With neither a preset nor any explicit value, the default is TinyBERT4 (4 layers, 312 wide).
    """
    if preset is not None:
        return STUDENT_PRESETS[preset]
    if layers is None and hidden is None and heads is None and intermediate is None:
        return STUDENT_PRESETS["tinybert-4l-312"]
    base = describe_encoder(teacher, "--teacher")
    hidden = hidden if hidden is not None else base.hidden
    return StudentShape(
        layers=layers if layers is not None else base.layers,
        hidden=hidden,
        heads=heads if heads is not None else base.heads,
        intermediate=intermediate
        if intermediate is not None
        else (base.intermediate if hidden == base.hidden else 4 * hidden),
    )


def build_student(teacher_config: PretrainedConfig, shape: StudentShape, head: bool = True) -> PreTrainedModel:
    """A randomly initialised model of the teacher's family, vocabulary and labels, in ``shape``.

    ``head=False``: the bare encoder (``AutoModel``), as general distillation trains it.
    """
    config = copy.deepcopy(teacher_config)
    config.num_hidden_layers = shape.layers
    config.hidden_size = shape.hidden
    config.num_attention_heads = shape.heads
    config.intermediate_size = shape.intermediate
    config.architectures = None
    return (AutoModelForSequenceClassification if head else AutoModel).from_config(config)


@dataclass(frozen=True)
class InitReport:
    copied: list[str]
    """Student tensors copied from the teacher."""
    skipped: list[str]
    """Student tensors left random (no teacher counterpart of the same shape), with the reason."""


def teacher_key(student_key: str, layer_map: LayerMap) -> str:
    """Teacher state-dict key that initialises ``student_key``.

    Student encoder layer module ``layer.{m-1}`` (layer m, 1-based) takes teacher layer
    ``layer.{g(m)-1}``; every other tensor (embeddings, pooler, classifier) keeps its name.
    """

    def swap(match: re.Match[str]) -> str:
        m = int(match.group(2)) + 1  # module index is 0-based, layer numbers 1-based
        return f"{match.group(1)}layer.{layer_map.teacher_layers[m - 1] - 1}."

    return _LAYER_KEY.sub(swap, student_key, count=1)


@torch.no_grad()
def init_from_teacher(student: PreTrainedModel, teacher: PreTrainedModel, layer_map: LayerMap) -> InitReport:
    """Copy the teacher's embeddings and mapped layers into ``student`` where shapes match.

    Every copy is shape-checked; tensors whose shapes differ (a narrower student) stay random
    and are listed in the report.
    """
    teacher_state = teacher.state_dict()
    copied, skipped = [], []
    for key, tensor in student.state_dict().items():
        source = teacher_key(key, layer_map)
        if source not in teacher_state:
            skipped.append(f"{key} (teacher has no {source})")
            continue
        value = teacher_state[source]
        if value.shape != tensor.shape:
            skipped.append(f"{key} (student {tuple(tensor.shape)}, teacher {source} {tuple(value.shape)})")
            continue
        tensor.copy_(value)
        copied.append(key)
    return InitReport(copied=copied, skipped=skipped)


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def folder_size(path: Path) -> int:
    """Bytes of the weight files in a model folder."""
    return sum(f.stat().st_size for f in path.glob("*.safetensors")) + sum(f.stat().st_size for f in path.glob("*.bin"))


def make_student(
    spec: StudentSpec, teacher: PreTrainedModel, labels: tuple[str, ...] | None, head: bool = True
) -> tuple[PreTrainedModel, LayerMap, dict]:
    """Build the student ``spec`` describes for ``teacher``: its model, layer map, and a description.

    A folder student is loaded (with a head over the teacher's labels); otherwise the student is
    built in the resolved shape and, with ``init="teacher"``, initialised from the mapped layers.
    ``head=False`` gives the bare encoder instead (general distillation; ``labels`` unused).
    """
    t_cfg = teacher.config
    if spec.is_folder:
        s_cfg = load_config(spec.student, "--student")
        if s_cfg.vocab_size != t_cfg.vocab_size:
            raise TinyBertError(
                f"--student {spec.student}: vocabulary of {s_cfg.vocab_size} tokens, the "
                f"teacher's has {t_cfg.vocab_size}; expected the same tokenizer"
            )
        try:
            student = (
                AutoModelForSequenceClassification.from_pretrained(
                    spec.student, ignore_mismatched_sizes=True, **label_config(labels)
                )
                if head
                else AutoModel.from_pretrained(spec.student)
            )
        except (OSError, ValueError) as err:
            raise TinyBertError(f"--student {spec.student}: cannot load ({_first_line(err)})") from None
        info: dict = {"init": f"folder {spec.student}"}
    else:
        shape = resolve_shape(t_cfg, spec.student, spec.layers, spec.hidden, spec.heads, spec.intermediate)
        student = build_student(t_cfg, shape, head=head)
        info = {"init": spec.init, "shape": asdict(shape)}
    s_layers, t_layers = student.config.num_hidden_layers, t_cfg.num_hidden_layers
    layer_map = (
        parse_layer_map(spec.layer_map, s_layers, t_layers) if spec.layer_map else uniform_map(s_layers, t_layers)
    )
    if spec.init == "teacher" and not spec.is_folder:
        report = init_from_teacher(student, teacher, layer_map)
        info["copied_tensors"] = len(report.copied)
        info["random_tensors"] = len(report.skipped)
        if not any(".embeddings." in k or ".layer." in k for k in report.copied):
            raise TinyBertError(
                "--init teacher: no teacher tensor has the student's shape (student hidden "
                f"{student.config.hidden_size}, teacher {t_cfg.hidden_size}); "
                "use --init random or the teacher's --hidden"
            )
        log.info("init from teacher: %d tensors copied, %d left random", len(report.copied), len(report.skipped))
    return student, layer_map, info
