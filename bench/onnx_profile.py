"""Where an exported model's CPU time goes: onnxruntime's profile, summed by operator type.

    python bench/onnx_profile.py EXPORT [EXPORT ...] [--batch-size 32] [--seq-len 128] [--fuse] [--output F.json]

EXPORT is a `tinybert export --format onnx` folder (or a .onnx file). Each model runs on one thread
on the same batch of random in-vocabulary ids (all tokens real), 2 warm-up calls and 4 profiled
calls; the table gives each operator type's share of the summed node time and the call's median.
`--fuse` first applies onnxruntime's transformer optimizer (`model_type="bert"`: GELU, SkipLayerNorm
fusion) to the fp32 graph and quantizes the result with `tinybert export --quantize int8`'s function (per
output channel), to see what fusion changes; so give it fp32 exports.

Issue 24 uses it to explain why the 4L-312 student's int8 speedup over its base-size teacher stays
near 10x at batch 32 against a matrix-multiply FLOP ratio of 18.8x.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from tinybert.deploy.quantize import quantize_onnx


def graph_file(path: Path) -> Path:
    """The graph of an export folder (its export.json names the file) or the file itself."""
    if path.is_dir():
        return path / json.loads((path / "export.json").read_text())["file"]
    return path


def fused_int8(source: Path, work: Path) -> Path:
    """The fp32 graph at `source` fused by onnxruntime's transformer optimizer, then int8 per channel."""
    from onnxruntime.transformers import optimizer

    config = json.loads((source.parent / "config.json").read_text())
    fused = optimizer.optimize_model(
        str(source),
        model_type="bert",
        num_heads=config["num_attention_heads"],
        hidden_size=config["hidden_size"],
        opt_level=1,
    )
    print(f"{source}: fused {dict((k, v) for k, v in fused.get_fused_operator_statistics().items() if v)}")
    fp32, int8 = work / f"{source.parent.name}-fused.onnx", work / f"{source.parent.name}-fused-int8.onnx"
    fused.save_model_to_file(str(fp32))
    quantize_onnx(fp32, int8)  # as `tinybert export --quantize int8` does
    return int8


def profile(path: Path, batch_size: int, seq_len: int) -> dict:
    """Per-operator-type share of node time and the median call time of `path` on one thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.gettempdir()) / "onnx_profile")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    inputs = {  # (batch, seq_len) each
        "input_ids": rng.integers(1000, 30000, (batch_size, seq_len)).astype(np.int64),
        "attention_mask": np.ones((batch_size, seq_len), np.int64),
        "token_type_ids": np.zeros((batch_size, seq_len), np.int64),
    }
    feed = {i.name: inputs[i.name] for i in session.get_inputs()}
    calls = []
    for call in range(6):
        start = time.perf_counter()
        session.run(None, feed)
        if call >= 2:
            calls.append(time.perf_counter() - start)
    trace = Path(session.end_profiling())
    events = [e for e in json.loads(trace.read_text()) if e.get("cat") == "Node"]
    trace.unlink()
    by_op: collections.Counter[str] = collections.Counter()
    for event in events:
        by_op[event["args"].get("op_name", "?")] += event["dur"]
    total = sum(by_op.values())
    return {
        "model": str(path),
        "median_ms": 1000 * statistics.median(calls),
        "share": {op: round(us / total, 4) for op, us in by_op.most_common()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("exports", nargs="+", type=Path)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--fuse", action="store_true")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        files = [graph_file(p) for p in args.exports]
        if args.fuse:
            files = [fused_int8(f, Path(work)) for f in files]
        for f in files:
            onnx.checker.check_model(str(f))
        results = [profile(f, args.batch_size, args.seq_len) for f in files]
    for result in results:
        print(f"\n{result['model']}: median {result['median_ms']:.1f} ms per call")
        for op, share in list(result["share"].items())[:12]:
            print(f"  {op:28s} {100 * share:5.1f}%")
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
