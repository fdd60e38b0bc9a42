"""Markdown tables for BENCHMARKS.md from bench/speed.sh's results.

python bench/speed_table.py bench/results/speed THREADS
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def speed_table(path: Path) -> str:
    summary = json.loads((path / "benchmark.json").read_text())
    env, models = summary["environment"], summary["models"]
    sizes = [row["batch_size"] for row in models[0]["batches"]]
    head = ["model", "kind", "params", "file MiB", "peak RSS MiB", "b1 p50 / p90 / p99 ms"]
    head += [f"b{b} samples/s" for b in sizes]
    head += [f"speedup b{b}" for b in sizes]
    lines = [
        f"{env['cpu']}, {models[0]['threads']} thread(s), length {summary['settings']['seq_len']}, {env['date']}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for m in models:
        b1 = m["batches"][0]
        cells = [
            Path(m["model"]).name,
            m["kind"],
            f"{m['parameters'] / 1e6:.1f}M",
            f"{m['size_bytes'] / 2**20:.0f}",
            f"{m['peak_rss_mb']:.0f}",
            f"{b1['p50_ms']:.1f} / {b1['p90_ms']:.1f} / {b1['p99_ms']:.1f}",
            *[f"{row['throughput']:.1f}" for row in m["batches"]],
            *[f"{row['throughput_speedup']:.1f}x" for row in m["batches"]],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def accuracy_table(out: Path) -> str:
    lines = ["| model | SST-2 dev accuracy |", "|---|---|"]
    for path in sorted(out.glob("eval-*.json")):
        metrics = json.loads(path.read_text())["eval"]["dev"]
        lines.append(f"| {path.stem[5:]} | {100 * metrics['accuracy']:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    out, threads = Path(sys.argv[1]), sys.argv[2]
    for name in ("4a", "4b"):
        if (out / f"{name}-threads{threads}" / "benchmark.json").exists():
            print(f"### {name}\n\n{speed_table(out / f'{name}-threads{threads}')}\n")
    print(accuracy_table(out))
