"""Time of one training step's parts on CPU: forward+backward, and the AdamW step looped vs fused.

Reproduces the AdamW rows of BENCHMARKS.md ("Training speed"):

    OMP_NUM_THREADS=1 python bench/train_step.py [--seq-len 32] [--batch-size 32] [--repeats 10]

Students (random weights, BERT vocabulary of 30,522 entries): the demo's 3-layer hidden-384
student, TinyBERT4 (4 layers, hidden 312) and BERT-base (12 layers, hidden 768), each a sequence
classifier. Each part is timed as the mean of ``--repeats`` calls after one warm-up call.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import torch
from transformers import BertConfig, BertForSequenceClassification

SHAPES = {
    "demo student 3L-384": {"num_hidden_layers": 3, "hidden_size": 384, "intermediate_size": 1536},
    "TinyBERT4 4L-312": {"num_hidden_layers": 4, "hidden_size": 312, "intermediate_size": 1200},
    "BERT-base 12L-768": {"num_hidden_layers": 12, "hidden_size": 768, "intermediate_size": 3072},
}


def mean_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = []
    for name, shape in SHAPES.items():
        model = BertForSequenceClassification(BertConfig(num_attention_heads=12, num_labels=2, **shape)).train()
        ids = torch.randint(1000, 30000, (args.batch_size, args.seq_len))
        labels = torch.randint(0, 2, (args.batch_size,))

        def forward_backward(model: torch.nn.Module = model, ids: torch.Tensor = ids, labels: torch.Tensor = labels):
            model.zero_grad(set_to_none=True)
            model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss.backward()

        fb = mean_ms(forward_backward, args.repeats)
        row = {"model": name, "parameters": sum(p.numel() for p in model.parameters()), "forward_backward_ms": fb}
        for label, fused in (("adamw_looped_ms", None), ("adamw_fused_ms", True)):
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=fused)
            row[label] = mean_ms(optimizer.step, args.repeats)
        row["step_speedup"] = (fb + row["adamw_looped_ms"]) / (fb + row["adamw_fused_ms"])
        rows.append(row)
        print(
            f"{name}: {row['parameters'] / 1e6:.1f}M parameters, forward+backward {fb:.0f} ms, AdamW step "
            f"{row['adamw_looped_ms']:.0f} ms looped / {row['adamw_fused_ms']:.0f} ms fused, "
            f"whole step {row['step_speedup']:.2f}x faster",
            flush=True,
        )
    settings = {**vars(args), "threads": torch.get_num_threads(), "torch": torch.__version__}
    print(json.dumps({"settings": settings, "rows": rows}))


if __name__ == "__main__":
    main()
