// SPDX-License-Identifier: GPL-2.0
/*
 * File family: FileCreate (Sysmon 11), FileDelete/FileDeleteDetected (23/26),
 * RawAccessRead (9), FileCreateTime (2).
 *
 * Hooks: per-syscall tracepoints (syscalls/sys_enter_X, sys_exit_X), so a program runs only
 * for the syscall it cares about and costs nothing for every other syscall; plus tp_btf
 * ext4_unlink_enter to see the inode a delete removes (mode, size, ino, mtime) while it still
 * exists. Program names start with file_<event group>_; each is attached only while the config
 * logs its events (`programs` in src/families/file/index.ts).
 *
 * Only calls that succeeded are reported: the entry side remembers the arguments per thread
 * (`pending`), the exit side reports when the return value says the call worked.
 *
 * Opens: no entry program at all. At exit the new fd's struct file says whether the call
 * created the file (FMODE_CREATED, set by the VFS only when it instantiated a new inode) and
 * gives the exact absolute path (dentry walk), whatever relative path, dirfd or symlinks the
 * process used. Name operations (rename/link/mknod targets, unlink, rmdir, utimes by path)
 * have no struct file: the record carries the directory the name is relative to (dirfd or
 * cwd, walked in the kernel) and the name the process passed; userspace joins them.
 */
#include "common.bpf.h"
#include "filter.bpf.h"

#define AT_REMOVEDIR    0x200
#define FMODE_READ      0x1
#define FMODE_CREATED   (1u << 20)
#define S_IFMT          00170000
#define S_IFREG         0100000
#define S_IFBLK         0060000
#define UTIME_NOW       ((1l << 30) - 1l)
#define UTIME_OMIT      ((1l << 30) - 2l)


/* What the entry of a name operation leaves for its exit, per thread. */
struct pending {
	__u64 name;          /* user pointer to the (target) name; 0: the fd itself */
	__s64 new_time_ns;
	__s64 mtime_ns;
	__u64 ino;
	__u64 size;
	__u32 mode;
	__u32 dev;
	__u32 nlink;
	__s32 dfd;
	__u16 type;          /* record type */
	__u16 op;
	__u32 info;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct pending);
} pending SEC(".maps");


static __always_inline void inode_info(struct file_record *r, struct inode *inode)
{
	r->mode = BPF_CORE_READ(inode, i_mode);
	r->ino = BPF_CORE_READ(inode, i_ino);
	r->size = BPF_CORE_READ(inode, i_size);
	r->nlink = BPF_CORE_READ(inode, __i_nlink);
	r->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	r->mtime_ns = inode_mtime_ns(inode);
	r->info |= FILE_INFO_INODE;
}

/* emit() with the size bounded behind an asm barrier, which clang cannot fold away here */
static __always_inline void emit_file(struct file_record *r, __u32 size)
{
	/* records whose event the config surely drops never leave the kernel (filter.bpf.h) */
	if (kf_drop(r))
		return;
	if (bpf_ringbuf_output(&events, r, str_pos(size), RB_FLAGS))
		count_drop();
}

static __always_inline struct file_record *start_record(__u16 type, __u16 op, struct task_struct *task)
{
	__u8 *buf = scratch_or_drop();
	if (!buf)
		return 0;
	struct file_record *r = (void *)buf;
	fill_header(&r->hdr, type, task);
	r->op = op;
	r->info = 0;
	r->mode = 0;
	r->dev = 0;
	r->ino = 0;
	r->size = 0;
	r->nlink = 0;
	r->rdev = 0;
	r->mtime_ns = 0;
	r->new_time_ns = 0;
	r->name.off = sizeof(*r);
	r->name.len = 0;
	return r;
}

/* The record's path: the file's own dentry walk; name stays empty. */
static __always_inline void finish_file(struct file_record *r, struct file *file)
{
	__u32 pos = sizeof(*r);
	r->path.off = pos;
	r->path.len = write_path(&pos, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt),
				 &r->hdr.flags, RECORD_FLAG_PATH_TRUNCATED);
	r->name.off = pos;
	r->hdr.size = pos;
	emit_file(r, pos);
}

/* ---- opens: FileCreate (11) and RawAccessRead (9), exit only ---- */

