"""Sentence-embedding heads: what a sentence-transformers folder puts after its encoder (pooling,
Dense layers, normalisation), read and written without importing sentence-transformers.

A sentence-transformers folder is a plain Hugging Face encoder folder (``config.json``, weights,
tokenizer) plus ``modules.json``, which lists the modules applied in order: the ``Transformer``
(the encoder, path ``""``), a ``Pooling`` module (``1_Pooling/config.json``), optionally ``Dense``
modules (``N_Dense/config.json`` + ``model.safetensors`` with ``linear.weight``/``linear.bias``) and
a ``Normalize``. :func:`read_head` turns that list into a :class:`SentenceHead`; :func:`write_head`
writes one back so that ``SentenceTransformer(folder)`` loads it. The encoder itself stays the
``AutoModel`` of the folder.

Our own reader, not ``SentenceTransformer(folder)``: loading a model never executes code (a
module type outside the four above, or a Dense activation outside ``torch.nn``, is refused, where
the library imports the named class), the weights are read only from safetensors, and the
library stays an optional dependency.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from tqdm.auto import tqdm
from transformers import AutoModel, PretrainedConfig, PreTrainedModel, PreTrainedTokenizerBase

from tinybert.errors import TinyBertError
from tinybert.io.outputs import write_json

POOLING_MODES = ("mean", "cls", "max")
"""The poolings a head can use: the mean of the token states over the attention mask, the first
token's state, or the per-dimension maximum over the real tokens."""

