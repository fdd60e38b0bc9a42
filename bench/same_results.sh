#!/usr/bin/env bash
# Same results before and after a change: runs finetune (a 2-rate search), distill (both stages),
# distill (prediction stage with a hard-label term) and prune on a tiny random teacher and self-made
# SST-2-style data, and NER (CoNLL-2003) and extractive QA (SQuAD) teachers and students on the first
# rows of the real data (../shared/data; skipped without it), with the code of REV and with the
# working tree, and compares the train logs and weights, and the metrics.
#
#   bash bench/same_results.sh REV [OUT]          e.g. REV=3dd878d (before the issue-11 layout)
set -euo pipefail
REV=${1:?usage: bench/same_results.sh REV [OUT]}
OUT=${2:-bench/results/same-results}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
OLD=$OUT/src-$REV
[ -d "$OLD" ] || git -C "$ROOT" worktree add -q --detach "$OLD" "$REV"
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1
DATA=${TINYBERT_DATA_DIR:-$ROOT/../shared/data}
python - "$OUT" <<'PY'
import sys
from pathlib import Path
sys.path.insert(0, str(Path.cwd() / "tests"))
from builders import make_model, write_sst2
out = Path(sys.argv[1])
if not (out / "teacher").is_dir():
    make_model(out / "teacher", layers=4)
    write_sst2(out / "SST-2", n_train=128, n_dev=32)
PY
T="--task sst2 --data-dir $OUT/SST-2 --layers 2 --batch-size 16 --overwrite"
for side in old:$OLD/src new:$ROOT/src; do
  name=${side%%:*}; src=${side#*:}
  (cd /tmp && PYTHONPATH=$src python -m tinybert.cli finetune --model "$OUT/teacher" $T --epochs 2 \
      --learning-rate 1e-3,2e-3 --output "$OUT/$name-finetune" > "$OUT/$name-finetune.log" 2>&1)
  (cd /tmp && PYTHONPATH=$src python -m tinybert.cli distill --teacher "$OUT/teacher" $T --init teacher \
      --intermediate-epochs 2 --prediction-epochs 2 --intermediate-lr 1e-3 --prediction-lr 1e-3 \
      --output "$OUT/$name-distill" > "$OUT/$name-distill.log" 2>&1)
  (cd /tmp && PYTHONPATH=$src python -m tinybert.cli distill --teacher "$OUT/teacher" $T --stage prediction \
      --epochs 2 --learning-rate 1e-3 --loss-weights prediction=1,hard_label=0.5 \
      --output "$OUT/$name-hard-label" > "$OUT/$name-hard-label.log" 2>&1)
  (cd /tmp && PYTHONPATH=$src python -m tinybert.cli prune --model "$OUT/$name-finetune" --task sst2 \
      --data-dir "$OUT/SST-2" --layers 1 --hidden 16 --heads 2 --intermediate 32 \
      --output "$OUT/$name-prune" --overwrite > "$OUT/$name-prune.log" 2>&1)
  if [ -d "$DATA/conll2003" ]; then
    NER="--task conll2003 --data-dir $DATA/conll2003 --max-train-samples 96 --max-eval-samples 48 --batch-size 16 --overwrite"
    (cd /tmp && PYTHONPATH=$src python -m tinybert.cli finetune --model "$OUT/teacher" $NER --epochs 1 \
        --learning-rate 1e-3 --output "$OUT/$name-ner-teacher" > "$OUT/$name-ner-teacher.log" 2>&1)
    (cd /tmp && PYTHONPATH=$src python -m tinybert.cli distill --teacher "$OUT/$name-ner-teacher" $NER --layers 2 \
        --init teacher --epochs 1 --learning-rate 1e-3 --output "$OUT/$name-ner" > "$OUT/$name-ner.log" 2>&1)
  fi
  if [ -f "$DATA/squad-v1.1/dev-v1.1.json" ]; then
    [ -f "$OUT/squad/train.json" ] || python "$ROOT/bench/squad_split.py" "$DATA/squad-v1.1/dev-v1.1.json" "$OUT/squad" 38 > /dev/null
    QA="--task-type span --train $OUT/squad/train.json --dev $OUT/squad/dev.json --max-train-samples 48 \
      --max-eval-samples 24 --max-seq-length 64 --doc-stride 16 --max-query-length 16 --batch-size 16 --overwrite"
    (cd /tmp && PYTHONPATH=$src python -m tinybert.cli finetune --model "$OUT/teacher" $QA --epochs 1 \
        --learning-rate 1e-3 --output "$OUT/$name-qa-teacher" > "$OUT/$name-qa-teacher.log" 2>&1)
    (cd /tmp && PYTHONPATH=$src python -m tinybert.cli distill --teacher "$OUT/$name-qa-teacher" $QA --layers 2 \
        --init teacher --epochs 1 --learning-rate 1e-3 --output "$OUT/$name-qa" > "$OUT/$name-qa.log" 2>&1)
  fi
done
python - "$OUT" <<'PY'
import json, sys
from pathlib import Path
from safetensors.torch import load_file
out = Path(sys.argv[1])
runs = [("finetune", "lr-0.002/train_log.jsonl"), ("distill", "train_log.jsonl"), ("hard-label", "train_log.jsonl"),
        ("prune", None), ("ner-teacher", "train_log.jsonl"), ("ner", "train_log.jsonl"),
        ("qa-teacher", "train_log.jsonl"), ("qa", "train_log.jsonl")]
for run, log in runs:
    if not (out / f"old-{run}").is_dir():
        print(f"{run}: not run (no data)")
        continue
    weights = [load_file(out / f"{side}-{run}" / "model.safetensors") for side in ("old", "new")]
    same = all((weights[0][k] == weights[1][k]).all() for k in weights[0]) and weights[0].keys() == weights[1].keys()
    line = f"{run}: weights bit-identical: {bool(same)}"
    if log is not None:
        rows = [[json.loads(l) for l in (out / f"{side}-{run}" / log).read_text().splitlines()] for side in ("old", "new")]
        line += f"; {len(rows[0])} log rows identical: {rows[0] == rows[1]}"
    summary = "pruning.json" if run == "prune" else "metrics.json"
    metrics = [json.loads((out / f"{side}-{run}" / summary).read_text()) for side in ("old", "new")]
    for m in metrics:  # what differs between any two runs: timings, paths, versions
        for key in ("environment", "versions", "runs", "stages", "seconds", "teacher", "model", "source", "path"):
            m.pop(key, None)
        if isinstance(m.get("student"), dict):
            m["student"] = {k: v for k, v in m["student"].items() if k not in ("size_bytes",)}
    line += f"; metrics identical: {metrics[0] == metrics[1]}"
    print(line)
PY
