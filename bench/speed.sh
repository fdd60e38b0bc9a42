#!/usr/bin/env bash
# Deployment speed and int8 accuracy: the "Deployment" rows of BENCHMARKS.md.
#
#   bash bench/speed.sh [THREADS]        # THREADS: CPU threads per model (default: all cores)
#
# 4a: a BERT-base-shaped teacher against a TinyBERT4-shaped student (random weights; speed does
#     not depend on them), fp32 PyTorch and every export, at length 128, batch 1/8/32.
# 4b: the fine-tuned MiniLM SST-2 teacher against its distilled student (from
#     bench/glue_students.sh sst2), speed and SST-2 dev accuracy of each export.
# Steps whose output exists are skipped; results land in bench/results/speed/.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-$(nproc)}
OUT=bench/results/speed
GLUE=${TINYBERT_DATA_DIR:-../shared/data}/glue
SST2=bench/results/sst2
mkdir -p $OUT

export_all() {  # export_all MODEL_DIR NAME [extra export options]
  local model=$1 name=$2; shift 2
  [ -e $OUT/$name-onnx ] || tinybert export --model $model --output $OUT/$name-onnx "$@"
  [ -e $OUT/$name-onnx-int8 ] || tinybert export --model $model --output $OUT/$name-onnx-int8 --quantize int8 "$@"
  [ -e $OUT/$name-torch-int8 ] || tinybert export --model $model --output $OUT/$name-torch-int8 --format torch --quantize int8 "$@"
}

# --- 4a: BERT-base shape against TinyBERT4 shape --------------------------------------------
python bench/speed_models.py $OUT
# random weights give near-zero logits, so int8 may flip near-ties: parity is reported, not gated
export_all $OUT/bert-base bert-base --min-agreement 0
export_all $OUT/tinybert4 tinybert4 --min-agreement 0
[ -e $OUT/4a-threads$THREADS ] || tinybert benchmark --threads $THREADS --output $OUT/4a-threads$THREADS \
  --model $OUT/bert-base --model $OUT/bert-base-onnx --model $OUT/bert-base-onnx-int8 \
  --model $OUT/tinybert4 --model $OUT/tinybert4-onnx --model $OUT/tinybert4-onnx-int8 --model $OUT/tinybert4-torch-int8 \
  --model $OUT/bert-base-torch-int8

# --- 4b: MiniLM SST-2 teacher against its distilled student ---------------------------------
if [ -d $SST2/teacher ] && [ -d $SST2/3l384-distill ] && [ -d $GLUE/SST-2 ]; then
  export_all $SST2/teacher sst2-teacher --task sst2 --data-dir $GLUE/SST-2
  export_all $SST2/3l384-distill sst2-student --task sst2 --data-dir $GLUE/SST-2
  for m in $SST2/teacher $SST2/3l384-distill $OUT/sst2-teacher-onnx $OUT/sst2-teacher-onnx-int8 \
           $OUT/sst2-teacher-torch-int8 $OUT/sst2-student-onnx $OUT/sst2-student-onnx-int8 $OUT/sst2-student-torch-int8; do
    name=$(basename $m); [ "$name" = teacher ] && name=sst2-teacher; [ "$name" = 3l384-distill ] && name=sst2-student
    [ -e $OUT/eval-$name.json ] || tinybert evaluate --model $m --task sst2 --data-dir $GLUE/SST-2 --output $OUT/eval-$name.json
  done
  [ -e $OUT/4b-threads$THREADS ] || tinybert benchmark --threads $THREADS --output $OUT/4b-threads$THREADS \
    --model $SST2/teacher --model $OUT/sst2-teacher-onnx-int8 \
    --model $SST2/3l384-distill --model $OUT/sst2-student-onnx --model $OUT/sst2-student-onnx-int8 --model $OUT/sst2-student-torch-int8
else
  echo "4b skipped: needs $SST2/teacher and $SST2/3l384-distill (bash bench/glue_students.sh sst2) and $GLUE/SST-2"
fi
python bench/speed_table.py $OUT $THREADS
