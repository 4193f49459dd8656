#!/bin/bash
# Time and peak memory of every geometry command at the sizes of issue 14 (docs/performance.md,
# section 15): n = 100 Gaussian data, cubic, a = 1, and either d = 1000 with m = 250, 500, 1000 or
# m = 1000 with d = 250, 500, 1000. For each size: `zeroloss data` (the start W0, off M),
# `project --method newton` (the point P on M the others read), then inspect on P (default threads,
# then --threads 1), optimum (closed form) and optimum --method trust-region from W0, project with
# the three other methods from W0, and convexity --quick on P (alone, then with the flow from W0
# to tau = 1 and its convexity onsets: --along-flow 1 --trajectory-start W0, Newton projection). Each command runs under /usr/bin/time; one CSV row per command:
#
#   command,n,d,m,exit,wall_s,user_s,sys_s,max_rss_mb,load1,note
#
# (exit 124: stopped by the timeout; `note` is the command's error message when it failed). Read
# user_s rather than wall_s when the machine is shared (load1 is the 1-minute load average when the
# command started).
#
#   bench/commands_at_size.sh [BUILD_DIR [OUT_CSV]]    (defaults: build, commands_at_size.csv)
#   TIMEOUT=600 SIZES="1000:250 1000:500 ..." (d:m pairs) to change the defaults
set -euo pipefail
build=${1:-build}
out=${2:-commands_at_size.csv}
zeroloss=$(cd "$build" && pwd)/bin/zeroloss
timeout_s=${TIMEOUT:-600}
sizes=${SIZES:-"1000:250 1000:500 1000:1000 250:1000 500:1000"}
[[ -x $zeroloss ]] || { echo "commands_at_size: $zeroloss not found (build first)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tmp_csv=$out.tmp.$$
echo "command,n,d,m,exit,wall_s,user_s,sys_s,max_rss_mb,load1,note" >"$tmp_csv"

# run NAME D M -- ARGS...: one timed command, one row.
run() {
  local name=$1 d=$2 m=$3
  shift 4
  local load status note
  load=$(cut -d' ' -f1 /proc/loadavg)
  set +e
  /usr/bin/time -f "%e,%U,%S,%M" -o "$work/time" timeout "$timeout_s" "$zeroloss" "$@" >"$work/stdout" 2>"$work/stderr"
  status=$?
  set -e
  note=""
  if [[ $status -ne 0 ]]; then
    note=$( (grep -m 1 'error' "$work/stderr" || grep -v '^Command exited' "$work/stderr" | tail -n 1) | tr ',"' ";'" | cut -c1-200)
  fi
  IFS=, read -r wall user sys rss_kb < <(tail -n 1 "$work/time")
  printf '%s,100,%s,%s,%s,%s,%s,%s,%.1f,%s,"%s"\n' "$name" "$d" "$m" "$status" "$wall" "$user" "$sys" \
    "$(echo "$rss_kb / 1024" | bc -l)" "$load" "$note" >>"$tmp_csv"
  tail -n 1 "$tmp_csv"
}

for size in $sizes; do
  d=${size%%:*}
  m=${size##*:}
  dir=$work/d${d}_m${m}
  mkdir -p "$dir"
  "$zeroloss" data --generator gaussian --n 100 --d "$d" --seed 1 --out "$dir/D.csv" --weights-out "$dir/W0.csv" \
    --m "$m" >/dev/null
  run project_newton "$d" "$m" -- project --data "$dir/D.csv" --weights "$dir/W0.csv" --method newton --out "$dir/P.csv"
  run inspect "$d" "$m" -- inspect --json --data "$dir/D.csv" --weights "$dir/P.csv"
  run inspect_1_thread "$d" "$m" -- inspect --json --threads 1 --data "$dir/D.csv" --weights "$dir/P.csv"
  run optimum "$d" "$m" -- optimum --json --data "$dir/D.csv" --weights "$dir/W0.csv" --out "$dir/opt.csv"
  run optimum_trust_region "$d" "$m" -- optimum --json --method trust-region --data "$dir/D.csv" \
    --weights "$dir/W0.csv" --out "$dir/opt_tr.csv"
  for method in nearest gradient-flow ceres; do
    run "project_$method" "$d" "$m" -- project --data "$dir/D.csv" --weights "$dir/W0.csv" --method "$method" \
      --out "$dir/P_$method.csv"
  done
  run convexity_quick "$d" "$m" -- convexity --quick --data "$dir/D.csv" --weights "$dir/P.csv" --out "$dir/conv"
  run convexity_quick_flow "$d" "$m" -- convexity --quick --data "$dir/D.csv" --weights "$dir/P.csv" \
    --along-flow 1 --trajectory-start "$dir/W0.csv" --trajectory-projection newton --out "$dir/conv_flow"
  rm -rf "$dir"
done
mv "$tmp_csv" "$out"
echo "wrote $out"
