"""Split SQuAD v1.1 dev by article: the first N articles for training, the rest for evaluation.

    python bench/squad_split.py ../shared/data/squad-v1.1/dev-v1.1.json /work/bench-qa/data 38

Writes ``train.json`` and ``dev.json`` (SQuAD format) into the output folder and prints the counts;
no article is in both.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(source: str, output: str, train_articles: str) -> None:
    data = json.loads(Path(source).read_text(encoding="utf-8"))
    n = int(train_articles)
    articles = data["data"]
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    for name, part in (("train", articles[:n]), ("dev", articles[n:])):
        (out / f"{name}.json").write_text(json.dumps({"version": data["version"], "data": part}), encoding="utf-8")
        questions = sum(len(p["qas"]) for a in part for p in a["paragraphs"])
        print(f"{name}: {len(part)} articles, {questions} questions ({part[0]['title']} .. {part[-1]['title']})")


if __name__ == "__main__":
    main(*sys.argv[1:4])
