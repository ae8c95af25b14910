#!/usr/bin/env bash
# Times `isolint check` and its floor (discovery + parsing only) on generated projects and on
# any directories given as arguments, and prints one table: programs, MB of migration
# history, MB of SQL, seconds and peak RSS for each run, and the ratio of check to floor time.
# The table is also written to target/bench/results.csv, from which scripts/plot.py draws the
# scaling curve of the generated projects as docs/bench-scaling.png (matplotlib, installed once into target/bench/venv; when
# that fails the table is still printed). See BENCHMARKS.md.
#
#   scripts/bench.sh                 # generated projects of $SIZES programs (default below)
#   scripts/bench.sh DIR...          # the same, then each DIR as it is
#   SIZES="1000 20000" scripts/bench.sh
#   HISTORY_MB=10 scripts/bench.sh   # the size of the history of the large project (0: skip it)
#   ENGINE=mysql scripts/bench.sh DIR  # the engine for the DIRs given (generated ones: postgres)
#   REAL_WORLD=1 scripts/bench.sh    # fetch the real-world migrations first (scripts/real-world.sh)
#
# Besides the programs-only projects, a large project of realistic shape is generated: 1,000
# programs over 1,000 tables after $HISTORY_MB MB of migration history (by default 49, so about
# 50 MB of SQL; `gen --history-mb`), named p1000+history<MB>MB. It is left out of the plot,
# which shows growth in the number of programs.
#
# The real-world projects of scripts/real-world.sh (target/bench/real-world/<engine>) are
# measured whenever they have been fetched, each with the engine its folder is named after.
#
# 20,000 programs is not a default size: `check` grows faster than linearly with the number
# of findings (BENCHMARKS.md has the measured curve).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES="${SIZES:-250 500 1000 2000 5000}"
HISTORY_MB="${HISTORY_MB:-49}"
ENGINE="${ENGINE:-postgres}"
SEED="${SEED:-1}"
REAL_WORLD="${REAL_WORLD:-0}"
OUT=target/bench

if [[ ! -x /usr/bin/time ]]; then
    echo "bench.sh: /usr/bin/time is missing (Debian: apt-get install time)" >&2
    exit 2
fi

cargo build --release --quiet --bin isolint --example gen --example floor
mkdir -p "$OUT"
if [[ "$REAL_WORLD" == 1 ]]; then
    scripts/real-world.sh
fi

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
    local label=$1 programs=$2 history_mb=$3 dir=$4 engine=$5
    local megabytes check floor
    megabytes=$(sql_megabytes "$dir")
    echo "bench.sh: $label: check ..." >&2
    check=$(measure target/release/isolint check "$dir" --engine "$engine" --format json --output /dev/null)
    echo "bench.sh: $label: floor ..." >&2
    floor=$(measure target/release/examples/floor "$dir" --engine "$engine")
    rows+=("$label $programs $history_mb $megabytes ${check% *} ${check#* } ${floor% *} ${floor#* } $(ratio "${check% *}" "${floor% *}")")
}

# Prints check seconds / floor seconds with two decimals, or "-" when the floor rounds to 0.
ratio() {
    awk -v check="$1" -v floor="$2" 'BEGIN { if (floor > 0) printf "%.2f", check / floor; else printf "-" }'
}

for size in $SIZES; do
    tables=$((size / 10 > 20 ? size / 10 : 20))
    dir="$OUT/p$size"
    rm -rf "$dir"
    target/release/examples/gen --tables "$tables" --programs "$size" --seed "$SEED" --out "$dir" 2>/dev/null
    run_one "$dir" "$size" 0 "$dir" postgres
done
if awk -v megabytes="$HISTORY_MB" 'BEGIN { exit !(megabytes > 0) }'; then
    dir="$OUT/p1000+history${HISTORY_MB}MB"
    rm -rf "$dir"
    echo "bench.sh: generating $dir ..." >&2
    target/release/examples/gen --tables 1000 --programs 1000 --history-mb "$HISTORY_MB" \
        --seed "$SEED" --out "$dir" 2>/dev/null
    run_one "$dir" 1000 "$HISTORY_MB" "$dir" postgres
fi
for dir in "$OUT"/real-world/*/; do
    [[ -d "$dir/migrations" ]] || continue
    dir=${dir%/}
    run_one "$dir" "-" "-" "$dir" "$(basename "$dir")"
done
for dir in "$@"; do
    run_one "$dir" "-" "-" "$dir" "$ENGINE"
done

echo
echo "isolint has no floor mode: 'floor' is examples/floor.rs, which discovers and parses every"
echo "file in parallel exactly as check_sources starts, then stops ('cargo bench' measures the"
echo "same stage in-process as the 'floor' group)."
echo
format='%-32s %9s %10s %8s %10s %10s %10s %10s %7s\n'
# shellcheck disable=SC2059 # the format is the one above
printf "$format" project programs "history MB" "SQL MB" "check s" "check MB" "floor s" "floor MB" ratio
csv="$OUT/results.csv"
echo "project,programs,history_mb,sql_mb,check_s,check_peak_mb,floor_s,floor_peak_mb,ratio" >"$csv"
for row in "${rows[@]}"; do
    # shellcheck disable=SC2086,SC2059 # the row is split into its fields on purpose
    printf "$format" $row
    # "-" (no program count or history, no ratio) is an empty CSV field.
    echo "$row" | awk '{ for (i = 1; i <= NF; i++) if ($i == "-") $i = ""; OFS = ","; $1 = $1; print }' >>"$csv"
done
echo
echo "bench.sh: wrote $csv"

# The plot needs matplotlib: a venv of its own under target/bench, made once.
plot() {
    local venv="$OUT/venv"
    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
        echo "bench.sh: installing matplotlib into $venv (once) ..." >&2
        python3 -m venv "$venv" >&2 && "$venv/bin/pip" install --quiet matplotlib >&2 || return 1
    fi
    mkdir -p docs
    "$venv/bin/python" scripts/plot.py "$csv" docs/bench-scaling.png
}
if ! plot; then
    echo "bench.sh: could not draw docs/bench-scaling.png (needs python3 with venv and pip, and matplotlib from PyPI); the table above is complete" >&2
fi
