"""Markdown rows of BENCHMARKS.md's base-size table from bench/base_students.sh output folders.

    python bench/base_table.py bench/results/base/sst2 [bench/results/base/mrpc ...]

Per task: the teacher's dev metric, then each student present (4l312-labels, 4l312-distill,
6l768-distill): dev metric, retention (student / teacher), parameters, and for the teacher and the
distilled 4L-312 their int8 ONNX size, parity and `tinybert benchmark` latency (p50, batch 1 and 32,
one thread) with the student's speed-up over the teacher.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The metric each task reports, in percent (the first is the retention's).
REPORTED = {
    "sst2": ("accuracy",),
    "mrpc": ("f1", "accuracy"),
    "cola": ("mcc",),
    "conll2003": ("f1",),
    "custom": ("f1", "exact_match"),  # SQuAD: generic span files
}
STUDENTS = {
    "4l312-labels": "4L-312, cut from the teacher, labels only (13 epochs)",
    "4l312-distill": "4L-312, cut from the teacher, distilled (defaults: 10 + 3 epochs)",
    "4l312-distill-lr1e-4": "4L-312, cut from the teacher, distilled, --learning-rate 1e-4",
    "4l312-distill-aug": "4L-312, cut from the teacher, distilled on the rows augmented 5x (3 + 3 epochs)",
    "4l312-distill-pred13": "4L-312, cut from the teacher, distilled, prediction stage 13 epochs at 1e-4",
    "4l312-predonly13": "4L-312, cut from the teacher, prediction stage only, 13 epochs at 1e-4",
    "4l312-distill-int20": "4L-312, cut from the teacher, distilled, 20 intermediate epochs",
    "6l768-distill": "6L-768 preset, distilled (defaults)",
    "4l312-of-6l768-distill": "4L-312, cut from the distilled 6L-768, distilled (defaults)",
}


def _json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _metrics(run: dict) -> dict[str, float]:
    """The first dev split's metrics of a finetune or distill metrics.json."""
    student = run.get("student")
    evals = student["eval"] if isinstance(student, dict) and "eval" in student else run["eval"]
    return next(iter(evals.values()))


def _speed(folder: Path) -> dict[str, dict[int, float]]:
    """p50 ms by model folder name and batch size, from speed/benchmark.json."""
    bench = _json(folder / "speed" / "benchmark.json")
    if bench is None:
        return {}
    return {Path(m["model"]).name: {b["batch_size"]: b["p50_ms"] for b in m["batches"]} for m in bench["models"]}


def _export(folder: Path, name: str) -> str:
    info = _json(folder / f"{name}-int8" / "export.json")
    if info is None:
        return "n/a"
    parity = info["parity"]
    agreement = parity.get("argmax_agreement")
    passed = "passed" if parity["passed"] else "FAILED"
    return f"{info['size_bytes'] / 2**20:.1f} MiB, parity {passed} ({100 * (agreement or 0):.1f}% agreement)"


def main(folders: list[Path]) -> None:
    print("| task (metric) | model | params | dev | retention | int8 ONNX | p50 ms b1 / b32 (int8, 1 thread) |")
    print("|---|---|---:|---:|---:|---|---:|")
    for folder in folders:
        teacher = _json(folder / "teacher" / "metrics.json")
        if teacher is None:
            continue
        task = teacher["task"]
        names = REPORTED.get(task, ("accuracy",))
        t = _metrics(teacher)
        speed = _speed(folder)

        def fmt(m: dict[str, float], names: tuple[str, ...] = names) -> str:
            return " / ".join(f"{100 * m[n]:.1f}" for n in names)

        def latency(name: str, speed: dict = speed) -> str:
            ms = speed.get(f"{name}-int8")
            return " / ".join(f"{ms[b]:.1f}" for b in sorted(ms)) if ms else "n/a"

        label = f"{task} ({' / '.join(names)})"
        print(
            f"| {label} | teacher: all-mpnet-base-v2 fine-tuned | {teacher['parameters'] / 1e6:.1f}M | {fmt(t)} | "
            f"100% | {_export(folder, 'teacher')} | {latency('teacher')} |"
        )
        for name, desc in STUDENTS.items():
            run = _json(folder / name / "metrics.json")
            if run is None:
                continue
            s = _metrics(run)
            student = run.get("student")
            own = isinstance(student, dict) and "parameters" in student
            params = student["parameters"] if own else run["parameters"]
            retention = f"{100 * s[names[0]] / t[names[0]]:.1f}%" if t[names[0]] else "n/a"
            export = _export(folder, name) if name == "4l312-distill" else ""
            speedup = ""
            if name == "4l312-distill" and speed.get("teacher-int8") and speed.get(f"{name}-int8"):
                t_ms, s_ms = speed["teacher-int8"], speed[f"{name}-int8"]
                speedup = " (" + " / ".join(f"{t_ms[b] / s_ms[b]:.1f}x" for b in sorted(s_ms)) + " faster)"
            print(
                f"| {label} | {desc} | {params / 1e6:.1f}M | {fmt(s)} | {retention} | {export} | "
                f"{latency(name) if name == '4l312-distill' else ''}{speedup} |"
            )


if __name__ == "__main__":
    main([Path(a) for a in sys.argv[1:]])
