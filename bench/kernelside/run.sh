#!/bin/bash
# Kernel-side cost without the agent's user space: harness loads the driver objects the way
# src/kernel/loader.ts does (shared events/drops/scratch maps), attaches the listed programs
# and drains the ring with libbpf every 1 ms; cpu runs the workload and prints its wall and
# CPU time (BPF time is charged to the workload). Build (root):
#   gcc -O2 -o harness harness.c -lbpf; cc -O2 -include fcntl.h -o cpu cpu.c; cc -O2 -o getppid getppid.c
# run.sh OBJDIR LIST(,prog,prog,...,  or "none") CMD...   e.g.
#   ./run.sh ../../driver/linux/.output "$(cat default.list)" ./cpu ./getppid 2000000
# stats.sh OBJDIR LIST CMD...: per-program run count and average ns (kernel.bpf_stats_enabled).
OBJ=$1; LIST=$2; shift 2
if [ "$LIST" = none ]; then "$@"; exit; fi
D=$(dirname "$0")
"$D/harness" "$OBJ" "$LIST" > /tmp/kernelside-h.out 2>/tmp/kernelside-h.err & H=$!
for i in $(seq 200); do grep -q READY /tmp/kernelside-h.out 2>/dev/null && break; sleep 0.02; done
"$@"
kill -TERM $H; wait $H
grep -h "records" /tmp/kernelside-h.err >&2
