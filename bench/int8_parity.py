"""Which part of a model loses precision in onnxruntime's dynamic int8, and which setting keeps it.

    python bench/int8_parity.py --model runs/teacher [--sentences 300] [--json out.json]

Exports the model once to fp32 ONNX (tinybert's exporter), then quantizes it several ways with
``onnxruntime.quantization.quantize_dynamic`` and compares each with the PyTorch model on the first
``--sentences`` SST-2 dev sentences (``TINYBERT_DATA_DIR`` or ../shared/data): argmax agreement and the
largest |logit difference|. Variants:

- ``per-tensor``: one scale per weight matrix (what ``tinybert export --quantize int8`` did before);
- ``per-channel``: one scale per output channel of each weight matrix;
- ``per-tensor, layer i in fp32``: every layer quantized per tensor but layer i (which layer hurts);
- ``per-tensor, <kind> in fp32``: the attention projections, or the feed-forward matrices, left in fp32.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import torch
from onnxruntime import InferenceSession
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from tinybert.deploy.export import export_onnx
from tinybert.deploy.quantize import weight_matmuls

DATA = Path(os.environ.get("TINYBERT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def sentences(n: int) -> list[str]:
    lines = (DATA / "glue" / "SST-2" / "dev.tsv").read_text().splitlines()[1 : n + 1]
    return [line.split("\t")[0] for line in lines]


def matmul_nodes(path: Path) -> dict[str, str]:
    """MatMul/Gemm nodes with a weight initializer (what dynamic quantization quantizes) -> their module."""
    return {node: module for node, (module, _) in weight_matmuls(path).items()}


def layer_of(module: str) -> int | None:
    match = re.search(r"layers?\.(\d+)\.", module)
    return None if match is None else int(match[1])


def logits(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    session = InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in inputs.items() if k in names})[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--sentences", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, attn_implementation="eager").eval()
    enc = tokenizer(sentences(args.sentences), padding=True, truncation=True, max_length=128, return_tensors="pt")
    input_names = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids") if n in enc)
    with torch.no_grad():
        reference = model(**enc).logits.numpy()
    inputs = {k: enc[k].numpy().astype(np.int64) for k in input_names}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        export_onnx(model, input_names, fp32, 18)
        nodes = matmul_nodes(fp32)
        layers = sorted({i for i in map(layer_of, nodes.values()) if i is not None})
        variants: dict[str, dict] = {"per-tensor": {}, "per-channel": {"per_channel": True}}
        attention = [n for n, m in nodes.items() if re.search(r"\.attn\.|\.attention\.", m)]
        ffn = [n for n, m in nodes.items() if layer_of(m) is not None and n not in attention]
        variants["per-tensor, attention blocks in fp32"] = {"nodes_to_exclude": attention}
        variants["per-tensor, feed-forward in fp32"] = {"nodes_to_exclude": ffn}
        for layer in layers:
            variants[f"per-tensor, layer {layer} in fp32"] = {
                "nodes_to_exclude": [n for n, m in nodes.items() if layer_of(m) == layer]
            }
        results = {"fp32 onnx": logits(fp32, inputs)}
        for name, options in variants.items():
            target = Path(tmp) / "int8.onnx"
            quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8, **options)
            results[name] = logits(target, inputs)
    table = {
        name: {
            "agreement": round(float((out.argmax(-1) == reference.argmax(-1)).mean()), 4),
            "max_abs_diff": round(float(np.abs(out - reference).max()), 4),
        }
        for name, out in results.items()
    }
    report = {"model": args.model, "sentences": args.sentences, "matmuls": len(nodes), "variants": table}
    print(json.dumps(report, indent=1))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
