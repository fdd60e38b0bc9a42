"""MRPC pair classification and SQuAD retrieval (bench/embedding_eval.py's figures) of exported
sentence embedders (ONNX, int8): each text through the runtime, longest first, batch 32, 256 tokens.

    python bench/int8_embedding_eval.py EXPORT [EXPORT ...]       (env TINYBERT_DATA_DIR)
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Sequence

import numpy as np

from tinybert.deploy.runtime import InferenceModel, load_inference_model
from tinybert.tasks.embedding import mrpc_pairs, score_pairs, score_retrieval, squad_retrieval

DATA = os.environ.get("TINYBERT_DATA_DIR", "../shared/data")


def embed(model: InferenceModel, texts: Sequence[str], limit: int = 256, batch_size: int = 32) -> np.ndarray:
    """(N, D) embeddings of ``texts`` from an exported sentence embedder, longest texts first."""
    texts = list(texts)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = None
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        batch = model.tokenizer([texts[i] for i in index], padding=True, truncation=True, max_length=limit,
                                return_tensors="np")  # fmt: skip
        vectors = model.outputs(dict(batch))["sentence_embedding"]
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), np.float32)
        out[index] = vectors
    return out


def main() -> None:
    pairs = mrpc_pairs(DATA + "/glue/MRPC")
    squad = squad_retrieval(DATA + "/squad-v1.1/dev-v1.1.json")
    for path in sys.argv[1:]:
        run = functools.partial(embed, load_inference_model(path))
        figures = {"mrpc": score_pairs(run, pairs), "squad": score_retrieval(run, squad)}
        print(path, json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
