"""Markdown rows for BENCHMARKS.md from a bench/glue_students.sh output folder.

python bench/table.py bench/results/sst2
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(folder: Path) -> None:
    teacher = json.loads((folder / "teacher" / "metrics.json").read_text())
    task = teacher["task"]
    split = next(iter(teacher["eval"]))
    metric = {"sst2": "accuracy", "mrpc": "f1", "cola": "mcc"}.get(task, "accuracy")
    t_score = teacher["eval"][split][metric]
    print(
        f"teacher {task}: {metric} {100 * t_score:.1f} ({teacher['parameters'] / 1e6:.1f}M parameters, "
        f"{teacher['train_examples']} training examples)"
    )
    print("| task | student | params | labels only | distilled | teacher | distilled / teacher |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, label in (("4l312", "4L-312, random init"), ("3l384", "3L-384, teacher init")):
        labels_dir, distill_dir = folder / f"{name}-labels", folder / f"{name}-distill"
        if not (labels_dir / "metrics.json").is_file() or not (distill_dir / "metrics.json").is_file():
            continue
        base = json.loads((labels_dir / "metrics.json").read_text())
        dist = json.loads((distill_dir / "metrics.json").read_text())
        b_score = base["eval"][split][metric]
        d_score = dist["student"]["eval"][split][metric]
        extra = ""
        if task == "mrpc":
            b_acc, d_acc = base["eval"][split]["accuracy"], dist["student"]["eval"][split]["accuracy"]
            extra = f" (acc {100 * b_acc:.1f} / {100 * d_acc:.1f})"
        print(
            f"| {task} {metric} | {label} | {dist['student']['parameters'] / 1e6:.1f}M | {100 * b_score:.1f} | "
            f"{100 * d_score:.1f} | {100 * t_score:.1f} | {100 * d_score / t_score:.1f}%{extra} |"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