static __always_inline int open_exit(struct trace_event_raw_sys_exit *ctx, __u16 op, int raw)
{
	long fd = ctx->ret;
	if (fd < 0)
		return 0;
	struct task_struct *task = current_task();
	struct file *file = fd_file(task, fd);
	if (!file)
		return 0;
	__u32 fmode = BPF_CORE_READ(file, f_mode);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	__u16 mode = BPF_CORE_READ(inode, i_mode);
	if (raw) {
		if ((mode & S_IFMT) != S_IFBLK || !(fmode & FMODE_READ))
			return 0;
	} else {
		/* O_TMPFILE files are created without a name: reported if linkat gives them one */
		if (!(fmode & FMODE_CREATED) || BPF_CORE_READ(inode, __i_nlink) == 0)
			return 0;
	}
	struct file_record *r = start_record(raw ? RECORD_FILE_RAW_READ : RECORD_FILE_CREATE, op, task);
	if (!r)
		return 0;
	inode_info(r, inode);
	r->rdev = BPF_CORE_READ(inode, i_rdev);
	finish_file(r, file);
	return 0;
}

#define OPEN_EXIT(group, sys, op, raw)                                            \
	SEC("tracepoint/syscalls/sys_exit_" #sys)                                  \
	int file_##group##_x_##sys(struct trace_event_raw_sys_exit *ctx)           \
	{                                                                          \
		return open_exit(ctx, op, raw);                                    \
	}

OPEN_EXIT(create, open, FILE_OP_OPEN, 0)
OPEN_EXIT(create, openat, FILE_OP_OPENAT, 0)
OPEN_EXIT(create, openat2, FILE_OP_OPENAT2, 0)
OPEN_EXIT(create, creat, FILE_OP_CREAT, 0)
OPEN_EXIT(raw, open, FILE_OP_OPEN, 1)
OPEN_EXIT(raw, openat, FILE_OP_OPENAT, 1)
OPEN_EXIT(raw, openat2, FILE_OP_OPENAT2, 1)

/* ---- name operations: entry remembers, exit reports success ---- */

static __always_inline struct pending *remember(__u16 type, __u16 op, long dfd, __u64 name)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending p = {};
	p.type = type;
	p.op = op;
	p.dfd = dfd;
	p.name = name;
	if (bpf_map_update_elem(&pending, &id, &p, BPF_ANY))
		return 0;
	return bpf_map_lookup_elem(&pending, &id);
}

static __always_inline int name_report(long ret, struct pending *ep);

static __always_inline int name_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&pending, &id);
	if (!p)
		return 0;
	struct pending e = *p;
	bpf_map_delete_elem(&pending, &id);
	return name_report(ctx->ret, &e);
}

static __always_inline int name_report(long ret, struct pending *ep)
{
	struct pending e = *ep;
	if (ret != 0)
		return 0;
	struct task_struct *task = current_task();
	struct file_record *r = start_record(e.type, e.op, task);
	if (!r)
		return 0;
	r->info = e.info;
	r->mode = e.mode;
	r->dev = e.dev;
	r->ino = e.ino;
	r->size = e.size;
	r->nlink = e.nlink;
	r->mtime_ns = e.mtime_ns;
	r->new_time_ns = e.new_time_ns;

	__u8 *buf = (void *)r;
	__u32 pos = sizeof(*r);
	if (!e.name) {
		/* the call named the file by fd (futimens) */
		struct file *file = fd_file(task, e.dfd);
		if (!file)
			return 0;
		finish_file(r, file);
		return 0;
	}
	/* the name first, at a fixed place: an absolute name needs no directory */
	if (write_name_in_dir(buf, sizeof(*r), &pos, (void *)e.name, 1, task, e.dfd, &r->name, &r->path,
			      &r->hdr.flags, RECORD_FLAG_NAME_TRUNCATED, RECORD_FLAG_PATH_TRUNCATED))
		return 0;
	r->hdr.size = pos;
	emit_file(r, pos);
	return 0;
}

#define ARG(i) ((__u64)ctx->args[i])

