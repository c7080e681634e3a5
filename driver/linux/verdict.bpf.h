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

/* (uid, exe path) -> the verdict of that image and user (events.h pv_path_key), by user space */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PV_MAX_IMAGES);
	__type(key, struct pv_path_key);
	__type(value, struct pv_by_image);
} pv_image_verdicts SEC(".maps");

/* (0, loaded file's path) -> generation of the config no include filter on ImageLoaded of
 * which matches the path (ImageLoad's PV_DROP_UNLESS), by user space */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PV_MAX_QUIET_PATHS);
	__type(key, struct pv_path_key);
	__type(value, __u32);
} pv_quiet_paths SEC(".maps");

/* a key is 264 bytes: built in a per-CPU slot, not on the 512-byte stack */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pv_path_key);
} pv_key_slot SEC(".maps");

/* The key of the path at buf[off, off + len) (scratch string area), 0 when it does not fit. */
static __always_inline struct pv_path_key *pv_path_key(__u8 *buf, __u32 off, __u32 len, __u32 uid)
{
	__u32 zero = 0;
	if (len == 0 || len > PV_PATH_MAX)
		return 0;
	struct pv_path_key *k = bpf_map_lookup_elem(&pv_key_slot, &zero);
	if (!k)
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	k->uid = uid;
	k->len = len;
	/* len again, in a form whose bounds the verifier keeps ([1, PV_PATH_MAX]) */
	__u32 n = ((len - 1) & (PV_PATH_MAX - 1)) + 1;
	if (bpf_probe_read_kernel(k->path, n, buf + str_pos(off)))
		return 0;
	return k;
}

/*
 * The exec record r (in buf) is in the ring: when user space has a verdict for its image and
 * user under the active config, the process has it from now on (pv_verdicts, naming this exec;
 * its first mmap comes after this program returns).
 */
static __always_inline void pv_exec_by_image(struct exec_record *r, __u8 *buf)
{
	if (r->hdr.flags & RECORD_FLAG_EXE_TRUNCATED)
		return;
	__u32 ti;
	struct kf_table *t = kf_loaded_table(&ti);
	if (!t)
		return;
	struct pv_path_key *k = pv_path_key(buf, r->exe.off, r->exe.len, r->ids.uid);
	if (!k)
		return;
	struct pv_by_image *iv = bpf_map_lookup_elem(&pv_image_verdicts, k);
	if (!iv || iv->gen != t->head.gen || !iv->bits)
		return;
	struct pv_verdict v = {};
	v.exec_ns = r->hdr.boot_ns;
	v.start_ns = r->ids.start_boot_ns;
	v.gen = iv->gen;
	v.bits = iv->bits;
	__u32 tgid = r->hdr.tgid;
	bpf_map_update_elem(&pv_verdicts, &tgid, &v, BPF_ANY);
}

/* ImageLoad's PV_DROP_UNLESS: 1 when user space found the loaded path quiet under table t's config. */
static __always_inline int pv_quiet_path(struct kf_table *t, __u8 *buf, __u32 off, __u32 len)
{
	struct pv_path_key *k = pv_path_key(buf, off, len, 0);
	if (!k)
		return 0;
	__u32 *gen = bpf_map_lookup_elem(&pv_quiet_paths, k);
	return gen && *gen == t->head.gen;
}

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
