#!/usr/bin/env bash
# The paper's setting (issue 24): a base-size teacher (all-mpnet-base-v2, 109M) fine-tuned with
# `tinybert finetune` defaults, and its 4L-312 student (7.6x fewer parameters) with `tinybert
# distill` defaults (--init auto: cut from the teacher; 10 intermediate + 3 prediction epochs).
#
#   bash bench/base_students.sh TASK [OUT]        TASK: sst2 | mrpc | cola | conll2003 | squad
#
# squad: SQuAD v1.1 dev split by article as in BENCHMARKS.md's SQuAD section (bench/squad_split.py:
# the first 38 articles train, the last 10 evaluate), its first 2,000 training questions and first
# 500 evaluation questions, windows of 192 tokens overlapping by 64, questions cut to 48 tokens.
#
# Runs, each skipped when its metrics.json exists (an interrupted run continues where it stopped;
# a run stopped mid-way restarts from its last checkpoint with --resume, or from the start when it
# stopped before its first checkpoint):
#   teacher         tinybert finetune (defaults) from all-mpnet-base-v2
#   4l312-labels    the same cut as the distilled student, trained on the labels only, the same
#                   13 epochs as distillation's two stages together
#   4l312-distill   tinybert distill with defaults (the default student is tinybert-4l-312)
#   6l768-distill   the 6L-768 preset, distilled with defaults (ONLY=6l768-distill to make it)
#   4l312-distill-int20  a remedy (ONLY=4l312-distill-int20): the defaults with a twice as long
#                   intermediate stage (20 epochs)
#   4l312-distill-pred13  a remedy (ONLY=4l312-distill-pred13): the defaults' intermediate stage,
#                   then a prediction stage as long and as fast as the labels-only run (13 epochs at
#                   1e-4, against 3 at 3e-5)
#   4l312-predonly13  a remedy (ONLY=4l312-predonly13): no intermediate stage, the prediction stage
#                   alone on the cut (soft targets from the teacher), 13 epochs at 1e-4
#   4l312-of-6l768-distill  a remedy, cut and distil twice (ONLY=4l312-of-6l768-distill, after
#                   6l768-distill): `tinybert prune` cuts the 4L-312 shape from the distilled 6L-768
#                   student, which is then distilled from the teacher with the defaults
#   4l312-distill-aug  a remedy (ONLY=4l312-distill-aug): the training rows augmented by `tinybert
#                   augment` with the teacher's own input embeddings (n=4, p=0.4, K=15: 5x the
#                   rows), then distilled with defaults but 3 + 3 epochs (about as many steps as
#                   the defaults' 10 + 3 on the original rows, and more in the prediction stage)
#                   and a teacher-state store big enough for the 5x rows (--teacher-cache-gb 16)
# then the int8 ONNX exports of the teacher and of the 4L-312 student, and their latency at
# batch 1 and 32 (`tinybert benchmark`).
#
# ONLY: shell patterns of the runs to make (default: teacher 4l312-labels 4l312-distill int8 bench).
# MODEL: the teacher's pre-trained folder (default: bash ../shared/models/all-mpnet-base-v2.sh).
set -euo pipefail
TASK=${1:?usage: bench/base_students.sh sst2|mrpc|cola|conll2003|squad [OUT]}
OUT=${2:-bench/results/base}/$TASK
DATA=${TINYBERT_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}
MODEL=${MODEL:-$(bash "$(dirname "$0")/../../shared/models/all-mpnet-base-v2.sh" | tail -1)}
ONLY=${ONLY:-teacher 4l312-labels 4l312-distill int8 bench}

EXPORT_ARGS="" BENCH_ARGS=""  # squad: parity on dev questions, latency at its window length
LIMIT=""  # the training rows used (all, but for SST-2 and CoNLL); the augmented file is used whole
case $TASK in
  sst2) DATA_ARGS="--task sst2 --data-dir $DATA/glue/SST-2" LIMIT="--max-train-samples 8000" ;;
  mrpc) DATA_ARGS="--task mrpc --data-dir $DATA/glue/MRPC" ;;
  cola) DATA_ARGS="--task cola --data-dir $DATA/glue/CoLA" ;;
  conll2003) DATA_ARGS="--task conll2003 --data-dir $DATA/conll2003" LIMIT="--max-train-samples 4000" ;;
  squad)
    [ -f "$OUT/data/dev.json" ] || python "$(dirname "$0")/squad_split.py" "$DATA/squad-v1.1/dev-v1.1.json" "$OUT/data" 38
    DATA_ARGS="--task-type span --train $OUT/data/train.json --dev $OUT/data/dev.json --max-eval-samples 500
      --max-seq-length 192 --doc-stride 64 --max-query-length 48" LIMIT="--max-train-samples 2000"
    EXPORT_ARGS="--sample-file $OUT/data/dev-sample.jsonl --max-seq-length 192" BENCH_ARGS="--seq-len 192" ;;
  *) echo "unknown task $TASK" >&2; exit 2 ;;
