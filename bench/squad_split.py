"""Split SQuAD v1.1 dev by article: the first N articles for training, the rest for evaluation.

    python bench/squad_split.py ../shared/data/squad-v1.1/dev-v1.1.json /work/bench-qa/data 38

Writes ``train.json`` and ``dev.json`` (SQuAD format) into the output folder and prints the counts;
no article is in both. Also ``dev-sample.jsonl``: the first 64 evaluation questions with their
contexts, the text of the export's parity check.
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
        if name == "dev":
            rows = [
                {"question": q["question"], "context": p["context"]}
                for a in part
                for p in a["paragraphs"]
                for q in p["qas"]
            ]
            (out / "dev-sample.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:64]), encoding="utf-8")
        print(f"{name}: {len(part)} articles, {questions} questions ({part[0]['title']} .. {part[-1]['title']})")


if __name__ == "__main__":
    main(*sys.argv[1:4])
