"""Structured pruning: importance of a teacher's layers, residual dimensions, heads, per-head
dimensions and feed-forward neurons, and the cut of a smaller model of the same architecture.

A cut keeps, from the teacher, some layers (in order), ``hidden`` of its residual dimensions, and in
every kept layer ``heads`` attention heads with ``hidden // heads`` of their query/key and of their
value dimensions each, and ``intermediate`` feed-forward neurons. The result is a plain model of
the teacher's class whose config states the new shape. Every kept weight is the teacher's, by
index; the query rows are scaled by ``sqrt(d_head' / d_head)`` so that the student's scaled scores
``q'.k' / sqrt(d_head')`` equal the partial sums ``q.k / sqrt(d_head)`` of the teacher's over the
kept dimensions.

Why heads are uniform across layers and ``heads * head size = hidden``: transformers 5 has no
``pruned_heads`` any more, and BERT-family configs derive the head size from ``hidden_size /
num_attention_heads``, so a config can state only that shape. A model the config does not describe
would load wrongly (or not at all) through ``from_pretrained``.

Importance estimators (all from one pass of the teacher over a few hundred examples, no training):

* **residual dimensions**: mean absolute activation over every hidden state (embeddings and each
  layer's output, padding excluded), summed across layers (Minitron's width estimator): a residual
  dimension is shared by all layers, so it is scored where it is read, everywhere.
* **feed-forward neurons**: mean absolute activation after the non-linearity (Minitron); a neuron
  that never fires contributes nothing to the output whatever its weights.
* **query/key dimensions of a head**: mean |q_d| times mean |k_d| (the size of the dimension's
  term in the scores); **value dimensions**: mean |v_d| times the norm of its output-projection
  column (the size of its contribution to the layer's output).
* **heads** (only when fewer heads are kept): with labels, Michel et al. (2019): the absolute
  gradient of the task loss with respect to a gate on each head's output (the first-order change
  in loss when the head is removed); without labels (raw text), the norm of the head's output after
  the output projection.
* **layers**: by default the teacher layers of the uniform map, g(m) = round(m * N / M) (the last one
  always kept); with ``--layer-choice importance``, block importance, 1 - cosine between a layer's
  input and output hidden states (ShortGPT / Minitron depth): a layer that barely turns its input
  matters least. Ties and the first and last layers are not special-cased. The uniform map is the
  default because it measured better as an init for distillation (BENCHMARKS.md, "Structured
  pruning": SST-2 83.8 against 82.8, MRPC 76.2 / 84.4 against 73.8 / 82.5, one seed each).

Supported: post-LayerNorm encoders whose layers are exactly query, key, value and output
projections, a two-matrix feed-forward block and two LayerNorms (BERT, RoBERTa, XLM-R, ELECTRA,
DistilBERT, MPNet), plus DeBERTa-v2/v3's own position projections; others are refused with a one-line
error. Architecture-specific tensors:

* **DeBERTa-v2/v3**: ``pos_key_proj`` and ``pos_query_proj`` (present unless ``share_att_key``) are
  cut like the key and query (the same kept rows; the position query scaled like the query, so the
  c2p and p2c terms are the teacher's partial sums over the kept dimensions); the relative position
  embeddings and their LayerNorm lose the pruned residual dimensions, like every embedding.
* **MPNet**: the relative position bias (one column per head) is shared by all layers, so a cut that
  keeps fewer heads keeps the same heads in every layer (scored by their importance summed over the
  kept layers) and keeps those heads' columns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from transformers import AutoModel, AutoModelForSequenceClassification, PreTrainedModel

from tinybert.config import StudentShape
from tinybert.data.features import model_inputs
from tinybert.errors import TinyBertError
from tinybert.models.layer_map import uniform_map
from tinybert.models.structure import encoder_layers, student_config

SUPPORTED = ("bert", "roberta", "xlm-roberta", "electra", "distilbert", "mpnet", "deberta-v2")
"""Model types whose layer structure the cut is verified on (tests/test_pruning.py)."""

SHARED_HEAD_TABLES = ("encoder.relative_attention_bias",)
"""Embeddings outside the layers with one column per head, shared by every layer (MPNet's relative
position bias): a cut keeps the same heads in all layers and these tables' columns of those heads."""

