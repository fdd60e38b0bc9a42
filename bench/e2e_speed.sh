#!/bin/bash
# End-to-end intermediate stage on SST-2, tinybert against TextBrewer's usual recipe, interleaved
# (tinybert, TextBrewer, tinybert, TextBrewer), one thread each. BENCHMARKS.md, "Training speed".
#   TEACHER=<fine-tuned SST-2 teacher folder> DATA=<GLUE SST-2 folder> \
#   TEXTBREWER_SITE=<textbrewer venv site-packages> OUT=<scratch folder> bash bench/e2e_speed.sh
# tinybert: the whole epoch (250 steps), its stage "seconds" in OUT/tiny-rN/metrics.json (includes the
# end-of-epoch dev loss and checkpoint); TextBrewer: the first 40 steps after 2, extrapolated to the
# epoch (fixed length 128: every step costs the same), OUT/tb-rN.json.
set -eu
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
: "${TEACHER:?}" "${DATA:?}" "${TEXTBREWER_SITE:?}" "${OUT:?}"
mkdir -p "$OUT"
for r in 1 2; do
  date; cat /proc/loadavg
  tinybert distill --teacher "$TEACHER" --task sst2 --data-dir "$DATA" --max-train-samples 8000 --max-seq-length 128 \
    --stage intermediate --intermediate-epochs 1 --student tinybert-4l-312 --output "$OUT/tiny-r$r" --overwrite > "$OUT/tiny-r$r.log" 2>&1
  python -c "import json,sys; print('tinybert r$r epoch seconds', json.load(open(sys.argv[1]))['stages']['intermediate']['seconds'])" "$OUT/tiny-r$r/metrics.json"
  date; cat /proc/loadavg
  python bench/e2e_textbrewer.py --teacher "$TEACHER" --data-dir "$DATA" --max-train-samples 8000 --max-steps 40 --warmup 2 \
    --textbrewer-site "$TEXTBREWER_SITE" --json "$OUT/tb-r$r.json" > "$OUT/tb-r$r.log" 2>&1
  python -c "import json,sys; print('textbrewer r$r epoch seconds (extrapolated)', json.load(open(sys.argv[1]))['epoch_loop_seconds_extrapolated'])" "$OUT/tb-r$r.json"
done
