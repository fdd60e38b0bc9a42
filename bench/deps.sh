#!/usr/bin/env bash
# Install tinybert as a newcomer would, in a scratch venv on a fresh clone of HEAD, and run the suite.
#
#   bash bench/deps.sh locked            # constraints.txt exactly (the README's command), no pip cache
#   bash bench/deps.sh latest [--write]  # the newest versions pyproject.toml allows; prints what changed
#                                        # against constraints.txt; --write rewrites constraints.txt
#                                        # when ruff and the suite pass
#   bash bench/deps.sh lowest            # every direct dependency at its declared floor (>=), the rest
#                                        # resolved by pip: checks that the floors are real
#
# Run `latest` before resolving an issue; when it is green, `latest --write` and commit the new
# constraints.txt. When it is red, the printed changes say which release to look at.
# Environment: TORCH (default torch==2.13.0, the local CPU wheel; a range that admits a newer torch
# downloads several GB of CUDA packages), SCRATCH (default a new folder under /tmp), PYTHON (python3),
# TINYBERT_DATA_DIR (default ../shared/data beside the repository, for the integration tests).
# Leaves the scratch folder for inspection; prints its path, the freeze and the suite's result.
set -euo pipefail
mode=${1:?usage: bash bench/deps.sh locked|latest|lowest [--write]}
write=${2:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
torch_spec=${TORCH:-torch==2.13.0}
scratch=${SCRATCH:-$(mktemp -d /tmp/tinybert-deps-$mode.XXXX)}
python=${PYTHON:-python3}

# the suite's integration tests read the shared data beside the repository (they skip without it)
if [[ -z ${TINYBERT_DATA_DIR:-} && -d $repo/../shared/data ]]; then export TINYBERT_DATA_DIR=$(cd "$repo/../shared/data" && pwd); fi
git clone -q "$repo" "$scratch/tinybert"
cd "$scratch/tinybert"
echo "scratch clone of $(git rev-parse --short HEAD) in $scratch/tinybert"
"$python" -m venv .venv
. .venv/bin/activate
pip_install=(pip install -q --no-cache-dir)
case $mode in
  locked) "${pip_install[@]}" -c constraints.txt "$torch_spec" -e ".[dev]" ;;
  latest) "${pip_install[@]}" --upgrade --upgrade-strategy eager "$torch_spec" -e ".[dev]" ;;
  lowest)
    # name==floor for each direct dependency (runtime and dev) declared with a lower bound
    python - > "$scratch/floors.txt" <<'EOF'
import re
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for spec in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
    match = re.match(r"^([A-Za-z0-9_.-]+).*?>=\s*([0-9][^,;\s]*)", spec)
    if match and match[1] != "torch":  # torch: $TORCH (only one CPU build lies on this machine)
        print(f"{match[1]}=={match[2]}")
EOF
    echo "floors:"; sed 's/^/  /' "$scratch/floors.txt"
    "${pip_install[@]}" -c "$scratch/floors.txt" "$torch_spec" -e ".[dev]" ;;
  *) echo "unknown mode $mode (locked, latest or lowest)" >&2; exit 2 ;;
esac
pip freeze --all --exclude-editable | grep -iv '^pip==' | sed 's/^torch==\([0-9.]*\)+cpu$/torch==\1/' > "$scratch/freeze.txt"
echo "changed against constraints.txt:"
python - "$repo/constraints.txt" "$scratch/freeze.txt" <<'EOF'
import sys

def pins(path):
    lines = (line.strip() for line in open(path))
    return dict(line.lower().split("==", 1) for line in lines if line and not line.startswith("#"))

old, new = pins(sys.argv[1]), pins(sys.argv[2])
changes = [f"  {name}: {old.get(name, '-')} -> {new.get(name, '-')}" for name in sorted(old | new) if old.get(name) != new.get(name)]
print("\n".join(changes) if changes else "  nothing")
EOF
status=0
start=$(date +%s)
ruff check . && pytest -q -p no:cacheprovider --durations=15 || status=$?
echo "suite: exit $status in $(( $(date +%s) - start )) s ($mode, $(python -c 'import transformers, torch; print("transformers", transformers.__version__, "torch", torch.__version__)'))"
if [[ $status -eq 0 && $mode == latest && $write == --write ]]; then
  { grep '^#' "$repo/constraints.txt"; cat "$scratch/freeze.txt"; } > "$repo/constraints.txt.tmp"
  mv "$repo/constraints.txt.tmp" "$repo/constraints.txt"
  echo "constraints.txt moved forward; commit it"
fi
exit $status
