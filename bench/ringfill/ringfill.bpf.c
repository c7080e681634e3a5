// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Fills the ring with 64-byte records as fast as the kernel can (bpf_loop inside one
 * BPF_PROG_TEST_RUN), for measuring how fast a reader drains a full ring. The map names
 * match the driver's (events, drops) so src/kernel/loader.ts can load it too. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define RB_FLAGS BPF_RB_NO_WAKEUP
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 16 * 1024 * 1024); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } drops SEC(".maps");

struct rec { __u16 type; __u16 flags; __u32 size; __u64 boot_ns; __u32 tgid; __u32 tid; __u64 seq; __u8 pad[24]; };

__u64 written = 0;

static long one(__u64 i, void *ctx) {
	struct rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) return 1; /* ring full: stop */
	r->type = 60000; r->flags = 0; r->size = sizeof(*r); r->boot_ns = 0; r->tgid = 1; r->tid = 1; r->seq = i;
	bpf_ringbuf_submit(r, RB_FLAGS);
	written++;
	return 0;
}

SEC("syscall")
int fill(void *ctx) {
	bpf_loop(1 << 22, one, NULL, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
