"""What capturing MPNet's pre-softmax scores costs a teacher forward (issue 23).

    python bench/own_scores_cost.py --model /path/to/all-mpnet-base-v2 [--batch-size 32] [--length 64] [--repeats 5]

Times the intermediate stage's teacher forward (``output_hidden_states`` and ``output_attentions``,
inference mode) with the score capture of ``tinybert.models.own_scores`` installed and without it
(the model's own eager attention, which returns probabilities), interleaved call by call; prints the
median of each and the capture's one-off install check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from tinybert.models.attention import use_default_attention, use_score_attention


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=2).eval()
    text = ["a gorgeous , witty , seductive movie that never lets up ."] * args.batch_size
    batch = tokenizer(text, padding="max_length", max_length=args.length, truncation=True, return_tensors="pt")
    start = time.perf_counter()
    use_score_attention(model, "--teacher")
    install = time.perf_counter() - start
    times: dict[str, list[float]] = {"captured scores": [], "own probabilities": []}
    for repeat in range(args.repeats + 1):
        for kind in times:
            if kind == "captured scores":
                use_score_attention(model, "--teacher")
            else:
                use_default_attention(model)
                model.set_attn_implementation("eager")
            start = time.perf_counter()
            with torch.inference_mode():
                model(**batch, output_hidden_states=True, output_attentions=True)
            if repeat:  # the first round warms up
                times[kind].append(time.perf_counter() - start)
    result = {
        "model": args.model,
        "batch": [args.batch_size, args.length],
        "threads": torch.get_num_threads(),
        "install_check_s": round(install, 2),
        **{f"{k} forward s (median)": round(statistics.median(v), 3) for k, v in times.items()},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
