/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-kernel filter for file records: drops, before they reach the ring, the records whose
 * event the active Sysmon config surely drops. The config is compiled in user space
 * (src/config/kernel-filter) into one automaton over the path and a mode per slot (the
 * Sysmon event a record can become); see docs/kernel-filtering.md for what compiles.
 *
 * The automaton walks the path reversed: the record holds the components leaf first,
 * NUL-terminated ("c\0b\0a\0" for /a/b/c), so the reversed path ("c/b/a/") is each
 * component read back to front, in record order; no component list is needed. A name the
 * process passed (unlink("x"), rename targets) comes first, read back to front. ASCII letters are folded to lower case as the engine folds them; a path with
 * any byte outside 0x20..0x7e, longer than KF_MAX_TEXT, truncated, or a name the user-space
 * join would normalize ("a/../b", "./x", "a//b", "x/") is not judged: it passes up as before.
 */
#ifndef SYSMON_TS_FILTER_BPF_H
#define SYSMON_TS_FILTER_BPF_H

#include "common.bpf.h"

#define KF_MARK_START 1
#define KF_MARK_END   2

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct kf_table);
} kf_tables SEC(".maps");

/* [0]: index of the table in use (a reload fills the other one, then flips this) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} kf_active SEC(".maps");

#define KF_STAT_JUDGED    0  /* records the automaton walked */
#define KF_STAT_DROPPED   1  /* ... and dropped */
#define KF_STAT_UNJUDGED  2  /* records of a filtered slot passed without a verdict (see above) */
#define KF_STAT_PV_DROPPED 3 /* records dropped by a per-process verdict (verdict.bpf.h) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} kf_stats SEC(".maps");

/* The walk's state, in a per-CPU map for the same reason as path_walk (common.bpf.h). */
struct kf_walk {
	__u32 table;
	__u32 state;
	__u32 acc;
	__u32 bail;
	__u32 src;     /* where the bytes of this loop start in the scratch buffer */
	__u32 len;
	__u32 prev;    /* the name: the byte read before (the one after it in the name) */
	__u32 pos;     /* the components: scan / feed position */
	__u32 start;   /* ... start of the current component */
	__u32 end;     /* ... its NUL */
	__u32 emitting;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kf_walk);
} kf_walk_state SEC(".maps");

static __always_inline void kf_count(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&kf_stats, &which);
	if (n)
		*n += 1;
}

static __always_inline void kf_step(struct kf_walk *w, struct kf_table *t, __u32 c)
{
	__u32 col = t->head.cls[c & 127];
	__u32 cell = t->cells[(w->state * t->head.width + col) & (KF_MAX_CELLS - 1)];
	w->state = cell & 0xffffff;
	w->acc |= cell >> 24;
}