#define NAME_EXIT(group, sys)                                                     \
	SEC("tracepoint/syscalls/sys_exit_" #sys)                                  \
	int file_##group##_x_##sys(struct trace_event_raw_sys_exit *ctx)           \
	{                                                                          \
		return name_exit(ctx);                                             \
	}

#define NAME_ENTER(group, sys)                                                    \
	SEC("tracepoint/syscalls/sys_enter_" #sys)                                 \
	int file_##group##_e_##sys(struct trace_event_raw_sys_enter *ctx)

/* FileCreate (11) by name: rename/link targets, mknod of regular files */
NAME_ENTER(create, rename) { remember(RECORD_FILE_CREATE, FILE_OP_RENAME, AT_FDCWD, ARG(1)); return 0; }
NAME_ENTER(create, renameat) { remember(RECORD_FILE_CREATE, FILE_OP_RENAME, ARG(2), ARG(3)); return 0; }
NAME_ENTER(create, renameat2) { remember(RECORD_FILE_CREATE, FILE_OP_RENAME, ARG(2), ARG(3)); return 0; }
NAME_ENTER(create, link) { remember(RECORD_FILE_CREATE, FILE_OP_LINK, AT_FDCWD, ARG(1)); return 0; }
NAME_ENTER(create, linkat) { remember(RECORD_FILE_CREATE, FILE_OP_LINK, ARG(2), ARG(3)); return 0; }
NAME_ENTER(create, mknod)
{
	__u32 mode = ARG(1);
	if ((mode & S_IFMT) == 0 || (mode & S_IFMT) == S_IFREG)
		remember(RECORD_FILE_CREATE, FILE_OP_MKNOD, AT_FDCWD, ARG(0));
	return 0;
}
NAME_ENTER(create, mknodat)
{
	__u32 mode = ARG(2);
	if ((mode & S_IFMT) == 0 || (mode & S_IFMT) == S_IFREG)
		remember(RECORD_FILE_CREATE, FILE_OP_MKNOD, ARG(0), ARG(1));
	return 0;
}
NAME_EXIT(create, rename)
NAME_EXIT(create, renameat)
NAME_EXIT(create, renameat2)
NAME_EXIT(create, link)
NAME_EXIT(create, linkat)
NAME_EXIT(create, mknod)
NAME_EXIT(create, mknodat)

/*
 * FileDelete (23/26): exit only. The arguments come from the task's user registers; the
 * inode facts from ext4_unlink_enter, which (inside an unlink/unlinkat) leaves them in
 * `pending` for the exit. No entry program: an entry per delete cost a syscall-tracepoint
 * dispatch plus a hash update (~0.7 us) even when the call then failed.
 */
static __always_inline int delete_exit(struct trace_event_raw_sys_exit *ctx, long nr)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct pending e = {};
	struct pending *p = bpf_map_lookup_elem(&pending, &id);
	if (p) {
		if (p->type == RECORD_FILE_DELETE)
			e = *p;
		bpf_map_delete_elem(&pending, &id);
	}
	if (ctx->ret != 0)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs)
		return 0;
	e.type = RECORD_FILE_DELETE;
	if (nr == NR_UNLINKAT) {
		e.dfd = SC_ARG0(regs);
		e.name = SC_ARG1(regs);
		e.op = (SC_ARG2(regs) & AT_REMOVEDIR) ? FILE_OP_RMDIR : FILE_OP_UNLINK;
	} else {
		e.dfd = AT_FDCWD;
		e.name = SC_ARG0(regs);
		e.op = nr == NR_RMDIR ? FILE_OP_RMDIR : FILE_OP_UNLINK;
	}
	if (!e.name)
		return 0;
	return name_report(0, &e);
}

