#!/usr/bin/env bash
# `tinybert prune --target-latency` against `tinybert benchmark` (BENCHMARKS.md, "Latency budgets"):
# cut a model to each target (batch 1, SEQ tokens, one thread), then time the cuts and the model
# with `tinybert benchmark` (each in its own process) and print target, the prune-time measurement
# and the benchmark's p50 side by side.
#
#   bash bench/latency_budget.sh MODEL TASK DATA_DIR OUT [TARGET_MS...]     (default targets: 10 5)
#
# MODEL: a fine-tuned or distilled folder, e.g. the SST-2 student of configs/sst2-compress.yaml.
set -euo pipefail
MODEL=${1:?usage: bench/latency_budget.sh MODEL TASK DATA_DIR OUT [TARGET_MS...]}
TASK=$2; DATA=$3; OUT=$4; shift 4
TARGETS=${*:-10 5}
SEQ=${SEQ:-64}
export OMP_NUM_THREADS=1
MODELS=(--model "$MODEL")
for T in $TARGETS; do
  [ -f "$OUT/latency-$T/pruning.json" ] || tinybert prune --model "$MODEL" --task "$TASK" --data-dir "$DATA" \
    --target-latency "$T" --latency-seq-len "$SEQ" --output "$OUT/latency-$T" --overwrite
  MODELS+=(--model "$OUT/latency-$T")
done
tinybert benchmark "${MODELS[@]}" --batch-size 1 --seq-len "$SEQ" --threads 1 --output "$OUT/benchmark" --overwrite
python - "$OUT" $TARGETS <<'PY'
import json, sys
out, targets = sys.argv[1], sys.argv[2:]
bench = {r["model"]: r["batches"][0]["p50_ms"] for r in json.load(open(f"{out}/benchmark/benchmark.json"))["models"]}
print("| target ms | shape (layers / hidden / FFN) | measured by prune, ms | model by prune, ms | benchmark p50, ms | parameters | dev |")
print("|---:|---|---:|---:|---:|---:|---:|")
for t in targets:
    r = json.load(open(f"{out}/latency-{t}/pruning.json"))
    s, lat, after = r["budget"]["shape"], r["budget"]["latency"], r["after"]
    p50 = next(v for k, v in bench.items() if k.rstrip("/").endswith(f"latency-{t}"))
    dev = next(iter(after["eval"]["dev"].values()))
    print(f"| {t} | {s['layers']} / {s['hidden']} / {s['intermediate']} | {lat['measured_ms']:.2f} | {lat['model_ms']:.2f} | {p50:.2f} | {after['parameters'] / 1e6:.1f}M | {100 * dev:.1f} |")
PY
