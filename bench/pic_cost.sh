#!/bin/sh
# What -fPIC costs label-noise SGD (docs/performance.md, section 12). When the Python module is built,
# zeroloss_core and zeroloss_lib are compiled with -fPIC; without it they get the compiler's default
# (Debian: -fPIE). This builds sgd_bench both ways and runs BM_SgdStep alternately, 3 times each
# (3 repetitions per run, medians of cpu_time), printing the load average before each run.
#
#   bench/pic_cost.sh [PIC_BUILD_DIR [NON_PIC_BUILD_DIR]]     (defaults: build, build-nopic)
set -eu
pic=${1:-build}
nopic=${2:-build-nopic}
jobs=${JOBS:-2}
cmake -S . -B "$pic" -DCMAKE_BUILD_TYPE=Release -DZEROLOSS_BUILD_PYTHON=ON >/dev/null
cmake -S . -B "$nopic" -DCMAKE_BUILD_TYPE=Release -DZEROLOSS_BUILD_PYTHON=OFF -DZEROLOSS_BUILD_TESTS=OFF >/dev/null
grep -q -- -fPIC "$pic/CMakeFiles/zeroloss_core.dir/flags.make" || { echo "$pic: zeroloss_core is not built with -fPIC"; exit 1; }
cmake --build "$pic" -j"$jobs" --target sgd_bench
cmake --build "$nopic" -j"$jobs" --target sgd_bench
filter='BM_SgdStep/m:(10/p:3|100/p:10|1000/p:100|10000/p:100)$'
out=$(mktemp)
for i in 1 2 3; do
  for b in "$pic" "$nopic"; do
    echo "== $b run $i load $(cut -d' ' -f1 /proc/loadavg)" >>"$out"
    "$b/bin/sgd_bench" --benchmark_filter="$filter" --benchmark_min_time=0.3 --benchmark_repetitions=3 \
      --benchmark_report_aggregates_only=true --benchmark_format=csv 2>/dev/null >>"$out"
  done
done
python3 - "$out" "$pic" <<'EOF'
import collections, csv, io, sys
path, pic = sys.argv[1], sys.argv[2]
cur, data, loads = None, collections.defaultdict(list), []
for line in open(path):
    if line.startswith("=="):
        cur = "pic" if line.split()[1] == pic else "nopic"
        loads.append(line.split("load ")[1].strip())
    elif line.startswith('"BM') and "_median" in line:
        f = next(csv.reader(io.StringIO(line)))
        data[(f[0].replace("_median", ""), cur)].append(float(f[3]))  # cpu_time, ns per step
print("load average (1 min) before each run:", " ".join(loads))
med = lambda xs: sorted(xs)[len(xs) // 2]
for name in dict.fromkeys(n for n, _ in data):
    p, q = data[(name, "pic")], data[(name, "nopic")]
    print(f"{name:28s} ns/step PIC {' '.join(f'{x:.4g}' for x in p)} | non-PIC {' '.join(f'{x:.4g}' for x in q)}"
          f" | PIC/non-PIC {med(p) / med(q):.3f}")
EOF
rm -f "$out"
