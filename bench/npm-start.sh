#!/bin/bash
# Time from `npm start` to the agent's "monitoring" line, as a new user sees it (issue 17:
# <= 1 s): npm itself, the set-up check (driver/setup.sh), node, loading and attaching.
# Root. Usage: bash bench/npm-start.sh [CHECKOUT] [STARTS]
set -u
cd "${1:-$(dirname "$0")/..}"
for i in $(seq 1 "${2:-5}"); do
  d=$(mktemp -d /tmp/sysmon-npm-start-XXXX)
  t0=$(date +%s%N)
  npm start -- --jsonl "$d/ev.jsonl" --journal "$d/journal" --no-console >"$d/out.txt" 2>"$d/err.txt" &
  for _ in $(seq 1 1000); do grep -q monitoring "$d/err.txt" "$d/out.txt" 2>/dev/null && break; sleep 0.01; done
  t1=$(date +%s%N)
  echo "npm start -> monitoring: $(((t1 - t0) / 1000000)) ms"
  pkill -INT -f "cli.js run --jsonl $d/ev.jsonl"
  sleep 1.5
  rm -rf "$d"
done
