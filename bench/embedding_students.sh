#!/usr/bin/env bash
# Sentence-embedding students (issue 26): a sentence-transformers teacher distilled into a smaller
# sentence-transformers student on Wikipedia text, with `tinybert distill --task-type embedding`
# defaults (--init auto: cut from the teacher) but for the passages and epochs given, then scored
# by bench/embedding_eval.py (MRPC pair classification, SQuAD-dev retrieval, encode speed).
#
#   bash bench/embedding_students.sh NAME TEACHER STUDENT [OUT]
#     NAME      the run's folder name, e.g. minilm-4l312
#     TEACHER   a sentence-transformers folder
#     STUDENT   a preset (tinybert-4l-312) or LxH, e.g. 3x384 (layers x hidden, the teacher's FFN ratio)
# Env: PASSAGES (default 20000, the first of the corpus), EPOCHS ("2 2": intermediate, prediction),
#      CORPUS (default ../shared/data/wikipedia-en-wikiextractor/AA), OMP_NUM_THREADS,
#      EXTRA (more distill options, e.g. "--learning-rate 1e-4").
# A stopped run continues from its last checkpoint (--resume); a finished one is skipped.
set -euo pipefail
NAME=${1:?usage: bench/embedding_students.sh NAME TEACHER STUDENT [OUT]}
TEACHER=${2:?teacher folder}
STUDENT=${3:?student preset or LxH}
OUT=${4:-bench/results/embedding}/$NAME
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/data/wikipedia-en-wikiextractor/AA}
PASSAGES=${PASSAGES:-20000}
read -r INTER PRED <<< "${EPOCHS:-2 2}"
case $STUDENT in
  *x*) SHAPE="--layers ${STUDENT%x*} --hidden ${STUDENT#*x}" ;;
  *) SHAPE="--student $STUDENT" ;;
esac
if [ ! -f "$OUT/metrics.json" ]; then
  again="--overwrite"; [ -d "$OUT" ] && again="--resume"
  echo "+ tinybert distill --teacher $TEACHER --task-type embedding --train $CORPUS $SHAPE ..."
  # shellcheck disable=SC2086
  tinybert distill --teacher "$TEACHER" --task-type embedding --train "$CORPUS" --max-train-samples "$PASSAGES" \
    $SHAPE --intermediate-epochs "$INTER" --prediction-epochs "$PRED" ${EXTRA:-} --output "$OUT" $again
fi
python "$ROOT/bench/embedding_eval.py" "$(dirname "$OUT")/students.json" "$OUT"
