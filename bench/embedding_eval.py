"""The offline sentence-embedding figures of issue 26 for sentence-transformers folders: MRPC pair
classification (cosine; average precision and best-threshold accuracy, as MTEB scores it) and
SQuAD-dev retrieval (each question against all 2,067 paragraphs: MRR@10, recall@1, recall@10),
with the encode throughput at batch 32 on this CPU.

    python bench/embedding_eval.py OUT.json MODEL [MODEL ...]      (env TINYBERT_DATA_DIR, OMP_NUM_THREADS)

Each MODEL is a sentence-transformers folder, or ``model2vec:PATH`` for a model2vec static model.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from tinybert.io.environment import environment
from tinybert.models.loading import load_tokenizer
from tinybert.tasks.embedding import mrpc_pairs, score_pairs, score_retrieval, squad_retrieval
from tinybert.tasks.sentence import SentenceEmbedder, encode

DATA = Path(os.environ.get("TINYBERT_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def encoder_for(name: str):
    if name.startswith("model2vec:"):
        from model2vec import StaticModel

        static = StaticModel.from_pretrained(name.split(":", 1)[1])
        return lambda texts: static.encode(list(texts), batch_size=1024), int(static.embedding.size)
    model = SentenceEmbedder.from_pretrained(name)
    tokenizer = load_tokenizer(name, "--model")
    params = sum(p.numel() for p in model.parameters())
    return (lambda texts: encode(model, tokenizer, list(texts), batch_size=32)), params


def main() -> None:
    out, names = Path(sys.argv[1]), sys.argv[2:]
    pairs = mrpc_pairs(DATA / "glue" / "MRPC")
    squad = squad_retrieval(DATA / "squad-v1.1" / "dev-v1.1.json")
    rows = json.loads(out.read_text())["models"] if out.is_file() else {}
    for name in names:
        if name in rows:
            continue
        run, params = encoder_for(name)
        sentences = pairs.first[:256]
        run(sentences[:32])  # warm-up
        start = time.perf_counter()
        run(sentences)
        speed = len(sentences) / (time.perf_counter() - start)
        start = time.perf_counter()
        row = {"parameters": params, "sentences_per_second": round(speed, 1)}
        row["mrpc"] = score_pairs(run, pairs)
        row["squad_retrieval"] = score_retrieval(run, squad)
        row["seconds"] = round(time.perf_counter() - start, 1)
        rows[name] = row
        print(name, json.dumps(row), flush=True)
        out.write_text(
            json.dumps({"models": rows, "threads": torch.get_num_threads(), "environment": environment()}, indent=1)
        )


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
