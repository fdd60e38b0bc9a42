#!/usr/bin/env bash
# Same results before and after a change: runs finetune (a 2-rate search), distill (both stages) and
# distill (prediction stage with a hard-label term) on a tiny random teacher and self-made SST-2-style
# data with the code of REV and with the working tree, and compares the train logs and weights.
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
done
python - "$OUT" <<'PY'
import json, sys
from pathlib import Path
from safetensors.torch import load_file
out = Path(sys.argv[1])
for run, log in (("finetune", "lr-0.002/train_log.jsonl"), ("distill", "train_log.jsonl"), ("hard-label", "train_log.jsonl")):
    rows = [[json.loads(l) for l in (out / f"{side}-{run}" / log).read_text().splitlines()] for side in ("old", "new")]
    weights = [load_file(out / f"{side}-{run}" / "model.safetensors") for side in ("old", "new")]
    same = all((weights[0][k] == weights[1][k]).all() for k in weights[0]) and weights[0].keys() == weights[1].keys()
    print(f"{run}: {len(rows[0])} log rows identical: {rows[0] == rows[1]}; weights bit-identical: {bool(same)}")
PY
