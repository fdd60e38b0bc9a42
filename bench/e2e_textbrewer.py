"""TextBrewer's usual recipe for TinyBERT's intermediate stage on SST-2, timed (the peer of
``tinybert distill --stage intermediate`` in BENCHMARKS.md, "Training speed", issue 12).

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/e2e_textbrewer.py --teacher TEACHER \
        --data-dir SST-2 --max-train-samples 8000 --max-steps 40 \
        --textbrewer-site /path/to/textbrewer-venv/lib/python3.11/site-packages [--json out.json]

The same first N training rows as ``--max-train-samples``, tokenised with the teacher's tokenizer
and padded to a fixed 128 tokens (TextBrewer's examples: ``max_seq_length=128``,
``padding="max_length"``), shuffled batches of 32 (a ``RandomSampler``), the same student
(``tinybert-4l-312``, random init, seed 42), teacher, layer map and losses as
``bench/step_speed.py`` (hidden MSE through linear projections for the embeddings and each mapped
layer, pre-softmax attention MSE), AdamW (torch's default implementation) at 5e-5 with 10% linear
warm-up, clipping at 1.0, ``GeneralDistiller.train(num_steps=...)``.

Every step costs the same (fixed length), so ``--max-steps N`` times the first N steps (after
``--warmup`` more) and extrapolates the epoch as mean step time x steps per epoch;
``--max-steps 0`` runs the whole epoch. The timed interval is one whole TextBrewer step (from one
batch handed to the distiller to the next): data loading, both forwards, losses, backward,
clipping, optimizer and scheduler step, logging.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch
from step_speed import loadavg, register_presoftmax, textbrewer_adaptor, textbrewer_matches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--max-train-samples", type=int, default=8000)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-steps", type=int, default=40, help="timed steps (0: the whole epoch)")
    parser.add_argument("--warmup", type=int, default=2, help="first steps not timed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--textbrewer-site", default=os.environ.get("TEXTBREWER_SITE"))
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.textbrewer_site:
        sys.path.append(args.textbrewer_site)
    import textbrewer
    import transformers
    from textbrewer import DistillationConfig, GeneralDistiller, TrainingConfig
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup

    from tinybert.models.layer_map import uniform_map
    from tinybert.models.students import STUDENT_PRESETS, build_student
    from tinybert.training.loop import param_groups

    transformers.logging.set_verbosity_error()
    t_all = time.perf_counter()
    with open(os.path.join(args.data_dir, "train.tsv"), newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[: args.max_train_samples]
    tok = AutoTokenizer.from_pretrained(args.teacher)
    enc = tok(
        [r["sentence"] for r in rows],
        padding="max_length",
        truncation=True,
        max_length=args.max_seq_length,
        return_tensors="pt",
    )
    data = [{k: enc[k][i] for k in ("input_ids", "attention_mask", "token_type_ids")} for i in range(len(rows))]
    g = torch.Generator().manual_seed(args.seed)
    loader = torch.utils.data.DataLoader(
        data, batch_size=args.batch_size, sampler=torch.utils.data.RandomSampler(data, generator=g)
    )
    steps_per_epoch = len(loader)

    pre = register_presoftmax()
    teacher = AutoModelForSequenceClassification.from_pretrained(args.teacher, num_labels=2, attn_implementation=pre)
    torch.manual_seed(args.seed)
    student = build_student(teacher.config, STUDENT_PRESETS["tinybert-4l-312"])
    student.set_attn_implementation(pre)
    lm = uniform_map(student.config.num_hidden_layers, teacher.config.num_hidden_layers)
    matches = textbrewer_matches(lm, student.config.hidden_size, teacher.config.hidden_size)
    total = steps_per_epoch if args.max_steps == 0 else args.warmup + args.max_steps
    tc = TrainingConfig(
        device="cpu", output_dir=tempfile.mkdtemp(prefix="textbrewer-e2e-"), ckpt_steps=10**6, log_dir=None
    )
    dc = DistillationConfig(
        temperature=1, kd_loss_type="ce", kd_loss_weight=1, hard_label_weight=0, intermediate_matches=matches
    )
    distiller = GeneralDistiller(tc, dc, teacher, student, textbrewer_adaptor, textbrewer_adaptor)
    opt = torch.optim.AdamW(param_groups(student, 0.01), lr=5e-5)
    # TextBrewer adds the projections' parameter groups to the optimizer, then builds the scheduler
    sched_args = {"num_warmup_steps": int(0.1 * steps_per_epoch), "num_training_steps": steps_per_epoch}
    stamps: list[float] = []

    def stamp(batch):
        stamps.append(time.perf_counter())
        return batch

    setup_s = time.perf_counter() - t_all
    with distiller:
        distiller.train(
            opt,
            loader,
            num_steps=total + 1,
            scheduler_class=get_linear_schedule_with_warmup,
            scheduler_args=sched_args,
            max_grad_norm=1.0,
            batch_postprocessor=stamp,
            output_attentions=True,
            output_hidden_states=True,
        )
    iv = [(b - a) for a, b in itertools.pairwise(stamps)]  # step i, for i < total (step total saves: not timed)
    assert len(iv) == total, (len(iv), total)
    timed = iv if args.max_steps == 0 else iv[args.warmup :]
    mean_s = sum(timed) / len(timed)
    result = {
        "recipe": "TextBrewer GeneralDistiller, fixed padding",
        "textbrewer": textbrewer.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "threads": torch.get_num_threads(),
        "examples": len(rows),
        "max_seq_length": args.max_seq_length,
        "batch_size": args.batch_size,
        "steps_per_epoch": steps_per_epoch,
        "timed_steps": len(timed),
        "warmup_steps_excluded": 0 if args.max_steps == 0 else args.warmup,
        "non_pad_fraction": round(float(enc["attention_mask"].float().mean()), 3),
        "step_ms_median": round(statistics.median(timed) * 1000, 1),
        "step_ms_mean": round(mean_s * 1000, 1),
        "epoch_loop_seconds": round(sum(iv), 1) if args.max_steps == 0 else None,
        "epoch_loop_seconds_extrapolated": round(mean_s * steps_per_epoch, 1),
        "setup_seconds": round(setup_s, 1),
        "loadavg_end": loadavg(),
        "teacher": args.teacher,
        "layer_map": lm.describe(),
    }
    print(json.dumps(result, indent=1), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
