"""Building students: shapes, presets, and initialisation from mapped teacher layers."""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import asdict, dataclass
from typing import Any

import torch
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)

from tinybert.config import STUDENT_PRESETS, StudentShape, StudentSpec
from tinybert.distillation.layer_map import LayerMap, parse_layer_map, uniform_map
from tinybert.errors import TinyBertError
from tinybert.models.loading import describe_encoder, first_line, label_config, load_config
from tinybert.tasks.base import task_type_for_model

log = logging.getLogger(__name__)

_GENERIC_LABEL = re.compile(r"^LABEL_\d+$")
_LAYER_KEY = re.compile(r"(^|\.)layer\.(\d+)\.")


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


def build_student(
    teacher_config: PretrainedConfig, shape: StudentShape, head: bool = True, head_class: Any = None
) -> PreTrainedModel:
    """A randomly initialised model of the teacher's family, vocabulary and labels, in ``shape``.

    ``head_class``: the auto class of the head (default ``AutoModelForSequenceClassification``);
    ``head=False``: the bare encoder (``AutoModel``), as general distillation trains it.
    """
    config = copy.deepcopy(teacher_config)
    config.num_hidden_layers = shape.layers
    config.hidden_size = shape.hidden
    config.num_attention_heads = shape.heads
    config.intermediate_size = shape.intermediate
    config.architectures = None
    return ((head_class or AutoModelForSequenceClassification) if head else AutoModel).from_config(config)


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


def make_student(
    spec: StudentSpec, teacher: PreTrainedModel, labels: tuple[str, ...] | None, head: bool = True
) -> tuple[PreTrainedModel, LayerMap, dict]:
    """Build the student ``spec`` describes for ``teacher``: its model, layer map, and a description.

    The student gets the teacher's kind of head (its task type's head class). A folder student
    is loaded (with a head over the teacher's labels); otherwise the student is
    built in the resolved shape and, with ``init="teacher"``, initialised from the mapped layers.
    ``head=False`` gives the bare encoder instead (general distillation; ``labels`` unused).
    """
    t_cfg = teacher.config
    head_class = task_type_for_model(teacher).head_class if head else None  # the teacher's kind of head
    if spec.is_folder:
        s_cfg = load_config(spec.student, "--student")
        if s_cfg.vocab_size != t_cfg.vocab_size:
            raise TinyBertError(
                f"--student {spec.student}: vocabulary of {s_cfg.vocab_size} tokens, the "
                f"teacher's has {t_cfg.vocab_size}; expected the same tokenizer"
            )
        try:
            student = (
                head_class.from_pretrained(spec.student, ignore_mismatched_sizes=True, **label_config(labels))
                if head
                else AutoModel.from_pretrained(spec.student)
            )
        except (OSError, ValueError) as err:
            raise TinyBertError(f"--student {spec.student}: cannot load ({first_line(err)})") from None
        info: dict = {"init": f"folder {spec.student}"}
    else:
        shape = resolve_shape(t_cfg, spec.student, spec.layers, spec.hidden, spec.heads, spec.intermediate)
        student = build_student(t_cfg, shape, head=head, head_class=head_class)
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
