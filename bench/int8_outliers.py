"""Which kinds of weight matrix lose precision in int8, and what outlier splitting or SmoothQuant do.

    python bench/int8_outliers.py --model MODEL [--alpha 0.5 0.75] [--split 20] [--sample-file F --max-seq-length N]
        [--samples 64] [--per-kind] [--smooth-kinds output.dense ...] [--keep DIR] [--json out.json]

Exports ``MODEL`` once to fp32 ONNX (tinybert's exporter), once per factor after
:func:`tinybert.deploy.outliers.split_outliers` (what ``tinybert export --split-outliers`` does) and
once per alpha after :func:`smooth_linears` (SmoothQuant, tried and not adopted: BENCHMARKS.md,
"int8 outliers"), both calibrated on the parity text, then quantizes each draft all-int8 and, with
``--per-kind``, with one kind of weight matrix in int8 and the rest fp32, and prints the parity
``tinybert export`` would report: the lowest cosine (sentence embedders), the argmax or decoded
agreement (classifiers, QA) and the largest |difference|. The parity text is what ``tinybert
export`` would use with the same options.
``--smooth-kinds`` smooths or splits only those kinds of weight matrix; ``--keep DIR`` keeps each
all-int8 export as ``DIR/plain``, ``DIR/smooth-A``, ``DIR/split-F``: folders the runtime, ``tinybert
evaluate`` and ``bench/int8_embedding_eval.py`` load.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import torch

from tinybert.config import DataConfig, ExportConfig, RunOptions
from tinybert.deploy.export import _parity_texts, _thresholds, export_onnx, parity_check
from tinybert.deploy.outliers import input_ranges, split_outliers
from tinybert.deploy.quantize import matrix_kind, matrix_kinds, nodes_of, quantize_onnx, weight_matmuls
from tinybert.deploy.runtime import load_inference_model
from tinybert.tasks.base import text_batches


@torch.no_grad()
def smooth_linears(model: torch.nn.Module, ranges: dict[str, torch.Tensor], alpha: float) -> None:
    """SmoothQuant (Xiao et al. 2023, https://arxiv.org/abs/2211.10438) on each ``nn.Linear`` named in
    ``ranges``: input channel ``c`` divided by ``s_c = max|x_c| ** alpha / max|W[:, c]| ** (1 - alpha)``
    (a forward pre-hook), the weight's column ``c`` multiplied by it; the same function. A channel
    never active keeps ``s_c = 1``; one no weight reads, ``s_c = max|x_c|``."""
    modules = dict(model.named_modules())
    for name, x in ranges.items():
        linear = modules[name]
        w = linear.weight.abs().amax(0)  # (out, C) -> (C,)
        scales = x.clamp(min=1e-5).pow(alpha) / w.clamp(min=1e-5).pow(1 - alpha)
        scales = torch.where(x > 0, torch.where(w > 0, scales, x), torch.ones_like(scales))
        linear.weight.mul_(scales)
        linear.register_buffer("smooth_inv_scale", 1.0 / scales)
        linear.register_forward_pre_hook(lambda m, args: (args[0] * m.smooth_inv_scale, *args[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--alpha", type=float, nargs="*", default=[])
    parser.add_argument("--split", type=float, nargs="*", default=[], help="outlier factors (split_outliers)")
    parser.add_argument("--sample-file", type=Path)
    parser.add_argument("--max-seq-length", type=int)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--per-kind", action="store_true")
    parser.add_argument("--smooth-kinds", nargs="*")
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    config = ExportConfig(
        model=args.model,
        run=RunOptions(output=Path("unused")),
        quantize="int8",
        sample_file=args.sample_file,
        data=DataConfig(max_seq_length=args.max_seq_length),
        samples=args.samples,
    )
    reference = load_inference_model(args.model)
    texts, source = _parity_texts(config, reference.task_type)
    batches = text_batches(reference.task_type, reference.tokenizer, texts, args.max_seq_length or 128, 8)
    max_diff, min_agreement = _thresholds(config, reference.config.num_labels, reference.task_type)
    inputs = [{k: v for k, v in b.items() if k in reference.input_names} for b, _, _ in batches]
    print(f"parity text: {len(texts)} rows ({source})", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        folder.mkdir()
        reference.config.save_pretrained(folder)
        reference.tokenizer.save_pretrained(folder)
        for method, value in [
            ("plain", None),
            *[("smooth", a) for a in args.alpha],
            *[("split", f) for f in args.split],
        ]:
            model = reference.task_type.head_class.from_pretrained(args.model, attn_implementation="eager").eval()
            if method != "plain":
                ranges = input_ranges(model, inputs)
                if args.smooth_kinds:
                    ranges = {k: v for k, v in ranges.items() if matrix_kind(k) in args.smooth_kinds}
                if method == "smooth":
                    smooth_linears(model, ranges, value)
                else:
                    split = split_outliers(model, ranges, value)
                    print(f"split {sum(split.values())} channels of {len(split)} matrices: {split}", flush=True)
            draft = Path(tmp) / "draft.onnx"
            export_onnx(model, reference.input_names, draft, 18, reference.task_type.output_names)
            matmuls = weight_matmuls(draft)
            kinds = list(matrix_kinds(matmuls))
            variants = {"all-int8": []}
            if args.per_kind:
                variants |= {f"only {k} int8": [x for x in kinds if x != k] for k in kinds}
            for name, fp32 in variants.items():
                quantize_onnx(draft, folder / "model_int8.onnx", nodes_of(matmuls, fp32))
                exported = load_inference_model(folder)
                p = parity_check(reference, exported, batches, source, max_diff=max_diff, min_agreement=min_agreement)
                row = {
                    "method": method,
                    "value": value,
                    "variant": name,
                    "passed": p.passed,
                    "lowest_cosine": p.min_similarity,
                    "agreement": p.argmax_agreement,
                    "max_abs_diff": p.max_abs_diff,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
                del exported
                if args.keep and name == "all-int8":
                    kept = args.keep / ("plain" if value is None else f"{method}-{value:g}")
                    shutil.copytree(folder, kept, dirs_exist_ok=True)
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "source": source, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