esac

wanted() {  # wanted NAME: NAME matches one of the ONLY patterns
  local pattern
  set -f
  for pattern in $ONLY; do
    # shellcheck disable=SC2254
    case $1 in $pattern) set +f; return 0 ;; esac
  done
  set +f
  return 1
}

show() {  # show COMMAND...: print the command as it runs (not a hand-kept copy of it), then run it
  echo "+ $*"
  "$@"
}

run() {  # run OUT_DIR COMMAND...: skip when OUT_DIR/metrics.json exists; resume a stopped run
  local dir=$1; shift
  if [ -f "$dir/metrics.json" ]; then echo "skip $dir (done)"; return; fi
  if ! wanted "$(basename "$dir")"; then echo "skip $dir (ONLY=$ONLY)"; return; fi
  local again="--overwrite"
  # resume only what left a checkpoint (a run stopped before its first one starts again)
  [ -n "$(find "$dir" -type d -name checkpoints -not -empty 2>/dev/null | head -1)" ] && again="--resume"
  show "$@" --output "$dir" $again
}

run "$OUT/teacher" tinybert finetune --model "$MODEL" $DATA_ARGS $LIMIT
run "$OUT/4l312-labels" tinybert finetune --model "$OUT/teacher" $DATA_ARGS $LIMIT --student tinybert-4l-312 --init auto --epochs 13
run "$OUT/4l312-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $LIMIT
if wanted 4l312-distill-aug && [ ! -f "$OUT/4l312-distill-aug/metrics.json" ] && [ ! -f "$OUT/train-aug-n4.tsv" ]; then
  # shellcheck disable=SC2086
  show tinybert augment --model "$OUT/teacher" $DATA_ARGS $LIMIT --n 4 --p 0.4 --k 15 --seed 42 --output "$OUT/train-aug-n4.tsv"
fi
run "$OUT/4l312-distill-aug" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS --train "$OUT/train-aug-n4.tsv" \
  --intermediate-epochs 3 --prediction-epochs 3 --teacher-cache-gb 16
run "$OUT/6l768-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $LIMIT --student tinybert-6l-768
run "$OUT/4l312-distill-pred13" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $LIMIT --prediction-epochs 13 --prediction-lr 1e-4
run "$OUT/4l312-predonly13" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $LIMIT --stage prediction --prediction-epochs 13 --prediction-lr 1e-4
run "$OUT/4l312-distill-int20" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $LIMIT --intermediate-epochs 20
if wanted 4l312-of-6l768-distill && [ ! -f "$OUT/4l312-of-6l768-distill/metrics.json" ] && [ ! -f "$OUT/4l312-of-6l768/config.json" ]; then
  # shellcheck disable=SC2086
  show tinybert prune --model "$OUT/6l768-distill" $DATA_ARGS $LIMIT --student tinybert-4l-312 --output "$OUT/4l312-of-6l768" --overwrite
fi
run "$OUT/4l312-of-6l768-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $LIMIT --student "$OUT/4l312-of-6l768"

if wanted int8; then
  for m in teacher 4l312-distill; do
    [ -f "$OUT/$m-int8/export.json" ] && continue
    # shellcheck disable=SC2086
    show tinybert export --model "$OUT/$m" --format onnx --quantize int8 $EXPORT_ARGS --output "$OUT/$m-int8" --overwrite
  done
fi
if wanted bench && [ ! -f "$OUT/speed/benchmark.json" ]; then
  # shellcheck disable=SC2086
  show tinybert benchmark --model "$OUT/teacher-int8" --model "$OUT/4l312-distill-int8" \
    --batch-size 1,32 --threads 1 $BENCH_ARGS --output "$OUT/speed" --overwrite
fi
