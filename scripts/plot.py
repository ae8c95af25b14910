#!/usr/bin/env python3
"""Draws the scaling curve of `isolint check` and its floor from scripts/bench.sh's CSV.

    plot.py RESULTS_CSV OUT_PNG

Left: wall-clock seconds against the number of programs; right: peak resident memory.
Only generated projects without migration history are drawn: the curve is growth in the
number of programs (a directory given to bench.sh has no program count, and the project with
a history is mostly migrations).
Needs matplotlib; scripts/bench.sh installs it into target/bench/venv.
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402


def main(results_csv, out_png):
    with open(results_csv, newline="") as f:
        rows = [row for row in csv.DictReader(f)
                if row["programs"] and float(row["history_mb"]) == 0]
    if not rows:
        sys.exit(f"plot.py: {results_csv} has no generated project to draw")
    rows.sort(key=lambda row: int(row["programs"]))
    programs = [int(row["programs"]) for row in rows]

    def column(name):
        return [float(row[name]) for row in rows]

    figure, (time, memory) = plt.subplots(1, 2, figsize=(11, 4.5))
    panels = [
        (time, "seconds (wall clock)", "check_s", "floor_s"),
        (memory, "peak resident memory (MB)", "check_peak_mb", "floor_peak_mb"),
    ]
    for axes, label, check, floor in panels:
        axes.plot(programs, column(check), "o-", label="isolint check")
        axes.plot(programs, column(floor), "s--", label="floor (discover + parse)")
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xticks(programs, [f"{count:,}" for count in programs])
        axes.minorticks_off()
        axes.set_xlabel("programs (generated project)")
        axes.set_ylabel(label)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
    # Linear growth from the smallest check, to read the slope of the curves against.
    first = column("check_s")[0]
    time.plot(programs, [first * count / programs[0] for count in programs], ":", color="grey",
              label="linear in programs")
    time.legend()
    time.set_title("Time")
    memory.set_title("Peak memory")
    figure.suptitle("isolint check against its floor (scripts/bench.sh)")
    figure.tight_layout()
    figure.savefig(out_png, dpi=120)
    print(out_png)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: plot.py RESULTS_CSV OUT_PNG")
    main(sys.argv[1], sys.argv[2])