/* a path byte as the automaton reads it: lower-cased, or 0 for a byte it cannot judge */
static __always_inline __u32 kf_fold(__u32 c)
{
	if (c < 0x20 || c > 0x7e)
		return 0;
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* what every step needs, looked up once per record and handed to the callbacks */
struct kf_ctx {
	struct kf_walk *w;
	struct kf_table *t;
	__u8 *buf;
};

/* One byte of the name, back to front; rejects what resolveName would rewrite. */
static long kf_name_byte(__u64 i, void *data)
{
	struct kf_ctx *x = data;
	struct kf_walk *w = x->w;
	struct kf_table *t = x->t;
	__u8 *buf = x->buf;
	__u32 c = kf_fold(buf[str_pos(w->src + w->len - 1 - (__u32)i)]);
	/* "x/" (first byte read), "a//b", "a/./b" or "a/.x": not the plain join user space keeps */
	if (!c || (c == '/' && (i == 0 || w->prev == '/' || w->prev == '.'))) {
		w->bail = 1;
		return 1;
	}
	w->prev = c;
	kf_step(w, t, c);
	return 0;
}

/*
 * One step over the leaf-first components ("c\0b\0a\0" for /a/b/c): the reversed path is
 * each component back to front, then '/' ("c/b/a/"). A step either scans forward for the
 * end of the current component, or feeds one of its bytes (or the '/' after it).
 */
static long kf_path_step(__u64 i, void *data)
{
	struct kf_ctx *x = data;
	struct kf_walk *w = x->w;
	struct kf_table *t = x->t;
	__u8 *buf = x->buf;
	if (!w->emitting) {
		if (w->pos >= w->len)
			return 1;
		if (buf[str_pos(w->src + w->pos)] == 0) {
			w->emitting = 1;
			w->end = w->pos;
		} else {
			w->pos++;
		}
		return 0;
	}
	if (w->pos > w->start) {
		w->pos--;
		__u32 c = kf_fold(buf[str_pos(w->src + w->pos)]);
		if (!c) {
			w->bail = 1;
			return 1;
		}
		kf_step(w, t, c);
		return 0;
	}
	kf_step(w, t, '/');
	w->emitting = 0;
	w->start = w->end + 1;
	w->pos = w->start;
	return w->start >= w->len;
}

static __always_inline int kf_slot_drops(struct kf_table *t, __u32 acc, __u32 slot)
{
	__u32 mode = t->head.mode[slot & (KF_SLOTS - 1)];
	if ((mode & KF_MODE_DROP_ON) && (acc & (1u << (slot * 2))))
		return 1;
	return (mode & KF_MODE_KEEP_ONLY) && !(acc & (1u << (slot * 2 + 1)));
}

/* The active filter table when a config is loaded in it (its index in *ti), else 0. */
static __always_inline struct kf_table *kf_loaded_table(__u32 *ti)
{
	__u32 zero = 0;
	__u32 *active = bpf_map_lookup_elem(&kf_active, &zero);
	if (!active)
		return 0;
	*ti = *active & 1;
	struct kf_table *t = bpf_map_lookup_elem(&kf_tables, ti);
	return t && t->head.loaded ? t : 0;
}

/*
 * 1 when the config surely drops the event this file record becomes: then it is not sent.
 * Marks every record it looks at with the generation of the table it used.
 */
static __always_inline int kf_drop(struct file_record *r)
{
	__u32 first, last;
	switch (r->hdr.type) {
	case RECORD_FILE_CREATE: first = 0; last = 0; break;
	case RECORD_FILE_DELETE: first = 1; last = 2; break;  /* 23, else 26: both must drop */
	case RECORD_FILE_TIME: first = 3; last = 3; break;
	default: return 0;
	}
	__u32 zero = 0, ti;
	struct kf_table *t = kf_loaded_table(&ti);
	if (!t)
		return 0;
	r->hdr.flags |= RECORD_FLAG_KF_JUDGED | ((t->head.gen & 1) ? RECORD_FLAG_KF_GEN_ODD : 0);
	if (!t->head.mode[first] || !t->head.mode[last])
		return 0;
	__u32 nlen = r->name.len, plen = r->path.len;
	if ((r->hdr.flags & (RECORD_FLAG_PATH_TRUNCATED | RECORD_FLAG_NAME_TRUNCATED)) ||
	    nlen + plen + 1 > KF_MAX_TEXT || nlen + plen == 0) {
		kf_count(KF_STAT_UNJUDGED);
		return 0;
	}
	struct kf_walk *w = bpf_map_lookup_elem(&kf_walk_state, &zero);
	if (!w)
		return 0;
	w->table = ti;
	w->state = 0;
	w->acc = t->head.root_flags;
	w->bail = 0;
	w->prev = 0;
	kf_step(w, t, KF_MARK_END);
	struct kf_ctx x = { .w = w, .t = t, .buf = (void *)r };
	if (nlen) {
		w->src = r->name.off;
		w->len = nlen;
		bpf_loop(nlen, kf_name_byte, &x, 0);
		__u8 *buf = (void *)r;
		int relative = buf[r->name.off & SCRATCH_STR_MASK] != '/';
		/* a relative name starting with '.' is rewritten by the join ("./x", "../x") */
		if (relative && w->prev == '.')
			w->bail = 1;
		if (relative)
			kf_step(w, t, '/');
	}
	if (plen && !w->bail) {
		w->src = r->path.off;
		w->len = plen;
		w->pos = 0;
		w->start = 0;
		w->emitting = 0;
		bpf_loop(2 * plen + 2, kf_path_step, &x, 0);
		/* the walk must have ended on a component's '/' (components are NUL-terminated) */
		if (w->emitting || w->start < plen)
			w->bail = 1;
	}
	if (w->bail) {
		kf_count(KF_STAT_UNJUDGED);
		return 0;
	}
	kf_step(w, t, KF_MARK_START);
	__u32 acc = w->acc;
	kf_count(KF_STAT_JUDGED);
	if (!kf_slot_drops(t, acc, first) || !kf_slot_drops(t, acc, last))
		return 0;
	kf_count(KF_STAT_DROPPED);
	return 1;
}

#endif
