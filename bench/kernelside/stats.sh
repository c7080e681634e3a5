#!/bin/bash
# stats.sh OBJDIR LIST CMD... : per-program run_cnt and avg ns during CMD
OBJ=$1; LIST=$2; shift 2
sysctl -qw kernel.bpf_stats_enabled=1
"$(dirname "$0")/harness" $OBJ "$LIST" > /tmp/kernelside-h.out 2>/tmp/kernelside-h.err & H=$!
for i in $(seq 200); do grep -q READY /tmp/kernelside-h.out 2>/dev/null && break; sleep 0.02; done
bpftool prog show -j > /tmp/kernelside-s0.json
"$@"
bpftool prog show -j > /tmp/kernelside-s1.json
kill -TERM $H; wait $H
sysctl -qw kernel.bpf_stats_enabled=0
python3 - <<'PY'
import json
a={p['id']:p for p in json.load(open('/tmp/kernelside-s0.json'))}
b=json.load(open('/tmp/kernelside-s1.json'))
rows=[]
for p in b:
    if 'run_cnt' not in p: continue
    o=a.get(p['id'],{})
    c=p['run_cnt']-o.get('run_cnt',0); t=p['run_time_ns']-o.get('run_time_ns',0)
    if c: rows.append((t,c,p.get('name')))
rows.sort(reverse=True)
tot=sum(r[0] for r in rows)
for t,c,n in rows[:14]: print(f"{n:32s} cnt {c:9d} avg {t/c:8.0f} ns total {t/1e6:8.1f} ms")
print(f"total {tot/1e6:.1f} ms")
PY