_LEGACY_POOLING_KEYS = {
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
_ACTIVATIONS = {
    "torch.nn.modules.linear.Identity": nn.Identity,
    "torch.nn.modules.activation.Tanh": nn.Tanh,
    "torch.nn.modules.activation.ReLU": nn.ReLU,
    "torch.nn.modules.activation.GELU": nn.GELU,
    "torch.nn.modules.activation.Sigmoid": nn.Sigmoid,
}
"""Dense activations by the name sentence-transformers saves (``torch.nn`` classes only)."""
_MODULE = "sentence_transformers.models."
"""The module type prefix written to ``modules.json`` (every sentence-transformers release reads it)."""


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """One vector per sequence from the token states ``hidden`` (B, L, H) and the attention ``mask``
    (B, L) of 1s on real tokens: (B, H). ``mean``: the mean over the real tokens; ``cls``: the
    first token's state; ``max``: the maximum over the real tokens (padding never wins)."""
    if mode == "cls":
        return hidden[:, 0]
    m = mask.unsqueeze(-1).to(hidden.dtype)  # (B, L, 1)
    if mode == "mean":
        return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
    if mode == "max":
        return hidden.masked_fill(m == 0, torch.finfo(hidden.dtype).min).amax(dim=1)
    raise ValueError(f"pooling must be one of {', '.join(POOLING_MODES)}, got {mode!r}")


class Dense(nn.Module):
    """A sentence-transformers Dense module: ``activation(linear(x))``; its state dict has the
    library's names (``linear.weight``, ``linear.bias``)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str | None = None) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.activation_name = activation or "torch.nn.modules.linear.Identity"
        if self.activation_name not in _ACTIVATIONS:
            raise ValueError(f"unsupported activation {self.activation_name}")
        self.activation = _ACTIVATIONS[self.activation_name]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.linear(x))


@dataclass(frozen=True)
class HeadSpec:
    """What a head does after the encoder, as ``modules.json`` lists it (the Dense weights apart)."""

    pooling: str
    normalize: bool
    max_seq_length: int | None = None
    """``sentence_bert_config.json``'s length, when the folder has one."""


class SentenceHead(nn.Module):
    """Pooling, then a student's projection (if any), then each Dense layer in order, then optional
    L2 normalisation.

    ``forward(hidden (B, L, H), mask (B, L)) -> (B, D)``: D is the last Dense layer's output size,
    else the projection's, else H. The ``projection`` (H -> the teacher's width, no activation) is
    how a student narrower than its teacher gives embeddings the teacher's Dense layers take; it is
    saved as the first Dense module (read back, it is ``dense[0]``)."""

    def __init__(self, spec: HeadSpec, dense: list[Dense] | None = None, projection: Dense | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.projection = projection
        self.dense = nn.ModuleList(dense or [])

    def layers(self) -> list[Dense]:
        """The Dense layers in the order they apply, the projection first."""
        return [*([self.projection] if self.projection is not None else []), *self.dense]

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = pool(hidden, mask, self.spec.pooling)
        for layer in self.layers():
            x = layer(x)
        return nn.functional.normalize(x, p=2, dim=-1) if self.spec.normalize else x


def is_sentence_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is a sentence-transformers folder (it has ``modules.json``)."""
    return (Path(folder) / "modules.json").is_file()


def read_head(folder: str | Path, pooling: str | None = None, option: str = "--teacher") -> SentenceHead:
    """The head of the sentence-transformers folder ``folder``; of a plain encoder folder, the
    ``pooling`` given (``mean`` or ``cls``) and no normalisation.

    ``pooling`` with a sentence-transformers folder must agree with the folder's own.

    Raises:
        TinyBertError: one line naming the file and what was expected.
    """
    folder = Path(folder)
    if not is_sentence_folder(folder):
        if pooling is None:
            raise TinyBertError(
                f"{option} {folder}: not a sentence-transformers folder (no modules.json); give --pooling "
                f"{'|'.join(POOLING_MODES)} to embed with this encoder"
            )
        return SentenceHead(HeadSpec(pooling, normalize=False, max_seq_length=None))
    modules = _read_json(folder / "modules.json", list)
    kinds = [_module_kind(folder / "modules.json", m) for m in modules]
    if not kinds or kinds[0][0] != "Transformer" or kinds[0][1] not in ("", "."):
        raise TinyBertError(f'{folder / "modules.json"}: expected the Transformer module first, with path ""')
    found: str | None = None
    dense: list[Dense] = []
    normalize = False
    for kind, path in kinds[1:]:
        where = folder / path
        if normalize:
            raise TinyBertError(f"{folder / 'modules.json'}: expected Normalize last, found {kind} after it")
        if kind == "Pooling":
            if found is not None or dense:
                raise TinyBertError(f"{folder / 'modules.json'}: expected one Pooling module, before any Dense")
            found = _read_pooling(where / "config.json")
        elif kind == "Dense":
            if found is None:
                raise TinyBertError(f"{folder / 'modules.json'}: a Dense module before the Pooling module")
            dense.append(_read_dense(where))
        else:  # Normalize
            normalize = True
    if found is None:
        raise TinyBertError(f"{folder / 'modules.json'}: no Pooling module (expected Transformer, Pooling, ...)")
    if pooling is not None and pooling != found:
        raise TinyBertError(f"--pooling {pooling}: {folder} pools by {found} (its 1_Pooling/config.json)")
    length = None
    if (folder / "sentence_bert_config.json").is_file():
        length = _read_json(folder / "sentence_bert_config.json", dict).get("max_seq_length")
    return SentenceHead(HeadSpec(found, normalize, length), dense)


def write_head(folder: str | Path, head: SentenceHead, hidden_size: int) -> None:
    """Write ``head`` into the encoder folder ``folder`` as sentence-transformers modules:
    ``modules.json``, ``1_Pooling/config.json``, ``N_Dense/`` (config and safetensors weights),
    a ``Normalize`` entry, and ``sentence_bert_config.json`` with the head's length."""
    folder = Path(folder)
    modules = [{"idx": 0, "name": "0", "path": "", "type": f"{_MODULE}Transformer"}]

    def add(kind: str) -> Path:
        index = len(modules)
        path = f"{index}_{kind}"
        modules.append({"idx": index, "name": str(index), "path": path, "type": f"{_MODULE}{kind}"})
        return folder / path

    pooling = add("Pooling")
    pooling.mkdir(exist_ok=True)
    flags = {key: mode == head.spec.pooling for key, mode in _LEGACY_POOLING_KEYS.items()}
    write_json(pooling / "config.json", {"word_embedding_dimension": hidden_size, **flags})
    for layer in head.layers():
        path = add("Dense")
        path.mkdir(exist_ok=True)
        linear = layer.linear
        config = {
            "in_features": linear.in_features,
            "out_features": linear.out_features,
            "bias": linear.bias is not None,
            "activation_function": layer.activation_name,
        }
        write_json(path / "config.json", config)
        tensors = {f"linear.{k}": v.detach().cpu().contiguous() for k, v in linear.state_dict().items()}
        save_file(tensors, str(path / "model.safetensors"))
    if head.spec.normalize:
        add("Normalize")
    write_json(folder / "modules.json", modules)
    config = {"max_seq_length": head.spec.max_seq_length, "do_lower_case": False}
    write_json(folder / "sentence_bert_config.json", config)


def _read_json(path: Path, kind: type) -> dict | list:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise TinyBertError(f"{path}: missing (a sentence-transformers folder lists it in modules.json)") from None
    except json.JSONDecodeError as exc:
        raise TinyBertError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if not isinstance(value, kind):
        raise TinyBertError(f"{path}: expected a JSON {'list' if kind is list else 'object'}")
    return value


def _module_kind(path: Path, module: object) -> tuple[str, str]:
    """(``Transformer``|``Pooling``|``Dense``|``Normalize``, its folder) of one ``modules.json`` entry."""
    if not isinstance(module, dict) or not isinstance(module.get("type"), str):
        raise TinyBertError(f'{path}: expected entries with a "type", got {module!r}')
    kind = module["type"].rsplit(".", 1)[-1]
    if kind not in ("Transformer", "Pooling", "Dense", "Normalize"):
        raise TinyBertError(
            f"{path}: module {module['type']} is not supported (expected Transformer, Pooling, Dense, Normalize)"
        )
    return kind, str(module.get("path", ""))


def _read_pooling(path: Path) -> str:
    config = _read_json(path, dict)
    if "pooling_mode" in config:  # sentence-transformers 5.2+
        modes = config["pooling_mode"]
        modes = [modes] if isinstance(modes, str) else list(modes)
    else:
        modes = [mode for key, mode in _LEGACY_POOLING_KEYS.items() if config.get(key)]
    if len(modes) != 1 or modes[0] not in POOLING_MODES:
        raise TinyBertError(
            f"{path}: pooling {'+'.join(modes) or '(none)'} is not supported (expected one of "
            f"{', '.join(POOLING_MODES)})"
        )
    return modes[0]


def _read_dense(folder: Path) -> Dense:
    config = _read_json(folder / "config.json", dict)
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise TinyBertError(
            f"{folder}: no model.safetensors (a pickled pytorch_model.bin is not loaded; "
            "save the model again with a recent sentence-transformers)"
        )
    activation = config.get("activation_function", "torch.nn.modules.activation.Tanh")
    if activation not in _ACTIVATIONS:
        raise TinyBertError(
            f"{folder / 'config.json'}: activation {activation} is not supported (expected one of "
            f"{', '.join(sorted(_ACTIVATIONS))})"
        )
    try:
        layer = Dense(
            int(config["in_features"]), int(config["out_features"]), bool(config.get("bias", True)), activation
        )
        layer.load_state_dict(load_file(str(weights)))
    except (KeyError, ValueError, RuntimeError) as exc:
        raise TinyBertError(f"{folder}: not a Dense module ({str(exc).splitlines()[0]})") from None
    return layer


@dataclass
class SentenceOutput:
    """What :class:`SentenceEmbedder` returns; read by name (``outputs["sentence_embedding"]``) as
    the task types read a head's outputs, or as attributes as the objective reads hidden states."""

    sentence_embedding: torch.Tensor | None
    """(B, D): the head's output (None for a padding-free forward)."""
    last_hidden_state: torch.Tensor
    """(B, L, H): the encoder's token states."""
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None

    def __getitem__(self, name: str) -> torch.Tensor:
        return getattr(self, name)


HEAD_RECORD = "sentence_embedding"
"""The ``config.json`` key where a saved :class:`SentenceEmbedder` also records its head's settings
(pooling, normalisation, length, Dense shapes), so that a model can be built from its config alone."""


def head_record(head: SentenceHead, width: int) -> dict[str, Any]:
    """The settings of ``head`` (no weights) on an encoder of ``width``, as :data:`HEAD_RECORD` holds them."""
    dense = [
        {
            "in_features": d.linear.in_features,
            "out_features": d.linear.out_features,
            "bias": d.linear.bias is not None,
            "activation_function": d.activation_name,
        }
        for d in head.layers()
    ]
    spec = head.spec
    return {
        "pooling": spec.pooling,
        "normalize": spec.normalize,
        "max_seq_length": spec.max_seq_length,
        "width": width,
        "dense": dense,
    }


def head_from_record(record: dict[str, Any], width: int) -> SentenceHead:
    """A head with the settings of ``record`` (:func:`head_record`) and fresh Dense weights, for an
    encoder of ``width``: narrower or wider than the record's, it gets a projection to that width
    (a student of a sentence-transformers teacher, whose config it copies)."""
    dense = [Dense(d["in_features"], d["out_features"], d["bias"], d["activation_function"]) for d in record["dense"]]
    projection = Dense(width, record["width"]) if width != record["width"] else None
    spec = HeadSpec(record["pooling"], record["normalize"], record.get("max_seq_length"))
    return SentenceHead(spec, dense, projection)


class SentenceEmbedder(nn.Module):
    """A sentence-transformers model: the folder's encoder (``AutoModel``) and its :class:`SentenceHead`.

    ``forward(input_ids, attention_mask, ...)`` -> :class:`SentenceOutput`; other keywords
    (``token_type_ids``, ``output_hidden_states``, ``output_attentions``) go to the encoder. Any
    other attribute is the encoder's (``config``, ``base_model``, ``get_input_embeddings``, the
    attention switches), so code written for a Hugging Face model reaches the encoder through it.
    """

    def __init__(self, encoder: PreTrainedModel, head: SentenceHead) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = head

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # parameters, buffers and submodules
        except AttributeError:
            modules = self.__dict__.get("_modules", {})
            if name.startswith("__") or "encoder" not in modules:  # copying, unpickling: no encoder yet
                raise
            return getattr(modules["encoder"], name)

    @property
    def new_modules(self) -> tuple[str, ...]:
        """Modules a student has and its teacher lacks: the projection to the teacher's width."""
        return ("head.projection.linear",) if self.head.projection is not None else ()

    @classmethod
    def from_pretrained(cls, folder: str | Path, pooling: str | None = None, **kwargs: Any) -> SentenceEmbedder:
        """The encoder of ``folder`` (``AutoModel.from_pretrained(folder, **kwargs)``) with its head
        (:func:`read_head`)."""
        head = read_head(folder, pooling)
        encoder = AutoModel.from_pretrained(str(folder), **kwargs)
        setattr(encoder.config, HEAD_RECORD, head_record(head, encoder.config.hidden_size))  # for from_config
        return cls(encoder, head)

    @classmethod
    def from_config(cls, config: PretrainedConfig, **kwargs: Any) -> SentenceEmbedder:
        """A new model of ``config``'s shape, its head from the config's :data:`HEAD_RECORD`."""
        record = getattr(config, HEAD_RECORD, None)
        if not isinstance(record, dict):
            raise TinyBertError(f"config has no {HEAD_RECORD} record: the head of the sentence embedder is unknown")
        return cls(AutoModel.from_config(config, **kwargs), head_from_record(record, config.hidden_size))

    def save_pretrained(self, folder: str | Path, **kwargs: Any) -> None:
        """The encoder's files (its config with :data:`HEAD_RECORD`) and the sentence-transformers
        modules, into ``folder``."""
        setattr(self.encoder.config, HEAD_RECORD, head_record(self.head, self.encoder.config.hidden_size))
        self.encoder.save_pretrained(folder, **kwargs)
        write_head(folder, self.head, self.encoder.config.hidden_size)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs: Any
    ) -> SentenceOutput:
        """Without ``attention_mask`` (a padding-free forward: one row of several sequences) there
        is no sentence to pool: ``sentence_embedding`` is None, the encoder's outputs are kept."""
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kwargs)
        embedding = self.head(out.last_hidden_state, attention_mask) if attention_mask is not None else None
        return SentenceOutput(embedding, out.last_hidden_state, out.hidden_states, out.attentions)


@torch.inference_mode()
def encode(
    model: SentenceEmbedder,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    batch_size: int = 32,
    max_length: int | None = None,
    progress: str | None = None,
) -> np.ndarray:
    """Embeddings of ``texts``, (N, D) float32 in the order given; the texts run longest first, so
    that each batch pads little (``max_length``: the head's, else the tokenizer's limit)."""
    limit = max_length or model.head.spec.max_seq_length or min(tokenizer.model_max_length, 512)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.zeros((len(texts), 0), dtype=np.float32)
    device = next(model.parameters()).device
    model.eval()
    for start in tqdm(range(0, len(order), batch_size), desc=progress, disable=progress is None, unit="batch"):
        index = order[start : start + batch_size]
        batch = tokenizer(
            [texts[i] for i in index], padding=True, truncation=True, max_length=limit, return_tensors="pt"
        )
        vectors = model(**{k: v.to(device) for k, v in batch.items()}).sentence_embedding.float().cpu().numpy()
        if out.shape[1] == 0:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[index] = vectors
    return out
