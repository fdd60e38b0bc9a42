"""Which kinds of weight matrix lose precision in int8, with and without SmoothQuant, at which alpha.

    python bench/int8_smooth.py --model MODEL [--alpha 0.5 0.75] [--sample-file F --max-seq-length N]
        [--samples 64] [--per-kind] [--json out.json]

Exports ``MODEL`` once to fp32 ONNX (tinybert's exporter) and once per alpha after
:func:`tinybert.deploy.smooth.smooth_linears` (calibrated on the parity text, as ``tinybert export
--smooth`` is), then quantizes each draft all-int8 and, with ``--per-kind``, with one kind of weight
matrix in int8 and the rest fp32, and prints the parity ``tinybert export`` would report: the lowest
cosine (sentence embedders), the argmax or decoded agreement (classifiers, QA) and the largest
|difference|. The parity text is what ``tinybert export`` would use with the same options.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from tinybert.config import DataConfig, ExportConfig, RunOptions
from tinybert.deploy.export import _parity_texts, _thresholds, export_onnx, parity_check
from tinybert.deploy.quantize import matrix_kinds, nodes_of, quantize_onnx, weight_matmuls
from tinybert.deploy.runtime import load_inference_model
from tinybert.deploy.smooth import input_ranges, smooth_linears
from tinybert.tasks.base import text_batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--alpha", type=float, nargs="*", default=[0.5])
    parser.add_argument("--sample-file", type=Path)
    parser.add_argument("--max-seq-length", type=int)
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--per-kind", action="store_true")
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
        for alpha in [None, *args.alpha]:
            model = reference.task_type.head_class.from_pretrained(args.model, attn_implementation="eager").eval()
            if alpha is not None:
                smooth_linears(model, input_ranges(model, inputs), alpha)
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
                    "alpha": alpha,
                    "variant": name,
                    "passed": p.passed,
                    "lowest_cosine": p.min_similarity,
                    "agreement": p.argmax_agreement,
                    "max_abs_diff": p.max_abs_diff,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
                del exported
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "source": source, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
