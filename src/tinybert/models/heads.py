"""Task heads of models loaded from folders: found by structure, re-ordered to a label order."""

from __future__ import annotations

import torch
from torch import nn
from transformers import PreTrainedModel

from tinybert.errors import TinyBertError


def output_layer(model: PreTrainedModel, option: str) -> nn.Linear:
    """The head's output projection: the one ``nn.Linear`` outside the encoder with ``num_labels``
    outputs (``classifier`` in BERT, ``classifier.out_proj`` in RoBERTa), or a one-line error."""
    encoder = set(map(id, model.base_model.modules()))
    found = [
        m
        for m in model.modules()
        if isinstance(m, nn.Linear) and id(m) not in encoder and m.out_features == model.config.num_labels
    ]
    if len(found) != 1:
        raise TinyBertError(
            f"{option}: cannot tell which layer of its {type(model).__name__} head predicts the labels "
            f"({len(found)} candidates); expected a standard Hugging Face head"
        )
    return found[0]


@torch.no_grad()
def permute_labels(model: PreTrainedModel, labels: tuple[str, ...], option: str) -> bool:
    """Re-order ``model``'s head rows and ``id2label`` into ``labels`` (same names, any order).

    After this, output ``i`` of the model is ``labels[i]`` and predicts exactly what the output of
    that name predicted before. Returns True when the order changed.
    """
    current = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
    if current == list(labels):
        return False
    order = torch.tensor([current.index(name) for name in labels])
    layer = output_layer(model, option)
    layer.weight.copy_(layer.weight[order])
    if layer.bias is not None:
        layer.bias.copy_(layer.bias[order])
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {name: i for i, name in enumerate(labels)}
    return True
