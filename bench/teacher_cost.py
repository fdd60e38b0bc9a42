"""Where an intermediate-stage step's time goes with a base-size teacher, and what stored teacher
outputs save (issue 24, item 2).

    OMP_NUM_THREADS=1 python bench/teacher_cost.py --teacher runs/base/sst2/teacher \\
        --data-dir ../shared/data/glue/SST-2 [--rows 8000] [--steps 12] [--batch-size 32]

The step is the training loop's: ``DistillationModule(stage="intermediate")`` (embedding, hidden and
attention losses, the uniform map, the project's score attention and packing) with a 4L-312 student
of random weights (its time does not depend on the weights), fused AdamW, clipping at 1.0. Batches
are length-grouped batches of real SST-2 training rows, as the loop forms them. Each part is timed
with ``time.perf_counter`` around it: the teacher's forward (or reading its stored outputs back),
the student's forward and the losses, backward, clipping and the optimizer. Prints the median of
each part over ``--steps`` steps after one warm-up step, and steps per second both ways.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from accelerate import Accelerator

from tinybert.config import STUDENT_PRESETS, DataConfig, LossWeights
from tinybert.data.features import Collate, model_inputs
from tinybert.distillation.objective import DistillationModule
from tinybert.distillation.teacher_states import INDEX_KEY, teacher_states
from tinybert.models.attention import use_training_attention
from tinybert.models.layer_map import uniform_map
from tinybert.models.loading import load_classifier, load_tokenizer
from tinybert.models.students import build_student
from tinybert.tasks.loading import Features, load_data, model_labels
from tinybert.training.loop import adamw, param_groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    data = DataConfig(task="sst2", data_dir=Path(args.data_dir), max_train_samples=args.rows)
    task = load_data(data, need_train=True)
    teacher = load_classifier(args.teacher, task.spec.label_names, "--teacher", new_head=False)
    tokenizer = load_tokenizer(args.teacher, "--teacher")
    features = Features(task, tokenizer, model_labels(teacher, task), task.spec.max_seq_length)
    student = build_student(teacher.config, STUDENT_PRESETS["tinybert-4l-312"])
    use_training_attention(teacher, "--teacher", scores=True)
    use_training_attention(student, "--student", scores=True)
    layer_map = uniform_map(4, teacher.config.num_hidden_layers)
    module = DistillationModule(student, teacher, layer_map, LossWeights(), "intermediate").train()
    optimizer = adamw(param_groups(module, 0.01), 5e-5, torch.device("cpu"))

    # The loop's batches: length-grouped, shuffled; every example keeps its row in the store.
    rows = [{**f, INDEX_KEY: i} for i, f in enumerate(features.train)]
    loader = features.loader(rows, args.batch_size, shuffle=True, seed=0)
    batches = [b for _, b in zip(range(args.steps + 1), loader, strict=False)]
    collate = Collate(features.collator)
    with tempfile.TemporaryDirectory() as folder:
        used = sorted({int(i) for b in batches for i in b[INDEX_KEY]})
        start = time.perf_counter()
        states = teacher_states(
            teacher, [rows[i] for i in used], module.states_layout(), Path(folder), Accelerator(cpu=True), collate
        )
        store_s = time.perf_counter() - start
        where = {i: j for j, i in enumerate(used)}  # the store holds only the timed batches' rows
        timed: dict[str, dict[str, list[float]]] = {"teacher runs": {}, "stored outputs": {}}
        for step, batch in enumerate(batches):
            for kind, parts in timed.items():
                module.states = states if kind == "stored outputs" else None
                b = {**batch, INDEX_KEY: torch.tensor([where[int(i)] for i in batch[INDEX_KEY]])}
                if kind == "teacher runs":
                    b.pop(INDEX_KEY)
                for name, seconds in _step(module, optimizer, b).items():
                    if step:  # the first step warms up
                        parts.setdefault(name, []).append(seconds)
    tokens = [int(b["attention_mask"].sum()) for b in batches[1:]]
    result: dict = {
        "teacher": args.teacher,
        "threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "real_tokens_per_batch (median)": statistics.median(tokens),
        "store_s_per_example": round(store_s / len(used), 4),
    }
    for kind, parts in timed.items():
        medians = {name: statistics.median(v) for name, v in parts.items()}
        total = statistics.median(
            [sum(v[i] for name, v in parts.items() if not name.startswith("(")) for i in range(len(tokens))]
        )
        result[kind] = {
            **{f"{name} ms": round(1000 * m, 1) for name, m in medians.items()},
            "step ms (forward + backward + optimizer)": round(1000 * total, 1),
            "steps/s": round(1 / total, 3),
        }
    print(json.dumps(result, indent=1))


def _step(module: DistillationModule, optimizer: torch.optim.Optimizer, batch: dict) -> dict[str, float]:
    """One training step, timed part by part. The module's forward runs the teacher (or reads its
    stored outputs), the student and the losses; the teacher's forward and the read are also timed
    alone, right before, to show their share."""
    times: dict[str, float] = {}
    start = time.perf_counter()
    if INDEX_KEY not in batch:
        with torch.inference_mode():
            module.teacher(**model_inputs(batch), output_hidden_states=True, output_attentions=True)
        times["(teacher forward alone, padded)"] = time.perf_counter() - start
    else:
        module.states.batch(batch[INDEX_KEY], batch["attention_mask"].shape[1], module.packs, torch.device("cpu"))
        times["(read alone)"] = time.perf_counter() - start
    start = time.perf_counter()
    out = module(batch)
    times["forward"] = time.perf_counter() - start
    start = time.perf_counter()
    out.loss.backward()
    times["backward"] = time.perf_counter() - start
    start = time.perf_counter()
    torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    times["clip + optimizer"] = time.perf_counter() - start
    return times


if __name__ == "__main__":
    main()