#define DELETE_EXIT(sys, nr)                                                      \
	SEC("tracepoint/syscalls/sys_exit_" #sys)                                  \
	int file_delete_x_##sys(struct trace_event_raw_sys_exit *ctx)              \
	{                                                                          \
		return delete_exit(ctx, nr);                                       \
	}

DELETE_EXIT(unlink, NR_UNLINK)
DELETE_EXIT(rmdir, NR_RMDIR)
DELETE_EXIT(unlinkat, NR_UNLINKAT)

/* The inode a delete removes, while it still exists (ext4, the root filesystem here). */
SEC("tp_btf/ext4_unlink_enter")
int BPF_PROG(file_delete_ext4_unlink, struct inode *parent, struct dentry *dentry)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	if (!regs)
		return 0;
	long nr = SC_NR(regs);
	if (nr != NR_UNLINK && nr != NR_UNLINKAT)
		return 0;
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);
	if (!inode)
		return 0;
	struct pending p = {};
	p.type = RECORD_FILE_DELETE;
	p.mode = BPF_CORE_READ(inode, i_mode);
	p.ino = BPF_CORE_READ(inode, i_ino);
	p.size = BPF_CORE_READ(inode, i_size);
	p.nlink = BPF_CORE_READ(inode, __i_nlink);
	p.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	p.mtime_ns = inode_mtime_ns(inode);
	p.info = FILE_INFO_INODE;
	__u64 id = bpf_get_current_pid_tgid();
	bpf_map_update_elem(&pending, &id, &p, BPF_ANY);
	return 0;
}

/* FileCreateTime (2): utimensat/futimens/utimes/futimesat/utime that set an explicit mtime */
static __always_inline void time_enter(__u16 op, long dfd, __u64 name, __s64 new_ns)
{
	struct pending *p = remember(RECORD_FILE_TIME, op, dfd, name);
	if (!p)
		return;
	p->new_time_ns = new_ns;
	if (!name) {
		/* futimens: the file is known now, and so is its mtime before the change */
		struct file *file = fd_file(current_task(), dfd);
		if (!file)
			return;
		struct inode *inode = BPF_CORE_READ(file, f_inode);
		p->mtime_ns = inode_mtime_ns(inode);
		p->mode = BPF_CORE_READ(inode, i_mode);
		p->ino = BPF_CORE_READ(inode, i_ino);
		p->size = BPF_CORE_READ(inode, i_size);
		p->nlink = BPF_CORE_READ(inode, __i_nlink);
		p->dev = BPF_CORE_READ(inode, i_sb, s_dev);
		p->info |= FILE_INFO_INODE | FILE_INFO_PREV_TIME;
		if (new_ns >= p->mtime_ns) {
			/* not back in time: nothing to report */
			__u64 id = bpf_get_current_pid_tgid();
			bpf_map_delete_elem(&pending, &id);
		}
	}
}

NAME_ENTER(time, utimensat)
{
	__u64 times = ARG(2);
	struct { __s64 sec; __s64 nsec; } ts[2];
	if (!times || bpf_probe_read_user(ts, sizeof(ts), (void *)times))
		return 0;
	if (ts[1].nsec == UTIME_NOW || ts[1].nsec == UTIME_OMIT)
		return 0;
	time_enter(FILE_OP_UTIMENSAT, ARG(0), ARG(1), ts[1].sec * 1000000000ll + ts[1].nsec);
	return 0;
}
static __always_inline void timeval_enter(__u16 op, long dfd, __u64 name, __u64 times)
{
	struct { __s64 sec; __s64 usec; } tv[2];
	if (!times || bpf_probe_read_user(tv, sizeof(tv), (void *)times))
		return;
	time_enter(op, dfd, name, tv[1].sec * 1000000000ll + tv[1].usec * 1000);
}
NAME_ENTER(time, utimes) { timeval_enter(FILE_OP_UTIMES, AT_FDCWD, ARG(0), ARG(1)); return 0; }
NAME_ENTER(time, futimesat) { timeval_enter(FILE_OP_UTIMES, ARG(0), ARG(1), ARG(2)); return 0; }
NAME_ENTER(time, utime)
{
	__u64 times = ARG(1);
	struct { __s64 actime; __s64 modtime; } ub;
	if (!times || bpf_probe_read_user(&ub, sizeof(ub), (void *)times))
		return 0;
	time_enter(FILE_OP_UTIME, AT_FDCWD, ARG(0), ub.modtime * 1000000000ll);
	return 0;
}
NAME_EXIT(time, utimensat)
NAME_EXIT(time, utimes)
NAME_EXIT(time, futimesat)
NAME_EXIT(time, utime)

/* Never used at run time: puts the record layout in the object's BTF for the layout test. */
struct file_record *layout_file_record __attribute__((unused));
