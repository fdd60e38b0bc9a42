"""The TinyBERT objective: student and teacher outputs + layer map + weights -> loss and its parts."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

from tinybert.config import LossWeights
from tinybert.data.features import model_inputs
from tinybert.distillation.teacher_states import INDEX_KEY, StatesLayout, TeacherStates
from tinybert.errors import TinyBertError
from tinybert.losses import attention_mse, hidden_mse
from tinybert.models.attention import use_score_attention, uses_score_attention
from tinybert.models.layer_map import LayerMap
from tinybert.models.packing import PACKING_KWARG, is_right_padded, pack_inputs, position_offset, supports_packing
from tinybert.tasks.base import DEFAULT_TASK_TYPE, TaskType, get_task_type

TEACHER_LOGITS = "teacher_logits"
"""Optional batch key: the teacher's first prediction view (sequence tasks: its logits (B, C)),
computed once before the prediction stage; further views are under :func:`teacher_key` ``(v)``.

When a batch has it, the prediction stage uses it instead of running the teacher (whose outputs
for an example never change: it is frozen and in eval mode)."""


def teacher_key(view: int) -> str:
    """Batch key of the teacher's cached view number ``view`` (0: :data:`TEACHER_LOGITS`)."""
    return TEACHER_LOGITS if view == 0 else f"{TEACHER_LOGITS}_{view}"


@dataclass
class StepOutput:
    """What one forward of a trainable module returns to the training loop."""

    loss: torch.Tensor
    parts: dict[str, torch.Tensor]
    """Unweighted loss parts (detached scalars, on the device), for logging."""


def make_projection(student_width: int, teacher_width: int, kept: list[int] | None = None) -> nn.Module:
    """W: d' -> d, learned with the student and thrown away after; none when the widths match.

    ``kept`` (a pruned student: the teacher dimension of each student dimension) starts W as the
    cut's index map instead of at random."""
    if student_width == teacher_width:
        return nn.Identity()
    if kept is not None:
        if len(kept) != student_width or not all(0 <= k < teacher_width for k in kept):
            raise TinyBertError(
                f"pruned student: {len(kept)} kept dimensions for a width of {student_width} "
                f"(teacher {teacher_width}); the cut does not describe this student"
            )
        proj = nn.Linear(student_width, teacher_width)
        with torch.no_grad():
            proj.weight.zero_()
            proj.bias.zero_()
            proj.weight[torch.tensor(kept), torch.arange(student_width)] = 1.0
        return proj
    return nn.Linear(student_width, teacher_width)


def check_heads(
    s_cfg: PretrainedConfig,
    t_cfg: PretrainedConfig,
    weights: LossWeights,
    stages: list[str],
    kept_heads: list[list[int]] | None = None,
) -> None:
    """The attention loss compares heads one to one: the head counts must match when it is on,
    unless ``kept_heads`` (a pruned student) names the teacher head each student head came from."""
    if kept_heads is not None:
        if any(len(h) != s_cfg.num_attention_heads for h in kept_heads):
            raise TinyBertError(
                f"pruned student: the cut keeps {[len(h) for h in kept_heads]} heads per layer, the student "
                f"has {s_cfg.num_attention_heads}"
            )
        return
    if "intermediate" in stages and weights.attention > 0 and s_cfg.num_attention_heads != t_cfg.num_attention_heads:
        raise TinyBertError(
            f"student has {s_cfg.num_attention_heads} attention heads, the teacher "
            f"{t_cfg.num_attention_heads}: the attention loss compares heads one to one; give the student "
            f"--heads {t_cfg.num_attention_heads}, or turn the loss off with --loss-weights attention=0"
        )


