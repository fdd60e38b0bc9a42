"""Markdown rows for BENCHMARKS.md from a bench/glue_students.sh output folder.

python bench/table.py bench/results/sst2
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# What each task reports: the GLUE metric(s), in percent.
REPORTED = {"sst2": ("accuracy",), "mrpc": ("accuracy", "f1"), "cola": ("mcc",)}


def _load(path: Path) -> dict:
    return json.loads((path / "metrics.json").read_text())


def _fmt(metrics: dict[str, float], names: tuple[str, ...]) -> str:
    return " / ".join(f"{100 * metrics[n]:.1f}" for n in names)


def main(folder: Path) -> None:
    teacher = _load(folder / "teacher")
    task = teacher["task"]
    split = next(iter(teacher["eval"]))
    names = REPORTED.get(task, ("accuracy",))
    t_metrics = teacher["eval"][split]
    label = " / ".join(names)
    print(
        f"teacher {task} {label}: {_fmt(t_metrics, names)} ({teacher['parameters'] / 1e6:.1f}M parameters, "
        f"{teacher['train_examples']} training examples, {teacher['runs'][0]['seconds'] / 60:.0f} min)"
    )
    print(f"| task ({label}) | student | params | labels only | distilled | teacher | distilled / teacher |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, desc in (("4l312", "4L-312, random init"), ("3l384", "3L-384, teacher init")):
        if not (folder / f"{name}-labels" / "metrics.json").is_file():
            continue
        if not (folder / f"{name}-distill" / "metrics.json").is_file():
            continue
        base = _load(folder / f"{name}-labels")
        dist = _load(folder / f"{name}-distill")
        b_metrics, d_metrics = base["eval"][split], dist["student"]["eval"][split]
        ratio = " / ".join(f"{100 * d_metrics[n] / t_metrics[n]:.1f}%" for n in names)
        print(
            f"| {task} | {desc} | {dist['student']['parameters'] / 1e6:.1f}M | {_fmt(b_metrics, names)} | "
            f"{_fmt(d_metrics, names)} | {_fmt(t_metrics, names)} | {ratio} |"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
