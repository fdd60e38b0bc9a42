"""The structure of an encoder, read from the model and its config rather than from key names.

Architectures name the same things differently: the layer list is ``encoder.layer`` (BERT),
``transformer.layer`` (DistilBERT) or ``layers`` (ModernBERT); the feed-forward width is
``intermediate_size`` or ``hidden_dim`` (DistilBERT); some configs hold per-layer fields
(``layer_types``) that must follow a changed depth. Everything that depends on these lives here.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

from tinybert.config import StudentShape
from tinybert.errors import TinyBertError

FFN_FIELDS = ("intermediate_size", "hidden_dim")
"""Config fields that hold the feed-forward width, by architecture (DistilBERT: ``hidden_dim``)."""


def ffn_field(config: PretrainedConfig) -> str | None:
    """The name of ``config``'s feed-forward width field, or None when it has none."""
    return next((name for name in FFN_FIELDS if isinstance(getattr(config, name, None), int)), None)


def encoder_shape(config: PretrainedConfig, option: str) -> StudentShape:
    """Layers, hidden size, heads and feed-forward width of ``config``, or a one-line error."""
    values = {}
    for field, name in (("layers", "num_hidden_layers"), ("hidden", "hidden_size"), ("heads", "num_attention_heads")):
        value = getattr(config, name, None)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TinyBertError(
                f"{option}: {config.model_type} config has no integer {name} (got {value!r}); expected a "
                "BERT-family encoder (num_hidden_layers, hidden_size, num_attention_heads, intermediate_size)"
            )
        values[field] = value
    field = ffn_field(config)
    if field is None:
        raise TinyBertError(
            f"{option}: {config.model_type} config has no intermediate_size; expected a BERT-family encoder "
            "(num_hidden_layers, hidden_size, num_attention_heads, intermediate_size)"
        )
    return StudentShape(intermediate=getattr(config, field), **values)


def student_config(teacher: PretrainedConfig, shape: StudentShape, teacher_layers: tuple[int, ...]) -> PretrainedConfig:
    """The teacher's config in ``shape``, per-layer fields rebuilt for the student's depth, validated.

    ``teacher_layers``: the layer map (student layer m learns from teacher layer
    ``teacher_layers[m-1]``, 1-based); a per-layer field such as ``layer_types`` takes the teacher's
    value of the mapped layer, so a layer copied by ``--init teacher`` keeps its kind of attention.
    """
    config = copy.deepcopy(teacher)
    config.num_hidden_layers = shape.layers
    config.hidden_size = shape.hidden
    config.num_attention_heads = shape.heads
    setattr(config, ffn_field(config) or "intermediate_size", shape.intermediate)
    if getattr(config, "head_dim", None) is not None and shape.hidden != teacher.hidden_size:
        config.head_dim = shape.hidden // shape.heads
    if getattr(config, "pooler_hidden_size", None) == teacher.hidden_size:  # DeBERTa's pooler reads [CLS]
        config.pooler_hidden_size = shape.hidden
    per_layer = getattr(teacher, "layer_types", None)
    if isinstance(per_layer, (list, tuple)) and len(per_layer) == teacher.num_hidden_layers:
        config.layer_types = [per_layer[t - 1] for t in teacher_layers]
    config.architectures = None
    validate_config(config, "--student")
    return config


def bert_student_config(teacher: PretrainedConfig, shape: StudentShape) -> PretrainedConfig:
    """A BERT config in ``shape`` for a student of any teacher (``--student-arch bert``): the
    teacher's vocabulary, padding id, labels and usable positions, so it takes the teacher's tokenizer."""
    from transformers import BertConfig

    positions = config_position_limit(teacher) or 512
    config = BertConfig(
        vocab_size=teacher.vocab_size,
        hidden_size=shape.hidden,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        intermediate_size=shape.intermediate,
        max_position_embeddings=positions,
        pad_token_id=teacher.pad_token_id if isinstance(teacher.pad_token_id, int) else 0,
        num_labels=teacher.num_labels,
        id2label=dict(teacher.id2label),
        label2id=dict(teacher.label2id),
        problem_type=teacher.problem_type,
    )
    validate_config(config, "--student-arch bert")
    return config


def validate_config(config: PretrainedConfig, option: str) -> None:
    """Run the config class's own validators (e.g. ``layer_types`` against ``num_hidden_layers``)."""
    validate = getattr(config, "validate", None)
    if validate is None:
        return
    try:
        validate()
    except (ValueError, TypeError) as err:
        cause = err.__cause__ or err
        raise TinyBertError(
            f"{option}: invalid {config.model_type} config ({str(cause).strip().splitlines()[0]})"
        ) from None


def encoder_layers(model: PreTrainedModel) -> tuple[str, nn.ModuleList] | None:
    """The qualified name and module of the encoder's layer list, found by structure.

    The layer list is the outermost ``nn.ModuleList`` of ``num_hidden_layers`` modules of one class.
    None when the model has none: its layers share weights (ALBERT's layer groups).
    """
    depth = model.config.num_hidden_layers
    found = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.ModuleList) and len(module) == depth and len({type(layer) for layer in module}) == 1
    ]
    if not found:
        return None
    return min(found, key=lambda item: item[0].count("."))


def position_limit(model: PreTrainedModel) -> int | None:
    """The most tokens ``model`` takes: its position embeddings, less the offset of RoBERTa-style
    position ids (they start after the padding index); None when the config sets no limit."""
    limit = getattr(model.config, "max_position_embeddings", None)
    if not isinstance(limit, int) or isinstance(limit, bool):
        return None
    padding_idx = getattr(getattr(model.base_model, "embeddings", None), "padding_idx", None)
    return limit - (padding_idx + 1) if isinstance(padding_idx, int) else limit


def sequence_length(model: PreTrainedModel, requested: int | None, default: int, option: str, name: str) -> int:
    """The sequence length to tokenise to: ``requested``, refused beyond the model's positions, or
    ``default`` capped at them. ``option`` and ``name`` (e.g. ``--teacher DIR``) word the error."""
    limit = position_limit(model)
    if requested is not None:
        if limit is not None and requested > limit:
            raise TinyBertError(f"{option} {requested}: {name} takes at most {limit} tokens (its position embeddings)")
        return requested
    return default if limit is None else min(default, limit)


def config_position_limit(config: PretrainedConfig) -> int | None:
    """:func:`position_limit` of the model ``config`` describes (built on the meta device: no memory)."""
    import torch
    from transformers import AutoModel

    try:
        with torch.device("meta"):
            model = AutoModel.from_config(config)
    except (ValueError, KeyError, TypeError):
        limit = getattr(config, "max_position_embeddings", None)
        return limit if isinstance(limit, int) else None
    return position_limit(model)


def probe_batch(model: PreTrainedModel) -> dict[str, torch.Tensor]:
    """A fixed synthetic batch for checking a model against itself: two random sequences of 9 tokens,
    the second padded after 5 (``input_ids``, ``attention_mask`` and, where the config has token
    types, zero ``token_type_ids``; each (2, 9), on the model's device)."""
    config = model.config
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(min(5, config.vocab_size - 1), config.vocab_size, (2, 9), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    pad_id = getattr(config, "pad_token_id", None)
    ids[1, 5:] = pad_id if pad_id is not None else 0
    batch = {"input_ids": ids, "attention_mask": mask}
    if getattr(config, "type_vocab_size", 0):
        batch["token_type_ids"] = torch.zeros_like(ids)
    device = next(model.parameters()).device
    return {k: v.to(device) for k, v in batch.items()}
