"""The table of an alternated run of benches/ab/alternate.sh: per entry and backend, each
round's median path-steps/s (paths × steps / s) of both binaries, their ratio per round, and the spread of the old
binary's timed runs ((max - min) / median). The rate is computed from the median seconds, not
read from bench.json, whose `path_steps_per_second` counted paths × d × steps before issue 23. Usage: python3 benches/ab/table.py OUT"""
import glob
import json
import os
import statistics
import sys

out = sys.argv[1]
runs = {}
for f in sorted(glob.glob(os.path.join(out, "*", "*", "bench.json"))):
    binary, round_ = os.path.basename(os.path.dirname(f)).split("-")
    for entry in json.load(open(f))["entries"]:
        for m in entry["optsde"]:
            name = entry["entry"] + (f" ({m['paths']} paths)" if m["paths"] != 1 << 20 else "")
            backend = m["backend"]["kind"] + (" (sw)" if m["software"] else "")
            work = m["steps"] * m["paths"]
            runs.setdefault((name, backend), {}).setdefault(binary, []).append(
                (int(round_), work / m["seconds"], [work / s for s in m["run_seconds"]]))

print("| entry | backend | old, per round | new, per round | new / old, per round | spread of old's runs |")
print("|---|---|---|---|---|---|")
for (name, backend), by in runs.items():
    old, new = sorted(by.get("old", [])), sorted(by.get("new", []))
    ratios = [n[1] / o[1] for o, n in zip(old, new) if o[0] == n[0]]
    spread = [(max(r[2]) - min(r[2])) / statistics.median(r[2]) for r in old]
    print(f"| {name} | {backend} | {', '.join(f'{o[1]:.3g}' for o in old)} | "
          f"{', '.join(f'{n[1]:.3g}' for n in new)} | {', '.join(f'{r:.3f}' for r in ratios)} | "
          f"{', '.join(f'{100 * s:.0f}%' for s in spread)} |")
