"""Prediction stage with the teacher's logits computed once (the default) vs the teacher run every step.

Reproduces the teacher-logits rows of BENCHMARKS.md ("Training speed"):

    OMP_NUM_THREADS=1 python bench/teacher_logits.py [--epochs 3] [--out bench/results/teacher-logits]

Data: the demo's generated sentiment task (2,000 train, 400 dev). Teacher: MiniLM fine-tuned on it
for 2 epochs (made once, then reused). Student: 3 layers initialised from the teacher. Each mode
runs ``tinybert.distill(stage="prediction")`` with the same seed; the wall time of the whole call
(including the one teacher pass of the cached mode) and the dev accuracy are printed and written
to OUT/teacher_logits.json. "live" restores the previous behaviour by making
``with_teacher_logits`` return the features unchanged, so the module runs the teacher each step.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import tinybert
import tinybert.stages.distill as distill_stage
from tinybert.io.environment import environment
from tinybert.pipeline.demo_data import write_demo_data
from tinybert.pipeline.recipe import minilm_path
from tinybert.tasks.loading import Features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=Path("bench/results/teacher-logits"))
    args = parser.parse_args()
    data = args.out / "data"
    if not (data / "train.csv").is_file():
        write_demo_data(data)
    files = {"train": data / "train.csv", "dev": data / "dev.csv", "text_columns": ["sentence"]}
    teacher = args.out / "teacher"
    if not (teacher / "metrics.json").is_file():
        tinybert.finetune(
            minilm_path(), teacher, **files, epochs=2, learning_rate=1e-4, max_seq_length=32, overwrite=True
        )

    cached = distill_stage.with_teacher_logits

    def live(teacher: object, features: Features, accelerator: object) -> list[dict]:
        return features.train

    results = {}
    for mode in ("cached", "live", "cached"):  # cached twice: the first run also warms the caches
        distill_stage.with_teacher_logits = cached if mode == "cached" else live
        start = time.perf_counter()
        summary = tinybert.distill(
            str(teacher),
            args.out / mode,
            **files,
            layers=3,
            init="teacher",
            stage="prediction",
            prediction_epochs=args.epochs,
            prediction_lr=1e-4,
            max_seq_length=32,
            overwrite=True,
        )
        seconds = time.perf_counter() - start
        stage = summary["stages"]["prediction"]
        results[mode] = {
            "seconds": round(seconds, 1),
            "train_loop_seconds": stage["seconds"],
            "steps": stage["steps"],
            "dev_accuracy": summary["student"]["eval"]["dev"]["accuracy"],
        }
        print(mode, results[mode], flush=True)
    distill_stage.with_teacher_logits = cached
    results["speedup"] = round(results["live"]["seconds"] / results["cached"]["seconds"], 2)
    results["threads"] = torch.get_num_threads()
    results["environment"] = environment()
    (args.out / "teacher_logits.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: results[k] for k in ("cached", "live", "speedup")}))


if __name__ == "__main__":
    main()