POSITION_PROJECTIONS = ("pos_key_proj", "pos_query_proj")
"""DeBERTa's per-layer position projections (absent with ``share_att_key``), cut like key and query."""


@dataclass
class LayerParts:
    """The modules of one post-LN encoder layer, found by structure (registration order and shape)."""

    query: nn.Linear
    key: nn.Linear
    value: nn.Linear
    output: nn.Linear
    ffn_in: nn.Linear
    ffn_out: nn.Linear
    attention_norm: nn.LayerNorm
    ffn_norm: nn.LayerNorm
    pos_key: nn.Linear | None = None
    """DeBERTa's position key projection (cut like ``key``), or None."""
    pos_query: nn.Linear | None = None
    """DeBERTa's position query projection (cut and scaled like ``query``), or None."""


def layer_parts(layer: nn.Module, hidden: int, option: str) -> LayerParts:
    """The six linear maps and two LayerNorms of ``layer`` (and DeBERTa's position projections), or a
    one-line error naming ``option``."""
    positions = {
        name.rsplit(".", 1)[-1]: m
        for name, m in layer.named_modules()
        if name.rsplit(".", 1)[-1] in POSITION_PROJECTIONS and isinstance(m, nn.Linear)
    }
    linears = [m for m in layer.modules() if isinstance(m, nn.Linear) and all(m is not p for p in positions.values())]
    norms = [m for m in layer.modules() if isinstance(m, nn.LayerNorm)]
    others = [
        name
        for name, m in layer.named_modules()
        if name
        and not list(m.children())
        and not isinstance(m, (nn.Linear, nn.LayerNorm, nn.Dropout))
        and any(True for _ in m.parameters(recurse=False))
    ]
    if len(linears) != 6 or len(norms) != 2 or others:
        raise TinyBertError(
            f"{option}: {type(layer).__name__} is not a post-LayerNorm encoder layer of query, key, value, "
            f"output, two feed-forward matrices and two LayerNorms ({len(linears)} linear maps, {len(norms)} "
            f"LayerNorms); pruning supports {', '.join(SUPPORTED)}"
        )
    q, k, v, o, fi, fo = linears
    inner = q.out_features
    ok = (
        all(m.in_features == hidden and m.out_features == inner for m in (q, k, v))
        and o.in_features == inner
        and o.out_features == hidden
        and fi.in_features == hidden
        and fo.in_features == fi.out_features
        and fo.out_features == hidden
        and all(tuple(n.normalized_shape) == (hidden,) for n in norms)
        and all(p.in_features == hidden and p.out_features == inner for p in positions.values())
    )
    if not ok:
        raise TinyBertError(
            f"{option}: the linear maps of {type(layer).__name__} do not have the shapes of query, key, value, "
            f"output and feed-forward projections of width {hidden}; pruning supports {', '.join(SUPPORTED)}"
        )
    return LayerParts(
        q, k, v, o, fi, fo, norms[0], norms[1], positions.get("pos_key_proj"), positions.get("pos_query_proj")
    )


def _layers(model: PreTrainedModel, option: str) -> tuple[str, list[LayerParts]]:
    found = encoder_layers(model)
    if found is None:
        raise TinyBertError(f"{option}: {model.config.model_type} shares its layers' weights; it cannot be pruned")
    name, layers = found
    return name, [layer_parts(layer, model.config.hidden_size, option) for layer in layers]


@dataclass
class Importance:
    """Importance scores of a teacher's parts (higher = more important); lists are per layer (0-based)."""

    hidden: torch.Tensor
    """(d,) residual dimensions."""
    neurons: list[torch.Tensor]
    """(I,) feed-forward neurons of each layer."""
    qk_dims: list[torch.Tensor]
    """(H, d_head) query/key dimensions of each head."""
    v_dims: list[torch.Tensor]
    """(H, d_head) value dimensions of each head."""
    heads: list[torch.Tensor] | None
    """(H,) heads, or None when not measured (all heads kept)."""
    layers: torch.Tensor
    """(L,) block importance 1 - cos(input, output) of each layer."""
    head_estimator: str | None = None
    """gradient (Michel et al.) or activation; None when heads were not measured."""
    examples: int = 0


