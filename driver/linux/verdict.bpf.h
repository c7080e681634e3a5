/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-process verdicts: records of an event the active config surely drops for this process
 * (its Image, User, ProcessGuid... are known to user space since its exec record) are not
 * sent. User space writes pv_verdicts[tgid] (src/config/kernel-filter/process-verdicts.ts);
 * the kernel keeps pv_exec[tgid] = the boot_ns of the process's last exec record, so a verdict
 * computed for an earlier image of the pid (exec, pid reuse) is ignored, and compares the
 * verdict's config generation with the active table's, so a reload never drops by an old
 * verdict. Everything a verdict does not cover passes to user space as before.
 *
 * process.bpf.c is the first object the loader opens, so it defines these maps (and the
 * filter tables) for every object: src/kernel/loader.ts SHARED_MAPS.
 */
#ifndef SYSMON_TS_VERDICT_BPF_H
#define SYSMON_TS_VERDICT_BPF_H

#include "filter.bpf.h"

/* tgid -> boot_ns of its last exec record, deleted at exit. A plain (preallocated) hash: its
 * update at every exec costs less than an LRU's; when full, an exec gets no entry, i.e. its
 * process no verdict (bench/process-verdict-kernel.ts) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PV_MAX_PROCS);
	__type(key, __u32);
	__type(value, __u64);
} pv_exec SEC(".maps");

/* tgid -> verdict, written by user space; LRU: a verdict written after its process exited
 * (user space reads the ring tens of ms late) is never read again and is evicted first */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PV_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct pv_verdict);
} pv_verdicts SEC(".maps");

/*
 * A new image: the verdicts of the old one no longer apply (they name the old exec; they are
 * left to the LRU rather than deleted here, one map operation less per exec).
 * exec_ns: the exec record's boot_ns.
 */
static __always_inline void pv_on_exec(__u32 tgid, __u64 exec_ns)
{
	if (bpf_map_update_elem(&pv_exec, &tgid, &exec_ns, BPF_ANY))
		bpf_map_delete_elem(&pv_exec, &tgid);
}

/* The process is gone: its exec entry goes (its verdict names that exec; the LRU evicts it). */
static __always_inline void pv_on_exit(__u32 tgid)
{
	bpf_map_delete_elem(&pv_exec, &tgid);
}

/*
 * The verdict bits of event `ev` (PV_NET, PV_IMAGE) for process tgid under table t, 0 when no
 * current verdict exists. start_ns: the process's start time when the caller knows it from
 * elsewhere than `current` (a record finished in softirq), else 0.
 */
static __always_inline __u32 pv_bits(struct kf_table *t, __u32 tgid, __u64 start_ns, __u32 ev)
{
	struct pv_verdict *v = bpf_map_lookup_elem(&pv_verdicts, &tgid);
	if (!v)
		return 0;
	__u64 *exec_ns = bpf_map_lookup_elem(&pv_exec, &tgid);
	if (!exec_ns || *exec_ns != v->exec_ns || v->gen != t->head.gen)
		return 0;
	if (start_ns && v->start_ns != (v->exec_ns ? start_ns : start_ns / PV_NS_PER_TICK))
		return 0;
	return (v->bits >> (2 * ev)) & 3;
}

/* Marks a record with the generation that judged it (the config user space must apply). */
static __always_inline void kf_mark(struct record_header *h, struct kf_table *t)
{
	h->flags |= RECORD_FLAG_KF_JUDGED | ((t->head.gen & 1) ? RECORD_FLAG_KF_GEN_ODD : 0);
}

#endif
