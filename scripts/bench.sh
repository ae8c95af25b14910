#!/usr/bin/env bash
# Times `isolint check` and its floor (discovery + parsing only) on generated projects and on
# any directories given as arguments, and prints one table: programs, MB of SQL, seconds and
# peak RSS for each run. See BENCHMARKS.md.
#
#   scripts/bench.sh                 # generated projects of $SIZES programs (default below)
#   scripts/bench.sh DIR...          # the same, then each DIR as it is
#   SIZES="1000 20000" scripts/bench.sh
#   ENGINE=mysql scripts/bench.sh DIR  # the engine for the DIRs given (generated ones: postgres)
#
# 20,000 programs is not a default size: `check` grows faster than linearly with the number
# of findings (BENCHMARKS.md has the measured curve).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES="${SIZES:-1000 2000 5000}"
ENGINE="${ENGINE:-postgres}"
SEED="${SEED:-1}"
OUT=target/bench

if [[ ! -x /usr/bin/time ]]; then
    echo "bench.sh: /usr/bin/time is missing (Debian: apt-get install time)" >&2
    exit 2
fi

cargo build --release --quiet --bin isolint --example gen --example floor
mkdir -p "$OUT"

# Runs a command under /usr/bin/time -v and prints "SECONDS PEAK_RSS_MB". isolint exits 1
# when it reports an error-severity finding, which generated projects always have; only a
# status above 1 is a failure.
measure() {
    local log="$OUT/time.log" status=0
    /usr/bin/time -v -o "$log" "$@" >/dev/null || status=$?
    if ((status > 1)); then
        echo "bench.sh: '$*' exited with status $status" >&2
        exit 1
    fi
    awk -F': ' '
        /Elapsed \(wall clock\) time/ {
            count = split($2, part, ":")
            seconds = 0
            for (i = 1; i <= count; i++) seconds = seconds * 60 + part[i]
        }
        /Maximum resident set size/ { rss_mb = $2 / 1024 }
        END { printf "%.2f %.0f\n", seconds, rss_mb }
    ' "$log"
}

sql_megabytes() {
    find "$1" -name '*.sql' -type f -printf '%s\n' | awk '{ total += $1 } END { printf "%.2f", total / 1e6 }'
}

rows=()
run_one() {
    local label=$1 programs=$2 dir=$3 engine=$4
    local megabytes check floor
    megabytes=$(sql_megabytes "$dir")
    echo "bench.sh: $label: check ..." >&2
    check=$(measure target/release/isolint check "$dir" --engine "$engine" --format json --output /dev/null)
    echo "bench.sh: $label: floor ..." >&2
    floor=$(measure target/release/examples/floor "$dir" --engine "$engine")
    rows+=("$label $programs $megabytes ${check% *} ${check#* } ${floor% *} ${floor#* }")
}

for size in $SIZES; do
    tables=$((size / 10 > 20 ? size / 10 : 20))
    dir="$OUT/p$size"
    rm -rf "$dir"
    target/release/examples/gen --tables "$tables" --programs "$size" --seed "$SEED" --out "$dir" 2>/dev/null
    run_one "$dir" "$size" "$dir" postgres
done
for dir in "$@"; do
    run_one "$dir" "-" "$dir" "$ENGINE"
done

echo
echo "isolint has no floor mode: 'floor' is examples/floor.rs, which discovers and parses every"
echo "file in parallel exactly as check_sources starts, then stops ('cargo bench' measures the"
echo "same stage in-process as the 'floor' group)."
echo
printf '%-24s %9s %8s %10s %10s %10s %10s\n' project programs "SQL MB" "check s" "check MB" "floor s" "floor MB"
for row in "${rows[@]}"; do
    # shellcheck disable=SC2086 # the row is split into its fields on purpose
    printf '%-24s %9s %8s %10s %10s %10s %10s\n' $row
done
