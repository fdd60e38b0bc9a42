"""Building students: shapes, presets, and initialisation from mapped teacher layers."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)

from tinybert.config import STUDENT_PRESETS, StudentShape, StudentSpec
from tinybert.errors import TinyBertError
from tinybert.models.heads import permute_labels
from tinybert.models.layer_map import LayerMap, parse_layer_map, uniform_map
from tinybert.models.loading import check_labels, describe_encoder, label_config, load_config, load_pretrained
from tinybert.models.structure import bert_student_config, encoder_layers, student_config
from tinybert.tasks.base import task_type_for_model

log = logging.getLogger(__name__)

_GENERIC_LABEL = re.compile(r"^LABEL_\d+$")


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
    teacher_config: PretrainedConfig,
    shape: StudentShape,
    head: bool = True,
    head_class: Any = None,
    teacher_layers: tuple[int, ...] | None = None,
    arch: str | None = None,
) -> PreTrainedModel:
    """A randomly initialised model of the teacher's family, vocabulary and labels, in ``shape``.

    ``head_class``: the auto class of the head (default ``AutoModelForSequenceClassification``);
    ``head=False``: the bare encoder (``AutoModel``), as general distillation trains it.
    ``teacher_layers``: the layer map, for per-layer config fields (default: uniform).
    ``arch="bert"``: a BERT student whatever the teacher's architecture (``--student-arch``).
    """
    if teacher_layers is None:
        teacher_layers = uniform_map(shape.layers, teacher_config.num_hidden_layers).teacher_layers
    if arch == "bert":
        config = bert_student_config(teacher_config, shape)
    else:
        config = student_config(teacher_config, shape, tuple(teacher_layers))
    return ((head_class or AutoModelForSequenceClassification) if head else AutoModel).from_config(config)


@dataclass(frozen=True)
class InitReport:
    copied: list[str]
    """Student tensors copied from the teacher."""
    skipped: list[str]
    """Student tensors left random (no teacher counterpart of the same shape), with the reason."""


def _layer_index(key: str, prefix: str) -> tuple[int, str] | None:
    """``prefix.N.rest`` -> (N, rest); None for a key outside the layer list ``prefix``."""
    if not key.startswith(prefix + "."):
        return None
    index, _, rest = key[len(prefix) + 1 :].partition(".")
    return int(index), rest


def teacher_keys(student: PreTrainedModel, teacher: PreTrainedModel, layer_map: LayerMap) -> dict[str, str]:
    """For every student state-dict key, the teacher key that initialises it.

    The layer lists are found by structure (:func:`encoder_layers`): student layer m (module
    index m-1) takes teacher layer g(m) (module index g(m)-1); every other tensor (embeddings,
    relative-position tables, pooler, classifier) keeps its name. Models whose layers share
    weights (ALBERT) have no layer list: their shared layer is copied by name.
    """
    s_list, t_list = encoder_layers(student), encoder_layers(teacher)
    if (s_list is None) != (t_list is None):
        raise TinyBertError("--init teacher: the student's and the teacher's layer structures differ")
    keys = {}
    for key in student.state_dict():
        found = _layer_index(key, s_list[0]) if s_list is not None else None
        if found is None:
            keys[key] = key
        else:
            index, rest = found
            keys[key] = f"{t_list[0]}.{layer_map.teacher_layers[index] - 1}.{rest}"
    return keys


@torch.no_grad()
def init_from_teacher(student: PreTrainedModel, teacher: PreTrainedModel, layer_map: LayerMap) -> InitReport:
    """Copy the teacher's embeddings and mapped layers into ``student`` where shapes match.

    Every copy is shape-checked; tensors whose shapes differ (a narrower student) stay random
    and are listed in the report.
    """
    teacher_state = teacher.state_dict()
    copied, skipped = [], []
    for key, source in teacher_keys(student, teacher, layer_map).items():
        tensor = student.state_dict()[key]
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


def _load_folder(
    folder: str, config: PretrainedConfig, head: bool, head_class: Any, task_type: Any, labels: tuple[str, ...] | None
) -> tuple[PreTrainedModel, str | None]:
    """A folder student; with ``head``, its head over ``labels`` in that order, and what became of it.

    A folder that is already a classifier keeps its head: permuted into the order of ``labels``
    when its label names are the same, refused otherwise (never a silent new head). A folder
    without a head of the task type (an encoder, a general-distillation student) gets a new head.
    """
    option = f"--student {folder}"
    if not head:
        return load_pretrained(AutoModel, folder, "--student"), None
    if not any(a.endswith(task_type.architecture) for a in config.architectures or []):
        log.warning("%s has no %s head: a new head over the teacher's labels is trained", option, task_type.name)
        return load_pretrained(head_class, folder, "--student", **label_config(labels)), "new"
    check_labels(config, labels, option)
    student = load_pretrained(head_class, folder, "--student")
    if labels is not None and permute_labels(student, labels, option):
        log.info("%s: head rows permuted into the teacher's label order %s", option, list(labels))
        return student, "kept, permuted into the teacher's label order"
    return student, "kept"


def _layer_map(spec: StudentSpec, s_layers: int, t_layers: int) -> LayerMap:
    return parse_layer_map(spec.layer_map, s_layers, t_layers) if spec.layer_map else uniform_map(s_layers, t_layers)


def make_student(
    spec: StudentSpec,
    teacher: PreTrainedModel,
    labels: tuple[str, ...] | None,
    head: bool = True,
    batches: Callable[[], Iterable[dict[str, torch.Tensor]]] | None = None,
) -> tuple[PreTrainedModel, LayerMap, dict]:
    """Build the student ``spec`` describes for ``teacher``: its model, layer map, and a description.

    The student gets the teacher's kind of head (its task type's head class). A folder student
    is loaded (with a head over the teacher's labels); otherwise the student is
    built in the resolved shape and, with ``init="teacher"``, initialised from the mapped layers.
    ``head=False`` gives the bare encoder instead (general distillation; ``labels`` unused).
    ``init="prune"`` cuts the student from the teacher by importance measured on ``batches()``
    (model inputs, with ``labels`` where the task has them): see :mod:`tinybert.models.pruning`.
    Its description then holds ``kept_hidden`` (teacher residual dimension of each student one) and,
    when fewer heads are kept, ``kept_heads`` (teacher heads of each student layer), which the
    objective uses for the index-map projections and the head-to-head attention loss.
    """
    t_cfg = teacher.config
    head_class = task_type_for_model(teacher).head_class if head else None  # the teacher's kind of head
    if spec.init == "auto" and not spec.is_folder:
        spec = replace(spec, init=auto_init(spec, teacher))
        log.info("--init auto: %s", spec.init)
        if spec.init != "prune" and spec.layer_choice != "uniform":
            log.warning(
                "--layer-choice %s is for a cut, and --init auto is %s here: the layer map is the uniform one",
                spec.layer_choice,
                spec.init,
            )
    if spec.init == "prune" and not spec.is_folder:
        return _pruned_student(spec, teacher, head, head_class, batches)
    if spec.is_folder:
        s_cfg = load_config(spec.student, "--student")
        if s_cfg.vocab_size != t_cfg.vocab_size:
            raise TinyBertError(
                f"--student {spec.student}: vocabulary of {s_cfg.vocab_size} tokens, the "
                f"teacher's has {t_cfg.vocab_size}; expected the same tokenizer"
            )
        student, head_note = _load_folder(spec.student, s_cfg, head, head_class, task_type_for_model(teacher), labels)
        info: dict = {"init": f"folder {spec.student}"}
        if head_note:
            info["head"] = head_note
        cut = _cut_of(spec.student, teacher)
        if cut is not None:  # cut from this teacher by tinybert prune: as --init prune from here on
            if not spec.layer_map:
                spec = replace(spec, layer_map=tuple(cut["layers"]))
            info["kept_hidden"] = cut["hidden"]
            if len(cut["heads"][0]) != t_cfg.num_attention_heads:
                info["kept_heads"] = cut["heads"]
            info["pruning"] = {"layers": cut["layers"], "from": "pruning.json"}
    else:
        shape = resolve_shape(t_cfg, spec.student, spec.layers, spec.hidden, spec.heads, spec.intermediate)
        layer_map = _layer_map(spec, shape.layers, t_cfg.num_hidden_layers)
        student = build_student(
            t_cfg,
            shape,
            head=head,
            head_class=head_class,
            teacher_layers=layer_map.teacher_layers,
            arch=spec.student_arch,
        )
        info = {"init": spec.init, "shape": asdict(shape), "architecture": student.config.model_type}
    layer_map = _layer_map(spec, student.config.num_hidden_layers, t_cfg.num_hidden_layers)
    if spec.init == "teacher" and not spec.is_folder:
        report = init_from_teacher(student, teacher, layer_map)
        info["copied_tensors"] = len(report.copied)
        info["random_tensors"] = len(report.skipped)
        layers = encoder_layers(student)
        prefix = layers[0] + "." if layers is not None else ""
        if not any(k.startswith(prefix) and "embeddings" not in k for k in report.copied if "classifier" not in k):
            raise TinyBertError(
                "--init teacher: no teacher tensor has the student's shape (student hidden "
                f"{student.config.hidden_size}, teacher {t_cfg.hidden_size}); "
                "use --init random or the teacher's --hidden"
            )
        log.info("init from teacher: %d tensors copied, %d left random", len(report.copied), len(report.skipped))
    return student, layer_map, info


def _cut_of(folder: str, teacher: PreTrainedModel) -> dict | None:
    """The cut recorded in ``folder/pruning.json`` when ``tinybert prune`` made the folder from
    ``teacher`` (same path) without changing its vocabulary; else None."""
    import json
    from pathlib import Path

    path = Path(folder) / "pruning.json"
    if not path.is_file():
        return None
    report = json.loads(path.read_text())
    source, cut = report.get("model"), report.get("cut")
    teacher_path = getattr(teacher, "name_or_path", None)
    if cut is None or "vocab" in report or not source or not teacher_path:
        return None
    if Path(source).resolve() != Path(teacher_path).resolve():
        return None
    return cut


def auto_init(spec: StudentSpec, teacher: PreTrainedModel) -> str:
    """What ``--init auto`` means for ``spec``: ``teacher`` when the student keeps the teacher's width,
    heads and FFN (its layers can be copied whole), ``prune`` when it is a narrower cut of a prunable
    architecture, else ``random``."""
    from tinybert.models.pruning import check_shape

    if spec.student_arch is not None:
        return "random"
    base = describe_encoder(teacher.config, "--teacher")
    shape = resolve_shape(teacher.config, spec.student, spec.layers, spec.hidden, spec.heads, spec.intermediate)
    if (shape.hidden, shape.heads, shape.intermediate) == (base.hidden, base.heads, base.intermediate):
        return "teacher"
    try:
        check_shape(teacher, shape, "--init auto")
    except TinyBertError:
        return "random"
    return "prune"


def _pruned_student(
    spec: StudentSpec,
    teacher: PreTrainedModel,
    head: bool,
    head_class: Any,
    batches: Callable[[], Iterable[dict[str, torch.Tensor]]] | None,
) -> tuple[PreTrainedModel, LayerMap, dict]:
    """``--init prune``: the student in the resolved shape, cut from ``teacher`` by importance."""
    from tinybert.models.pruning import cut_model

    if spec.student_arch is not None:
        raise TinyBertError("--init prune: a cut keeps the teacher's architecture: drop --student-arch")
    if batches is None:
        raise TinyBertError("--init prune: needs data to measure importance on")
    t_cfg = teacher.config
    shape = resolve_shape(t_cfg, spec.student, spec.layers, spec.hidden, spec.heads, spec.intermediate)
    by_importance = spec.layer_choice == "importance" and not spec.layer_map
    fixed = None if by_importance else _layer_map(spec, shape.layers, t_cfg.num_hidden_layers).teacher_layers
    student, cut = cut_model(teacher, shape, batches(), layers=fixed, head=head, head_class=head_class)
    layer_map = LayerMap(tuple(cut.layers), t_cfg.num_hidden_layers)
    info: dict = {
        "init": "prune",
        "shape": asdict(shape),
        "architecture": student.config.model_type,
        "pruning": {"layers": cut.layers, "estimators": cut.estimators},
        "kept_hidden": cut.hidden,
    }
    if shape.heads != t_cfg.num_attention_heads:
        info["kept_heads"] = cut.heads
    log.info("init prune: teacher layers %s, estimators %s", cut.layers, cut.estimators)
    return student, layer_map, info
