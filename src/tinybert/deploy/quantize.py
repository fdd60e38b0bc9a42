"""onnxruntime dynamic int8 of an exported ONNX model, with chosen kinds of weight matrix left in fp32.

A *kind* of weight matrix is its module's name within its layer, the same in every layer
(``attention.self.query``, ``intermediate.dense``, ``output.dense`` in BERT; ``attention.attn.q`` in
MPNet), or the module's whole name for a matrix outside the layers (``classifier``). The exporter
(torch.export, :func:`tinybert.deploy.export.export_onnx`) records each node's module in its
``pkg.torch.onnx.name_scopes`` metadata; that is what names the MatMul nodes here.

Why keep some in fp32: dynamic int8 gives the input of each matrix one scale per call. When one
input channel is far larger than the rest (all-mpnet-base-v2: one channel of 50-84 into the
feed-forward down-projection of layers 6-10, against a mean magnitude under 1), the other channels
round to a few levels and the embedding moves (lowest cosine 0.77 on the parity sentences); the
same model with its ``output.dense`` matrices in fp32 keeps 0.97 (BENCHMARKS.md, issue 26).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from pathlib import Path

import numpy as np

NAME_SCOPES = "pkg.torch.onnx.name_scopes"
_LAYER = re.compile(r"\.layers?\.\d+\.(.+)$")


def matrix_kind(module: str) -> str:
    """``model.bert.encoder.layer.7.output.dense`` -> ``output.dense``; outside the layers, the name
    without the exporter's wrapper (``model.classifier`` -> ``classifier``)."""
    match = _LAYER.search(module)
    if match:
        return match[1]
    return module.removeprefix("model.")


def weight_matmuls(path: Path) -> dict[str, tuple[str, int]]:
    """The MatMul/Gemm nodes of ``path`` that multiply by a weight initializer (what dynamic
    quantization quantizes): node name -> (its module, e.g. ``model.bert.encoder.layer.7.output.dense``,
    or for a node the exporter named no module for, the node's name; the matrix's size)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    sizes = {i.name: int(np.prod(i.dims)) for i in model.graph.initializer}
    found = {}
    for node in model.graph.node:
        weight = next((x for x in node.input if x in sizes), None)
        if node.op_type not in ("MatMul", "Gemm") or weight is None:
            continue
        scopes = {p.key: p.value for p in node.metadata_props}.get(NAME_SCOPES, "[]")
        modules = [m for m in re.findall(r"'([^']*)'", scopes) if m.startswith("model")]
        found[node.name] = (modules[-1] if modules else node.name, sizes[weight])
    return found


def matrix_kinds(matmuls: dict[str, tuple[str, int]]) -> dict[str, int]:
    """Each kind of weight matrix of ``matmuls`` (:func:`weight_matmuls`) -> its weights in all
    layers together, in graph order."""
    kinds: dict[str, int] = {}
    for module, size in matmuls.values():
        kinds[matrix_kind(module)] = kinds.get(matrix_kind(module), 0) + size
    return kinds


def nodes_of(matmuls: dict[str, tuple[str, int]], kinds: Collection[str]) -> list[str]:
    """The nodes of ``matmuls`` (:func:`weight_matmuls`) whose matrix is of one of ``kinds``."""
    return [node for node, (module, _) in matmuls.items() if matrix_kind(module) in kinds]


def quantize_onnx(source: Path, target: Path, fp32_nodes: Collection[str] = ()) -> None:
    """onnxruntime dynamic quantization of ``source`` into ``target``: int8 weights with one scale
    per output channel, activations quantized at run time; the MatMul nodes ``fp32_nodes``
    (:func:`nodes_of`) stay fp32.

    Per channel, not per tensor: with one scale per weight matrix, the feed-forward matrices of a
    base-size teacher lose enough precision to flip 7% of its SST-2 predictions (all-mpnet-base-v2:
    93.0% argmax agreement, under the 95% parity bar; 97.3% per channel; BENCHMARKS.md, "int8 per
    channel", measured with bench/int8_parity.py)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime logs a "consider pre-processing" warning on the root logger
    try:
        quantize_dynamic(
            str(source), str(target), weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=list(fp32_nodes)
        )
    finally:
        root.setLevel(level)
