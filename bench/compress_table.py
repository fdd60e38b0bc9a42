"""Markdown rows for BENCHMARKS.md ("Pruning after distillation") from a recipe run with `compress`.

python bench/compress_table.py runs/sst2-compress

Per model: shape, parameters, batch-1 p50 latency and its speedup over the teacher (benchmark.json),
the main metric on dev (eval/*.json), its retention against the teacher, and for each cut the metric
before its recovery (pruning.json: the cut alone, no training).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _read(path: Path) -> dict:
    return json.loads(path.read_text())


def main(run: Path) -> None:
    bench = {Path(m["model"]).resolve(): m for m in _read(run / "benchmark" / "benchmark.json")["models"]}
    metric = _read(run / "student" / "metrics.json")["main_metric"]
    teacher_value = _read(run / "eval" / "teacher.json")["eval"]["dev"][metric]
    teacher_ms = bench[(run / "teacher").resolve()]["batches"][0]["p50_ms"]
    levels = [p.name for p in (run / "compressed").iterdir() if p.is_dir() and not p.name.endswith("-cut")]
    names = ["teacher", "student", *sorted(levels, key=lambda n: int(n.split("-")[1]))]
    print(
        f"| model | sparsity (layers' weights) | hidden / FFN | parameters | batch-1 p50 | speedup | "
        f"dev {metric}, cut alone | dev {metric} | of the teacher |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for name in names:
        folder = run / name if name in ("teacher", "student") else run / "compressed" / name
        b = bench[folder.resolve()]
        value = _read(run / "eval" / f"{name}.json")["eval"]["dev"][metric]
        config = _read(folder / "config.json")
        shape = f"{config['hidden_size']} / {config['intermediate_size']}, {config['num_hidden_layers']} layers"
        sparsity, before = "—", "—"
        cut = folder.with_name(folder.name + "-cut") / "pruning.json"
        if cut.is_file():
            report = _read(cut)
            sparsity = f"{100 * report['budget']['encoder_sparsity']:.0f}%"
            before = f"{100 * report['after']['eval']['dev'][metric]:.1f}"
        ms = b["batches"][0]["p50_ms"]
        label = {"teacher": "teacher (MiniLM-L6, fine-tuned)", "student": "3L-384 distilled (teacher init)"}.get(
            name, f"3L distilled, pruned to {name.replace('sparsity-', '')}% + recovery"
        )
        print(
            f"| {label} | {sparsity} | {shape} | {b['parameters'] / 1e6:.1f}M | {ms:.1f} ms | "
            f"{teacher_ms / ms:.2f}x | {before} | {100 * value:.1f} | {100 * value / teacher_value:.1f}% |"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