def num_heads(config: Any) -> int:
    return int(config.num_attention_heads)


@torch.no_grad()
def _masked_mean_abs(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum over non-padding tokens of |x| (B, L, D) -> (D,)."""
    return (x.abs() * mask[..., None]).sum(dim=(0, 1))


@dataclass
class _Sums:
    """What the hooks of :func:`measure_importance` add up over the real tokens, per layer."""

    n_heads: int
    d_head: int
    q: list[torch.Tensor]
    """(H * d_head,) mean |query| per dimension (summed over tokens)."""
    k: list[torch.Tensor]
    v: list[torch.Tensor]
    neurons: list[torch.Tensor]
    """(I,) |feed-forward activation| per neuron."""
    heads: list[torch.Tensor]
    """(H,) gradient of the loss on each head's gate, or the norm of each head's output."""
    hidden: torch.Tensor
    """(d,) |hidden state| per residual dimension, over every layer's output."""
    layers: torch.Tensor
    """(L,) 1 - cos(layer input, layer output) per token."""
    mask: torch.Tensor | None = None
    """(B, L) the batch being measured."""
    gates: list[torch.Tensor] = field(default_factory=list)
    """(H,) per-layer head gates when heads are scored by gradient, else empty."""
    tokens: float = 0.0
    examples: int = 0

    @classmethod
    def empty(cls, parts: list, n_heads: int, d_head: int, d: int) -> _Sums:
        width, n = n_heads * d_head, len(parts)
        return cls(
            n_heads,
            d_head,
            q=[torch.zeros(width) for _ in range(n)],
            k=[torch.zeros(width) for _ in range(n)],
            v=[torch.zeros(width) for _ in range(n)],
            neurons=[torch.zeros(p.ffn_in.out_features) for p in parts],
            heads=[torch.zeros(n_heads) for _ in range(n)],
            hidden=torch.zeros(d),
            layers=torch.zeros(n),
        )

    def keep(self, sums: list[torch.Tensor], index: int) -> Any:
        """Forward hook on a linear map: adds |output| per dimension."""

        def hook(_m: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            sums[index] += _masked_mean_abs(out.detach().float(), self.mask)

        return hook

    def ffn(self, index: int) -> Any:
        """Pre-hook on the feed-forward output map: its input is the activation."""

        def hook(_m: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
            self.neurons[index] += _masked_mean_abs(inp[0].detach().float(), self.mask)

        return hook

    def gate(self, index: int, weight: torch.Tensor) -> Any:
        """Pre-hook on the attention output map: gates each head (gradient), else adds the norm of
        each head's output after the output projection (activation)."""
        n_heads, d_head = self.n_heads, self.d_head

        def hook(_m: nn.Module, inp: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...] | None:
            x = inp[0]  # (B, L, H * d_head)
            b, length, _ = x.shape
            per_head = x.view(b, length, n_heads, d_head)
            if self.gates:
                return ((per_head * self.gates[index][None, None, :, None]).view(b, length, -1),)
            w = weight.view(weight.shape[0], n_heads, d_head)  # (d, H, d_head)
            out = torch.einsum("blhe,dhe->blhd", per_head.detach().float(), w.float())
            self.heads[index] += (out.norm(dim=-1) * self.mask[..., None]).sum(dim=(0, 1))
            return None

        return hook


def measure_importance(
    model: PreTrainedModel,
    batches: Iterable[dict[str, torch.Tensor]],
    heads: bool = False,
    option: str = "--init prune",
) -> Importance:
    """Score ``model``'s parts on ``batches`` (model inputs, optionally ``labels``).

    ``heads=True`` also scores whole heads: by the gradient of the loss on a per-head gate (Michel
    et al.) when the batches carry labels and the model has a head, else by output norm. The model
    is left unchanged (gates are hooks, removed after).
    """
    _, parts = _layers(model, option)
    n_heads = num_heads(model.config)
    sums = _Sums.empty(parts, n_heads, parts[0].query.out_features // n_heads, model.config.hidden_size)
    handles = []
    for i, p in enumerate(parts):
        handles += [
            p.query.register_forward_hook(sums.keep(sums.q, i)),
            p.key.register_forward_hook(sums.keep(sums.k, i)),
            p.value.register_forward_hook(sums.keep(sums.v, i)),
            p.ffn_out.register_forward_pre_hook(sums.ffn(i)),
        ]
        if heads:
            handles.append(p.output.register_forward_pre_hook(sums.gate(i, p.output.weight.detach())))
    was_training = model.training
    model.eval()
    use_gradient = False
    try:
        for batch in batches:
            use_gradient = heads and "labels" in batch and hasattr(model, "num_labels")
            _measure_batch(model, batch, sums, use_gradient)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    if sums.tokens == 0:
        raise TinyBertError(f"{option}: no examples to measure importance on")
    return _importance(sums, parts, heads, "gradient" if use_gradient else "activation")


def _measure_batch(model: PreTrainedModel, batch: dict[str, torch.Tensor], sums: _Sums, use_gradient: bool) -> None:
    """One batch through ``model`` with the hooks on: the sums, and (``use_gradient``) the gates' gradients."""
    inputs = model_inputs(batch)
    mask = inputs["attention_mask"].float()
    sums.mask = mask
    sums.tokens += float(mask.sum())
    sums.examples += int(mask.shape[0])
    n_layers = len(sums.layers)
    if use_gradient:
        sums.gates[:] = [torch.ones(sums.n_heads, requires_grad=True) for _ in range(n_layers)]
        with torch.enable_grad():
            out = model(**inputs, labels=batch["labels"], output_hidden_states=True)
            out.loss.backward()
        for i in range(n_layers):
            sums.heads[i] += sums.gates[i].grad.abs()
        model.zero_grad(set_to_none=True)
        sums.gates.clear()
    else:
        with torch.no_grad():
            out = model(**inputs, output_hidden_states=True)
    states = [h.detach().float() for h in out.hidden_states]
    for h in states:
        sums.hidden += _masked_mean_abs(h, mask)
    for i in range(n_layers):
        cos = nn.functional.cosine_similarity(states[i], states[i + 1], dim=-1)  # (B, L)
        sums.layers[i] += ((1 - cos) * mask).sum()


def _importance(sums: _Sums, parts: list, heads: bool, estimator: str) -> Importance:
    """The sums per real token: query x key and value x output-column scores per head dimension."""
    tokens, shape = sums.tokens, (sums.n_heads, sums.d_head)
    qk, vv = [], []
    for i, p in enumerate(parts):
        column = p.output.weight.detach().float().norm(dim=0).view(shape)
        qk.append((sums.q[i] / tokens).view(shape) * (sums.k[i] / tokens).view(shape))
        vv.append((sums.v[i] / tokens).view(shape) * column)
    return Importance(
        hidden=sums.hidden / tokens,
        neurons=[s / tokens for s in sums.neurons],
        qk_dims=qk,
        v_dims=vv,
        heads=[s / tokens for s in sums.heads] if heads else None,
        layers=sums.layers / tokens,
        head_estimator=estimator if heads else None,
        examples=sums.examples,
    )


@dataclass
class Cut:
    """What a pruned model keeps of its teacher (indices into the teacher's, sorted; 0-based)."""

    layers: list[int]
    """Kept teacher layers, 1-based (the layer map: student layer m learns from layers[m-1])."""
    hidden: list[int]
    heads: list[list[int]]
    """Kept heads of each kept layer."""
    qk_dims: list[list[list[int]]]
    """Per kept layer, per kept head: kept query/key dimensions within the head."""
    v_dims: list[list[list[int]]]
    neurons: list[list[int]]
    estimators: dict[str, str] = field(default_factory=dict)

    @property
    def shape(self) -> StudentShape:
        return StudentShape(
            layers=len(self.layers),
            hidden=len(self.hidden),
            heads=len(self.heads[0]),
            intermediate=len(self.neurons[0]),
        )

    def describe(self) -> dict:
        """JSON-able record of the cut (the report of what was kept)."""
        return {"shape": asdict(self.shape), **asdict(self)}


def _top(scores: torch.Tensor, n: int) -> list[int]:
    """Indices of the ``n`` largest scores, ascending (ties: lower index first)."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    return sorted(order[:n])


def check_shape(teacher: PreTrainedModel, shape: StudentShape, option: str = "--init prune") -> None:
    """Refuse a shape that is not a cut of ``teacher`` (wider, deeper, or a head size the config cannot state)."""
    cfg = teacher.config
    _, parts = _layers(teacher, option)
    t_heads = num_heads(cfg)
    d_head = parts[0].query.out_features // t_heads
    ffn = parts[0].ffn_in.out_features
    for name, value, limit in (
        ("layers", shape.layers, len(parts)),
        ("hidden", shape.hidden, cfg.hidden_size),
        ("heads", shape.heads, t_heads),
        ("intermediate", shape.intermediate, ffn),
    ):
        if not 1 <= value <= limit:
            raise TinyBertError(f"{option}: student {name} {value}, expected 1..{limit} (the teacher's) for a cut")
    if shape.hidden % shape.heads:
        raise TinyBertError(
            f"{option}: student hidden {shape.hidden} is not a multiple of its {shape.heads} heads "
            "(the config derives the head size from hidden / heads)"
        )
    if shape.hidden // shape.heads > d_head:
        raise TinyBertError(
            f"{option}: hidden {shape.hidden} over {shape.heads} heads is a head size of "
            f"{shape.hidden // shape.heads}, "
            f"larger than the teacher's {d_head}; keep at least {math.ceil(shape.hidden / d_head)} heads or a "
            "smaller hidden (the config derives the head size from hidden / heads)"
        )


def choose_cut(
    teacher: PreTrainedModel,
    importance: Importance,
    shape: StudentShape,
    layers: tuple[int, ...] | None = None,
    option: str = "--init prune",
) -> Cut:
    """The most important parts of ``teacher`` in ``shape``; ``layers`` (1-based) fixes the kept layers."""
    check_shape(teacher, shape, option)
    t_heads = num_heads(teacher.config)
    if layers is None:
        kept_layers = [i + 1 for i in _top(importance.layers, shape.layers)]
        layer_estimator = "block importance (1 - cos(input, output))"
    else:
        kept_layers = list(layers)
        uniform = (
            uniform_map(len(layers), len(importance.layers)).teacher_layers
            if len(layers) <= len(importance.layers)
            else None
        )
        layer_estimator = "uniform map, round(m * N / M)" if tuple(layers) == uniform else "given"
    head_size = shape.hidden // shape.heads
    if shape.heads < t_heads and importance.heads is None:
        raise TinyBertError(f"{option}: head importance was not measured")
    shared = _shared_head_tables(teacher)
    if shape.heads < t_heads and shared:  # one set of heads for every layer: summed importance
        joint = _top(sum(importance.heads[t - 1] for t in kept_layers), shape.heads)
    heads, qk, vv, neurons = [], [], [], []
    for t in kept_layers:
        i = t - 1
        if shape.heads == t_heads:
            kept = list(range(t_heads))
        elif shared:
            kept = joint
        else:
            kept = _top(importance.heads[i], shape.heads)
        heads.append(kept)
        qk.append([_top(importance.qk_dims[i][h], head_size) for h in kept])
        vv.append([_top(importance.v_dims[i][h], head_size) for h in kept])
        neurons.append(_top(importance.neurons[i], shape.intermediate))
    estimators = {
        "layers": layer_estimator,
        "hidden": "mean |activation| over all hidden states",
        "neurons": "mean |activation| after the non-linearity",
        "qk_dims": "mean |q_d| * mean |k_d|",
        "v_dims": "mean |v_d| * norm of output column",
        "heads": "all kept"
        if shape.heads == t_heads
        else f"{importance.head_estimator}"
        + (", summed over the kept layers (shared per-head tables)" if shared else ""),
    }
    return Cut(
        layers=kept_layers,
        hidden=_top(importance.hidden, shape.hidden),
        heads=heads,
        qk_dims=qk,
        v_dims=vv,
        neurons=neurons,
        estimators=estimators,
    )


def _shared_head_tables(model: PreTrainedModel) -> list[str]:
    """Module names of ``model``'s per-head tables shared by all layers (:data:`SHARED_HEAD_TABLES`)."""
    return [name for name, _ in model.named_modules() if name.endswith(SHARED_HEAD_TABLES)]


def full_cut(teacher: PreTrainedModel) -> Cut:
    """The cut that keeps everything (its result equals the teacher)."""
    _, parts = _layers(teacher, "--init prune")
    t_heads = num_heads(teacher.config)
    d_head = parts[0].query.out_features // t_heads
    n = len(parts)
    return Cut(
        layers=list(range(1, n + 1)),
        hidden=list(range(teacher.config.hidden_size)),
        heads=[list(range(t_heads)) for _ in range(n)],
        qk_dims=[[list(range(d_head)) for _ in range(t_heads)] for _ in range(n)],
        v_dims=[[list(range(d_head)) for _ in range(t_heads)] for _ in range(n)],
        neurons=[list(range(p.ffn_in.out_features)) for p in parts],
    )


def _copy_linear(dst: nn.Linear, src: nn.Linear, rows: torch.Tensor | None, cols: torch.Tensor | None, scale=1.0):
    w = src.weight.detach()
    if rows is not None:
        w = w.index_select(0, rows)
    if cols is not None:
        w = w.index_select(1, cols)
    if tuple(w.shape) != tuple(dst.weight.shape):
        raise TinyBertError(f"--init prune: internal shape mismatch {tuple(w.shape)} vs {tuple(dst.weight.shape)}")
    dst.weight.copy_(w * scale)
    if dst.bias is not None:
        b = src.bias.detach()
        dst.bias.copy_((b if rows is None else b.index_select(0, rows)) * scale)


def _copy_norm(dst: nn.LayerNorm, src: nn.LayerNorm, idx: torch.Tensor) -> None:
    dst.weight.copy_(src.weight.detach().index_select(0, idx))
    dst.bias.copy_(src.bias.detach().index_select(0, idx))
    dst.eps = src.eps


@torch.no_grad()
def apply_cut(teacher: PreTrainedModel, cut: Cut, head: bool = True, head_class: Any = None) -> PreTrainedModel:
    """A new model of ``teacher``'s class in ``cut``'s shape, every weight the teacher's by index.

    ``head=False``: the bare encoder (general distillation); ``head_class``: the auto class of the
    head (default sequence classification). Tensors outside the layers (embeddings, pooler, head)
    keep their other dimensions and lose the pruned residual dimensions.
    """
    t_cfg = teacher.config
    shape = cut.shape
    config = student_config(t_cfg, shape, tuple(cut.layers))
    cls = (head_class or AutoModelForSequenceClassification) if head else AutoModel
    student = cls.from_config(config)
    student.to(next(teacher.parameters()).dtype)
    _, t_parts = _layers(teacher, "--init prune")
    s_name, s_parts = _layers(student, "--init prune")
    d = t_cfg.hidden_size
    hidden = torch.tensor(cut.hidden, dtype=torch.long)
    t_heads = num_heads(t_cfg)
    d_head = t_parts[0].query.out_features // t_heads
    scale = math.sqrt((shape.hidden // shape.heads) / d_head)
    for m, t in enumerate(cut.layers):
        sp, tp = s_parts[m], t_parts[t - 1]
        qk = torch.tensor([h * d_head + j for h, dims in zip(cut.heads[m], cut.qk_dims[m], strict=True) for j in dims])
        v = torch.tensor([h * d_head + j for h, dims in zip(cut.heads[m], cut.v_dims[m], strict=True) for j in dims])
        neurons = torch.tensor(cut.neurons[m], dtype=torch.long)
        _copy_linear(sp.query, tp.query, qk, hidden, scale)
        _copy_linear(sp.key, tp.key, qk, hidden)
        if (sp.pos_key is None) != (tp.pos_key is None) or (sp.pos_query is None) != (tp.pos_query is None):
            raise TinyBertError("--init prune: internal error: the student lacks the teacher's position projections")
        if tp.pos_key is not None:
            _copy_linear(sp.pos_key, tp.pos_key, qk, hidden)
        if tp.pos_query is not None:
            _copy_linear(sp.pos_query, tp.pos_query, qk, hidden, scale)
        _copy_linear(sp.value, tp.value, v, hidden)
        _copy_linear(sp.output, tp.output, hidden, v)
        _copy_linear(sp.ffn_in, tp.ffn_in, neurons, hidden)
        _copy_linear(sp.ffn_out, tp.ffn_out, hidden, neurons)
        _copy_norm(sp.attention_norm, tp.attention_norm, hidden)
        _copy_norm(sp.ffn_norm, tp.ffn_norm, hidden)
    # Everything outside the layer list: same module names in both models.
    t_modules = dict(teacher.named_modules())
    shared = _shared_head_tables(teacher)
    for name, module in student.named_modules():
        if name == s_name or name.startswith(s_name + ".") or list(module.children()):
            continue
        params = list(module.parameters(recurse=False))
        if not params:
            continue
        src = t_modules.get(name)
        if src is None and name in getattr(student, "new_modules", ()):
            continue  # the student's own (a sentence embedder's projection to the teacher's width)
        if src is None:
            raise TinyBertError(f"--init prune: the teacher has no {name}")
        if name in shared:
            if any(kept != cut.heads[0] for kept in cut.heads):
                raise TinyBertError(f"--init prune: {name} is shared by all layers; the cut must keep the same heads")
            module.weight.copy_(src.weight.detach().index_select(1, torch.tensor(cut.heads[0])))
        elif isinstance(module, nn.Embedding):
            w = src.weight.detach()
            module.weight.copy_(w.index_select(1, hidden) if w.shape[1] == d else w)
        elif isinstance(module, nn.LayerNorm):
            if tuple(src.normalized_shape) == (d,):
                _copy_norm(module, src, hidden)
            else:
                module.load_state_dict(src.state_dict())
        elif isinstance(module, nn.Linear):
            # only the residual dimensions the student lost (a Dense layer after a sentence
            # embedder's projection back to the teacher's width keeps them)
            rows = hidden if src.out_features == d and module.out_features != d else None
            cols = hidden if src.in_features == d and module.in_features != d else None
            _copy_linear(module, src, rows, cols)
        else:
            state = src.state_dict()
            if any(state[k].shape != v.shape for k, v in module.state_dict().items()):
                raise TinyBertError(f"--init prune: cannot cut {name} ({type(module).__name__})")
            module.load_state_dict(state, strict=False)
    # Buffers outside modules' parameters (e.g. position ids) keep the student's own values.
    student.config.architectures = None
    return student


def cut_model(
    teacher: PreTrainedModel,
    shape: StudentShape,
    batches: Iterable[dict[str, torch.Tensor]],
    layers: tuple[int, ...] | None = None,
    head: bool = True,
    head_class: Any = None,
    option: str = "--init prune",
) -> tuple[PreTrainedModel, Cut]:
    """Measure ``teacher``'s importance on ``batches``, choose the cut in ``shape`` and apply it."""
    check_shape(teacher, shape, option)
    importance = measure_importance(teacher, batches, heads=shape.heads < num_heads(teacher.config), option=option)
    cut = choose_cut(teacher, importance, shape, layers, option)
    cut.estimators["examples"] = str(importance.examples)
    return apply_cut(teacher, cut, head=head, head_class=head_class), cut