class DistillationModule(nn.Module):
    """Student + frozen teacher + projections; ``forward(batch)`` is one distillation step's loss.

    ``stage="intermediate"``: embedding, attention and hidden losses (needs hidden states and
    pre-softmax scores from both models). ``stage="prediction"``: the task type's soft loss
    between the student's and the teacher's prediction views (sequence tasks: soft cross-entropy
    to the teacher's logits, MSE for regression), plus an optional hard-label term.

    ``task_type`` (default: sequence) gives the prediction views, the soft and the hard loss; a
    batch may carry the teacher's views precomputed (:data:`TEACHER_LOGITS`, :func:`teacher_key`).

    One module owns all trainable parameters so that Accelerate can wrap it for DDP/FSDP.
    The projections are separate per mapped layer (index 0: embeddings) and are not part of
    the student, so the saved student is a plain Hugging Face model.
    """

    def __init__(
        self,
        student: PreTrainedModel,
        teacher: PreTrainedModel,
        layer_map: LayerMap,
        weights: LossWeights,
        stage: str,
        temperature: float = 1.0,
        is_regression: bool = False,
        task_type: TaskType | None = None,
        kept_hidden: list[int] | None = None,
        kept_heads: list[list[int]] | None = None,
    ) -> None:
        super().__init__()
        if stage not in ("intermediate", "prediction"):
            raise ValueError(f"stage must be intermediate or prediction, got {stage!r}")
        check_heads(student.config, teacher.config, weights, [stage], kept_heads)
        if stage == "intermediate" and weights.attention > 0:
            # Never compare probabilities as if they were scores (a class that ignores the attention
            # interface returns probabilities as ``attentions``).
            for model, name in ((teacher, "--teacher"), (student, "--student")):
                if not uses_score_attention(model):
                    use_score_attention(model, name)
        s_cfg, t_cfg = student.config, teacher.config
        self.student = student
        self.teacher = teacher
        self.layer_map = layer_map
        self.weights = weights
        self.stage = stage
        self.temperature = temperature
        self.is_regression = is_regression
        self.task_type = task_type if task_type is not None else get_task_type(DEFAULT_TASK_TYPE)
        self.projections = nn.ModuleList(
            make_projection(s_cfg.hidden_size, t_cfg.hidden_size, kept_hidden)
            for _ in range(layer_map.num_student_layers + 1)
        )
        # A pruned student's head j of layer m learned from teacher head kept_heads[m-1][j].
        self.kept_heads = None if kept_heads is None else [torch.tensor(h) for h in kept_heads]
        teacher.eval()
        teacher.requires_grad_(False)
        # Padding-free forwards where both models give the padded outputs (checked once per model).
        scores = weights.attention > 0
        self.packs = stage == "intermediate" and supports_packing(teacher, scores) and supports_packing(student, scores)
        self.offsets = (position_offset(student), position_offset(teacher))
        self.states: TeacherStates | None = None
        """The teacher's stored outputs (:meth:`states_layout`); a batch with :data:`INDEX_KEY` reads
        them instead of running the teacher."""

    def states_layout(self) -> StatesLayout:
        """What the intermediate losses read of the teacher: the hidden states of the embeddings and
        the mapped layers (when a hidden-state loss is on), the scores of the mapped layers (when
        the attention loss is on)."""
        w, t_cfg = self.weights, self.teacher.config
        hidden = sorted({t for s, t in self.layer_map.hidden_pairs() if (w.embedding > 0 if s == 0 else w.hidden > 0)})
        attention = [t for _, t in self.layer_map.attention_pairs()] if w.attention > 0 else []
        return StatesLayout(tuple(hidden), tuple(attention), t_cfg.hidden_size, t_cfg.num_attention_heads)

    def train(self, mode: bool = True) -> DistillationModule:
        """Train the student and projections; the teacher always stays in eval mode (no dropout)."""
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, batch: dict[str, torch.Tensor]) -> StepOutput:
        inputs = model_inputs(batch)
        intermediate = self.stage == "intermediate"
        mask = inputs["attention_mask"]  # (B, L)
        token_mask = mask  # what the hidden-state losses mask: (B, L), or (1, N) ones when packed
        packed = intermediate and self.packs and not bool(mask.all()) and is_right_padded(mask)
        if packed:
            # Both models run on the N real tokens as one row: hidden states (1, N, D), scores (B, H, L, L).
            packed_inputs, packing = pack_inputs(inputs)
            positions = packed_inputs.pop("position_ids")  # (1, N), from 0 in each sequence
            t_inputs = {**packed_inputs, "position_ids": positions + self.offsets[1], PACKING_KWARG: packing}
            s_inputs = {**packed_inputs, "position_ids": positions + self.offsets[0], PACKING_KWARG: packing}
            token_mask = mask.new_ones(1, packing.indices.numel())
        else:
            t_inputs = s_inputs = inputs
        # The teacher's outputs are inference tensors: usable below as constants, since no loss
        # saves a teacher tensor for backward (they enter only through subtraction and softmax).
        t_hidden = t_attn = t_views = None
        if not intermediate and TEACHER_LOGITS in batch:
            t_views = [batch[teacher_key(v)] for v in range(len(self.task_type.output_names))]
        elif intermediate and self.states is not None and INDEX_KEY in batch:
            t_hidden, t_attn = self.states.batch(batch[INDEX_KEY], mask.shape[1], packed, mask.device)
        elif intermediate or self.weights.prediction > 0:
            with torch.inference_mode():
                t_out = self.teacher(**t_inputs, output_hidden_states=intermediate, output_attentions=intermediate)
            # Only the prediction stage reads the head: the intermediate stage also works with bare
            # encoders (general distillation, whose pre-trained teacher has no task head).
            t_hidden, t_attn = t_out.hidden_states, t_out.attentions
            t_views = None if intermediate else [scores for scores, _ in self.task_type.views(t_out, batch)]
        s_out = self.student(**s_inputs, output_hidden_states=intermediate, output_attentions=intermediate)
        parts: dict[str, torch.Tensor] = {}
        w = self.weights
        if intermediate:
            if w.embedding > 0:
                parts["embedding"] = hidden_mse(self.projections[0](s_out.hidden_states[0]), t_hidden[0], token_mask)
            if w.hidden > 0:
                parts["hidden"] = sum(
                    hidden_mse(self.projections[s](s_out.hidden_states[s]), t_hidden[t], token_mask)
                    for s, t in self.layer_map.hidden_pairs()
                    if s > 0
                )
            if w.attention > 0:
                parts["attention"] = sum(
                    attention_mse(s_out.attentions[s], self._teacher_heads(t_attn[t], s), mask)
                    for s, t in self.layer_map.attention_pairs()
                )
        else:
            s_views = self.task_type.views(s_out, batch)
            if w.prediction > 0:
                parts["prediction"] = self.task_type.soft_loss(s_views, t_views, self.temperature, self.is_regression)
            if w.hard_label > 0:
                parts["hard_label"] = self.task_type.hard_loss(s_views, batch["labels"], self.is_regression)
        if not parts:
            raise TinyBertError(f"all loss weights of the {self.stage} stage are 0: nothing to train")
        loss = sum(getattr(w, name) * value for name, value in parts.items())
        return StepOutput(loss=loss, parts={k: v.detach() for k, v in parts.items()})

    def _teacher_heads(self, scores: torch.Tensor, layer: int) -> torch.Tensor:
        """The teacher scores (B, H, L, L) of the heads student layer ``layer`` (0-based) kept."""
        if self.kept_heads is None:
            return scores
        return scores.index_select(1, self.kept_heads[layer].to(scores.device))


class SupervisedModule(nn.Module):
    """A model trained on gold labels (teacher fine-tuning, or a student without distillation).

    The loss is the Hugging Face head's own (``labels=``), or with ``task_type`` that task type's
    ``hard_loss`` of its views (a head whose labels are not one ``labels`` tensor: extractive QA's
    start and end positions)."""

    def __init__(self, model: PreTrainedModel, task_type: TaskType | None = None, is_regression: bool = False) -> None:
        super().__init__()
        self.model = model
        self.task_type = task_type
        self.is_regression = is_regression

    def forward(self, batch: dict[str, torch.Tensor]) -> StepOutput:
        if self.task_type is None:
            out = self.model(**model_inputs(batch), labels=batch["labels"])
            loss = out.loss
        else:
            views = self.task_type.views(self.model(**model_inputs(batch)), batch)
            loss = self.task_type.hard_loss(views, batch["labels"], self.is_regression)
        return StepOutput(loss=loss, parts={"task": loss.detach()})
