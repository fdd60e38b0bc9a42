#!/usr/bin/env bash
# The pruned-init 4L-312 rows of BENCHMARKS.md ("Structured pruning"): the 4L-312 student cut from
# the fine-tuned MiniLM teacher (--init prune), distilled with exactly the budget of the random-init
# 4L-312 rows (bench/glue_students.sh: EB epochs, 3 of them prediction stage, 1e-4), and trained
# on the labels alone from the same cut (finetune, EB epochs).
#
#   bash bench/prune_students.sh TASK [OUT] [EXTRA-NAME EXTRA-ARGS...]    TASK: sst2 | mrpc | cola
#
# OUT/TASK/teacher must hold the fine-tuned teacher (bench/glue_students.sh's first step). A step
# whose metrics.json exists is skipped, so an interrupted run continues where it stopped. With
# EXTRA-NAME, only the distilled run is made, as OUT/TASK/4l312-prune-EXTRA-NAME, with EXTRA-ARGS
# added (e.g. `layers2356 --layer-map 2,3,5,6`). STEPS="distill" or STEPS="labels" runs only that
# run (two runs side by side).
set -euo pipefail
TASK=${1:?usage: bench/prune_students.sh sst2|mrpc|cola [OUT] [NAME ARGS...]}
OUT=${2:-bench/results}/$TASK
shift $(( $# >= 2 ? 2 : 1 ))
DATA=${TINYBERT_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}/glue
case $TASK in
  sst2) DIR=SST-2; SUBSET="--max-train-samples 8000"; EB=5 ;;
  mrpc) DIR=MRPC;  SUBSET="";                         EB=6 ;;
  cola) DIR=CoLA;  SUBSET="";                         EB=5 ;;
  *) echo "unknown task $TASK" >&2; exit 2 ;;
esac
DATA_ARGS="--task $TASK --data-dir $DATA/$DIR $SUBSET"
EP=3
EI=$((EB - EP))
run() {  # run OUT_DIR COMMAND...: skip when OUT_DIR/metrics.json exists
  local dir=$1; shift
  if [ -f "$dir/metrics.json" ]; then echo "skip $dir (done)"; return; fi
  echo "+ $*"
  # continue an interrupted run; start afresh when it left no checkpoint to continue from
  if [ -d "$dir/checkpoints" ]; then "$@" --output "$dir" --resume || "$@" --output "$dir" --overwrite
  else "$@" --output "$dir" --overwrite; fi
}
S="--student tinybert-4l-312 --init prune"
if [ $# -gt 0 ]; then
  NAME=$1; shift
  run "$OUT/4l312-prune-$NAME" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $S "$@" \
    --intermediate-epochs $EI --intermediate-lr 1e-4 --prediction-epochs $EP --prediction-lr 1e-4
  exit 0
fi
STEPS=${STEPS:-distill labels}
[[ " $STEPS " == *" distill "* ]] && run "$OUT/4l312-prune-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $S \
  --intermediate-epochs $EI --intermediate-lr 1e-4 --prediction-epochs $EP --prediction-lr 1e-4
[[ " $STEPS " == *" labels "* ]] && run "$OUT/4l312-prune-labels" tinybert finetune --model "$OUT/teacher" $DATA_ARGS $S --epochs $EB
true
