// SPDX-License-Identifier: GPL-2.0
/*
 * Security family: ProcessAccess (Sysmon 10), CreateRemoteThread (8), eBPF program loads
 * (100), DriverLoad (6), ProcessTampering (25).
 *
 * Hooks:
 *  - per-syscall tracepoints (syscalls/sys_enter_X + sys_exit_X, security_e_X/security_x_X)
 *    for ptrace, process_vm_readv/writev, and the exits of bpf (exit only: BPF cannot attach
 *    to sys_enter_bpf) and of the opens (/proc/PID/mem): nothing
 *    runs for any other syscall. The entry side remembers the arguments per thread
 *    (`pending`), the exit side reports only calls that succeeded. They call the
 *    bpf_task_from_pid kfunc (names the target process exactly, pid reuse included), which
 *    tracepoint programs may call on this kernel (6.18).
 *  - tp_btf/sys_enter + tp_btf/sys_exit (security_sys_enter/security_sys_exit): module
 *    loads (init_module/finit_module) only, because a kernel without module support (this
 *    one) has no sys_enter_finit_module tracepoints. The price: while DriverLoad (6) is
 *    logged both programs run for every syscall (an id compare and return for all but the
 *    two); a tp_btf program on sys_enter/sys_exit costs ~150-250 ns per syscall here.
 *  - tp_btf/sched_process_exec and sched_process_exit (tamper_exec/tamper_exit): the image
 *    of an exec, or of an exiting process, that has no links (memfd, deleted, replaced).
 *
 * Cross-process access is reported once per (source, target, new access bits) and again
 * after ACCESS_REPEAT_NS: a tracer issues thousands of ptrace calls a second, and
 * Sysmon reports the handle being opened, not each use of it. PTRACE_ATTACH/SEIZE are
 * always reported; PTRACE_DETACH forgets the pair.
 */
#include "common.bpf.h"


/* ptrace requests (include/uapi/linux/ptrace.h) */
#define PTRACE_TRACEME     0
#define PTRACE_PEEKTEXT    1
#define PTRACE_PEEKDATA    2
#define PTRACE_PEEKUSR     3
#define PTRACE_POKETEXT    4
#define PTRACE_POKEDATA    5
#define PTRACE_POKEUSR     6
#define PTRACE_CONT        7
#define PTRACE_KILL        8
#define PTRACE_SINGLESTEP  9
#define PTRACE_GETREGS     12
#define PTRACE_SETREGS     13
#define PTRACE_GETFPREGS   14
#define PTRACE_SETFPREGS   15
#define PTRACE_ATTACH      16
#define PTRACE_DETACH      17
#define PTRACE_SYSCALL     24
#define PTRACE_SETOPTIONS  0x4200
#define PTRACE_GETEVENTMSG 0x4201
#define PTRACE_GETSIGINFO  0x4202
#define PTRACE_SETSIGINFO  0x4203
#define PTRACE_GETREGSET   0x4204
#define PTRACE_SETREGSET   0x4205
#define PTRACE_SEIZE       0x4206
#define PTRACE_INTERRUPT   0x4207
#define PTRACE_LISTEN      0x4208

/* Windows process access rights GrantedAccess is expressed in */
#define PROCESS_TERMINATE          0x0001
#define PROCESS_VM_OPERATION       0x0008
#define PROCESS_VM_READ            0x0010
#define PROCESS_VM_WRITE           0x0020
#define PROCESS_SET_INFORMATION    0x0200
#define PROCESS_QUERY_INFORMATION  0x0400
#define PROCESS_SUSPEND_RESUME     0x0800
#define PROCESS_QUERY_LIMITED_INFORMATION 0x1000
#define PROCESS_ALL_ACCESS         0x1fffff

#define BPF_PROG_LOAD_CMD  5
#define PROC_SUPER_MAGIC   0x9fa0
#define FMODE_READ         0x1
#define FMODE_WRITE        0x2

#define ACCESS_REPEAT_NS   (60ull * 1000 * 1000 * 1000)

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

/* A syscall of interest between its entry and its exit, per thread. */
struct pending {
	__u64 nr;
	__u64 args[4];
	__u64 old_ip;      /* ptrace register writes: the target's IP before the call */
	__u32 have_ip;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct pending);
} sec_pending SEC(".maps");

struct access_key {
	__u32 src_tgid;
	__u32 tgt_tgid;
	__u64 tgt_start;
};

struct access_seen {
	__u32 granted;     /* bits already reported */
	__u32 _pad;
	__u64 at_ns;       /* when they were reported */
	__u64 next_poke;   /* address after the last POKETEXT/POKEDATA */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct access_key);
	__type(value, struct access_seen);
} sec_seen SEC(".maps");

/* emit() with the mask hidden from clang, which would otherwise drop it as redundant */
static __always_inline void emit_scratch(void *rec, __u32 size)
{
	asm volatile("" : "+r"(size));
	if (bpf_ringbuf_output(&events, rec, size & (SCRATCH_BYTES - 1), RB_FLAGS))
		count_drop();
}

static __always_inline void fill_target(struct target_ids *t, struct task_struct *task)
{
	struct task_struct *leader = BPF_CORE_READ(task, group_leader);
	t->tgid = BPF_CORE_READ(task, tgid);
	t->tid = BPF_CORE_READ(task, pid);
	t->uid = BPF_CORE_READ(task, real_cred, uid.val);
	t->_pad = 0;
	t->start_boot_ns = BPF_CORE_READ(leader, start_boottime);
	t->end_code = BPF_CORE_READ(task, mm, end_code);
}

static __always_inline __u32 ptrace_access(__s64 req)
{
	switch (req) {
	case PTRACE_ATTACH:
	case PTRACE_SEIZE:
		return PROCESS_ALL_ACCESS;
	case PTRACE_PEEKTEXT:
	case PTRACE_PEEKDATA:
		return PROCESS_VM_READ;
	case PTRACE_POKETEXT:
	case PTRACE_POKEDATA:
		return PROCESS_VM_WRITE | PROCESS_VM_OPERATION;
	case PTRACE_PEEKUSR:
	case PTRACE_GETREGS:
	case PTRACE_GETFPREGS:
	case PTRACE_GETREGSET:
	case PTRACE_GETSIGINFO:
	case PTRACE_GETEVENTMSG:
		return PROCESS_QUERY_INFORMATION;
	case PTRACE_POKEUSR:
	case PTRACE_SETREGS:
	case PTRACE_SETFPREGS:
	case PTRACE_SETREGSET:
	case PTRACE_SETSIGINFO:
	case PTRACE_SETOPTIONS:
		return PROCESS_SET_INFORMATION;
	case PTRACE_CONT:
	case PTRACE_SYSCALL:
	case PTRACE_SINGLESTEP:
	case PTRACE_INTERRUPT:
	case PTRACE_LISTEN:
		return PROCESS_SUSPEND_RESUME;
	case PTRACE_KILL:
		return PROCESS_TERMINATE;
	default:
		return PROCESS_QUERY_LIMITED_INFORMATION;
	}
}

static __always_inline int is_reg_write(__s64 req)
{
	return req == PTRACE_SETREGS || req == PTRACE_SETREGSET || req == PTRACE_POKEUSR;
}

/* Whether this access adds bits not reported for the pair within ACCESS_REPEAT_NS. */
static __always_inline int access_is_new(struct access_key *k, __u32 granted, int always)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct access_seen *s = bpf_map_lookup_elem(&sec_seen, k);
	if (s && !always && now - s->at_ns < ACCESS_REPEAT_NS && (granted & ~s->granted) == 0)
		return 0;
	if (s) {
		if (now - s->at_ns >= ACCESS_REPEAT_NS || always)
			s->granted = 0;
		s->granted |= granted;
		s->at_ns = now;
		return 1;
	}
	struct access_seen n = { .granted = granted, .at_ns = now };
	bpf_map_update_elem(&sec_seen, k, &n, BPF_ANY);
	return 1;
}

static __always_inline void emit_access(struct task_struct *cur, struct task_struct *tgt,
					__u32 granted, __u32 how, __s64 request)
{
	struct access_record r = {};
	fill_header(&r.hdr, RECORD_PROCESS_ACCESS, cur);
	fill_ids(&r.ids, cur);
	fill_target(&r.target, tgt);
	r.granted = granted;
	r.how = how;
	r.request = request;
	r.hdr.size = sizeof(r);
	if (bpf_ringbuf_output(&events, &r, sizeof(r), RB_FLAGS))
		count_drop();
}

static __always_inline void emit_inject(struct task_struct *cur, struct task_struct *tgt,
					__u64 addr, __s64 request)
{
	struct inject_record r = {};
	fill_header(&r.hdr, RECORD_REMOTE_THREAD, cur);
	fill_ids(&r.ids, cur);
	fill_target(&r.target, tgt);
	r.start_address = addr;
	r.request = request;
	r.hdr.size = sizeof(r);
	if (bpf_ringbuf_output(&events, &r, sizeof(r), RB_FLAGS))
		count_drop();
}


static __always_inline int sec_enter(long id, __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	struct pending p = {};
	p.nr = id;
	p.args[0] = a0;
	if (id == NR_BPF && p.args[0] != BPF_PROG_LOAD_CMD)
		return 0;
	p.args[1] = a1;
	p.args[2] = a2;
	p.args[3] = a3;
	if (id == NR_PTRACE) {
		__s64 req = p.args[0];
		if (req == PTRACE_TRACEME)
			return 0;
		if (is_reg_write(req)) {
			struct task_struct *t = bpf_task_from_pid((s32)p.args[1]);
			if (t) {
				struct pt_regs *tr = (struct pt_regs *)bpf_task_pt_regs(t);
				if (tr) {
					p.old_ip = USER_IP(tr);
					p.have_ip = 1;
				}
				bpf_task_release(t);
			}
		}
	}
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&sec_pending, &tid, &p, BPF_ANY);
	return 0;
}

/* module loads only (DriverLoad, 6): see the header comment */
SEC("tp_btf/sys_enter")
int BPF_PROG(security_sys_enter, struct pt_regs *regs, long id)
{
	if (id != NR_INIT_MODULE && id != NR_FINIT_MODULE)
		return 0;
	return sec_enter(id, SC_ARG0(regs), SC_ARG1(regs), SC_ARG2(regs), SC_ARG3(regs));
}

#define SEC_ENTER(sys, nr)                                                        \
	SEC("tracepoint/syscalls/sys_enter_" #sys)                                 \
	int security_e_##sys(struct trace_event_raw_sys_enter *ctx)                \
	{                                                                          \
		return sec_enter(nr, ctx->args[0], ctx->args[1], ctx->args[2],     \
				 ctx->args[3]);                                    \
	}

SEC_ENTER(ptrace, NR_PTRACE)
SEC_ENTER(process_vm_readv, NR_PROCESS_VM_READV)
SEC_ENTER(process_vm_writev, NR_PROCESS_VM_WRITEV)

static __always_inline void on_ptrace(struct task_struct *cur, struct pending *p)
{
	__s64 req = p->args[0];
	struct task_struct *t = bpf_task_from_pid((s32)p->args[1]);
	if (!t)
		return;
	__u32 src = BPF_CORE_READ(cur, tgid);
	struct access_key k = { .src_tgid = src, .tgt_tgid = BPF_CORE_READ(t, tgid),
				.tgt_start = BPF_CORE_READ(t, group_leader, start_boottime) };
	if (k.tgt_tgid == src)
		goto out;
	if (req == PTRACE_DETACH) {
		bpf_map_delete_elem(&sec_seen, &k);
		goto out;
	}
	__u32 granted = ptrace_access(req);
	if (access_is_new(&k, granted, req == PTRACE_ATTACH || req == PTRACE_SEIZE))
		emit_access(cur, t, granted, ACCESS_VIA_PTRACE, req);

	if (req == PTRACE_POKETEXT || req == PTRACE_POKEDATA) {
		/* a run of consecutive pokes (code being written word by word) is one event */
		__u64 addr = p->args[2];
		struct access_seen *s = bpf_map_lookup_elem(&sec_seen, &k);
		if (s && s->next_poke == addr) {
			s->next_poke = addr + sizeof(long);
		} else {
			if (s)
				s->next_poke = addr + sizeof(long);
			emit_inject(cur, t, addr, req);
		}
	} else if (is_reg_write(req) && p->have_ip) {
		struct pt_regs *tr = (struct pt_regs *)bpf_task_pt_regs(t);
		if (tr) {
			__u64 ip = USER_IP(tr);
			if (ip != p->old_ip)
				emit_inject(cur, t, ip, req);
		}
	}
out:
	bpf_task_release(t);
}

static __always_inline void on_vm_rw(struct task_struct *cur, struct pending *p, int write)
{
	struct task_struct *t = bpf_task_from_pid((s32)p->args[0]);
	if (!t)
		return;
	__u32 src = BPF_CORE_READ(cur, tgid);
	struct access_key k = { .src_tgid = src, .tgt_tgid = BPF_CORE_READ(t, tgid),
				.tgt_start = BPF_CORE_READ(t, group_leader, start_boottime) };
	__u32 granted = write ? PROCESS_VM_WRITE | PROCESS_VM_OPERATION : PROCESS_VM_READ;
	if (k.tgt_tgid != src && access_is_new(&k, granted, 0))
		emit_access(cur, t, granted, write ? ACCESS_VIA_VM_WRITEV : ACCESS_VIA_VM_READV,
			    write ? NR_PROCESS_VM_WRITEV : NR_PROCESS_VM_READV);
	bpf_task_release(t);
}

/* An open that returned fd: /proc/PID/mem (or /proc/PID/task/TID/mem) of another process? */
static __always_inline void on_open(struct task_struct *cur, long fd)
{
	struct file *f = fd_file(cur, fd);
	if (!f)
		return;
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	if (BPF_CORE_READ(inode, i_sb, s_magic) != PROC_SUPER_MAGIC)
		return;
	char name[4] = {};
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	if (name[0] != 'm' || name[1] != 'e' || name[2] != 'm' || name[3] != 0)
		return;
	struct proc_inode *pi = (void *)inode - bpf_core_field_offset(struct proc_inode, vfs_inode);
	struct pid *pid = BPF_CORE_READ(pi, pid);
	struct hlist_node *first = BPF_CORE_READ(pid, tasks[0].first);
	if (!first)
		return;
	struct task_struct *t = (void *)first - bpf_core_field_offset(struct task_struct, pid_links);
	__u32 src = BPF_CORE_READ(cur, tgid);
	struct access_key k = { .src_tgid = src, .tgt_tgid = BPF_CORE_READ(t, tgid),
				.tgt_start = BPF_CORE_READ(t, group_leader, start_boottime) };
	if (k.tgt_tgid == src)
		return;
	__u32 mode = BPF_CORE_READ(f, f_mode);
	__u32 granted = 0;
	if (mode & FMODE_READ)
		granted |= PROCESS_VM_READ;
	if (mode & FMODE_WRITE)
		granted |= PROCESS_VM_WRITE | PROCESS_VM_OPERATION;
	if (!granted)
		return;
	if (access_is_new(&k, granted, 0)) {
		struct access_record r = {};
		fill_header(&r.hdr, RECORD_PROCESS_ACCESS, cur);
		fill_ids(&r.ids, cur);
		struct task_struct *leader = BPF_CORE_READ(t, group_leader);
		r.target.tgid = k.tgt_tgid;
		r.target.tid = BPF_CORE_READ(t, pid);
		r.target.uid = BPF_CORE_READ(t, real_cred, uid.val);
		r.target.start_boot_ns = k.tgt_start;
		r.target.end_code = BPF_CORE_READ(leader, mm, end_code);
		r.granted = granted;
		r.how = ACCESS_VIA_PROC_MEM;
		r.request = mode;
		r.hdr.size = sizeof(r);
		if (bpf_ringbuf_output(&events, &r, sizeof(r), RB_FLAGS))
			count_drop();
	}
}

static __always_inline void on_bpf_load(struct task_struct *cur, long fd)
{
	struct file *f = fd_file(cur, fd);
	if (!f)
		return;
	struct bpf_prog *prog = BPF_CORE_READ(f, private_data);
	if (!prog)
		return;
	__u8 *buf = scratch_or_drop();
	if (!buf)
		return;
	struct bpf_load_record *r = (void *)buf;
	__u32 pos = sizeof(*r);
	fill_header(&r->hdr, RECORD_BPF_PROG_LOAD, cur);
	fill_ids(&r->ids, cur);
	r->cmd = BPF_PROG_LOAD_CMD;
	r->prog_type = BPF_CORE_READ(prog, type);
	struct bpf_prog_aux *aux = BPF_CORE_READ(prog, aux);
	r->prog_id = BPF_CORE_READ(aux, id);
	r->_pad = 0;
	r->name.off = pos;
	long n = bpf_probe_read_kernel_str(buf + str_pos(pos), 16,
					   __builtin_preserve_access_index(&aux->name));
	r->name.len = n > 1 ? n - 1 : 0;
	r->hdr.size = pos + r->name.len;
	emit_scratch(r, r->hdr.size);
}

static __always_inline void on_module(struct task_struct *cur, struct pending *p, int finit)
{
	__u8 *buf = scratch_or_drop();
	if (!buf)
		return;
	struct module_record *r = (void *)buf;
	__u32 pos = sizeof(*r);
	fill_header(&r->hdr, RECORD_MODULE_LOAD, cur);
	fill_ids(&r->ids, cur);
	r->finit = finit;
	r->fd = finit ? (__s32)p->args[0] : -1;
	r->len = finit ? 0 : p->args[1];
	r->ino = 0;
	r->dev = 0;
	r->flags = finit ? (__u32)p->args[2] : 0;
	r->path.off = pos;
	r->path.len = 0;
	if (finit) {
		struct file *f = fd_file(cur, p->args[0]);
		if (f) {
			struct inode *inode = BPF_CORE_READ(f, f_inode);
			r->ino = BPF_CORE_READ(inode, i_ino);
			r->dev = BPF_CORE_READ(inode, i_sb, s_dev);
			r->path.len = write_path(&pos, BPF_CORE_READ(f, f_path.dentry),
						 BPF_CORE_READ(f, f_path.mnt), &r->hdr.flags,
						 RECORD_FLAG_EXE_TRUNCATED);
		}
	}
	r->params.off = pos;
	long n = bpf_probe_read_user_str(buf + str_pos(pos), MAX_NAME_BYTES,
					 (void *)(finit ? p->args[1] : p->args[2]));
	r->params.len = n > 1 ? n - 1 : 0;
	r->hdr.size = pos + r->params.len;
	emit_scratch(r, r->hdr.size);
}

static __noinline int sec_exit(long id, long ret)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	if (id == NR_OPENAT || id == NR_OPEN || id == NR_OPENAT2) {
		if (ret >= 0)
			on_open(cur, ret);
		return 0;
	}
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct pending *p = bpf_map_lookup_elem(&sec_pending, &tid);
	if (!p)
		return 0;
	if (p->nr != id || ret < 0)
		goto done;
	if (id == NR_PTRACE)
		on_ptrace(cur, p);
	else if (id == NR_PROCESS_VM_READV || id == NR_PROCESS_VM_WRITEV) {
		if (ret > 0)
			on_vm_rw(cur, p, id == NR_PROCESS_VM_WRITEV);
	} else if (id == NR_BPF)
		on_bpf_load(cur, ret);
	else
		on_module(cur, p, id == NR_FINIT_MODULE);
done:
	bpf_map_delete_elem(&sec_pending, &tid);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(security_sys_exit, struct pt_regs *regs, long ret)
{
	long id = SC_NR(regs);
	if (id != NR_INIT_MODULE && id != NR_FINIT_MODULE)
		return 0;
	return sec_exit(id, ret);
}

SYSCALL_EXIT_PROG(security, ptrace, sec_exit, NR_PTRACE)
SYSCALL_EXIT_PROG(security, process_vm_readv, sec_exit, NR_PROCESS_VM_READV)
SYSCALL_EXIT_PROG(security, process_vm_writev, sec_exit, NR_PROCESS_VM_WRITEV)

/* bpf(2): exit only (the kernel refuses BPF programs on syscalls/sys_enter_bpf, EACCES);
 * the command is still in the task's argument register */
SEC("tracepoint/syscalls/sys_exit_bpf")
int security_x_bpf(struct trace_event_raw_sys_exit *ctx)
{
	long ret = ctx->ret;
	if (ret < 0)
		return 0;
	struct task_struct *cur = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	if (!regs || SC_ARG0(regs) != BPF_PROG_LOAD_CMD)
		return 0;
	on_bpf_load(cur, ret);
	return 0;
}
SYSCALL_EXIT_PROG(security, open, sec_exit, NR_OPEN)
SYSCALL_EXIT_PROG(security, openat, sec_exit, NR_OPENAT)
SYSCALL_EXIT_PROG(security, openat2, sec_exit, NR_OPENAT2)

static __always_inline void emit_tamper(struct task_struct *task, struct file *file, __u32 kind)
{
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	__u32 nlink = BPF_CORE_READ(inode, __i_nlink);
	if (nlink != 0)
		return;
	__u8 *buf = scratch_or_drop();
	if (!buf)
		return;
	struct tamper_record *r = (void *)buf;
	__u32 pos = sizeof(*r);
	fill_header(&r->hdr, RECORD_TAMPER, task);
	fill_ids(&r->ids, task);
	r->kind = kind;
	r->nlink = nlink;
	r->ino = BPF_CORE_READ(inode, i_ino);
	r->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	r->_pad = 0;
	r->exe.off = pos;
	r->exe.len = write_path(&pos, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt),
				&r->hdr.flags, RECORD_FLAG_EXE_TRUNCATED);
	if (r->exe.len == 0) {
		/* a pseudo file (memfd) is its own root: send its name as the one component */
		long n = bpf_probe_read_kernel_str(buf + str_pos(pos), MAX_NAME_BYTES,
						   BPF_CORE_READ(file, f_path.dentry, d_name.name));
		if (n > 0) {
			r->exe.len = n;
			pos += n;
		}
	}
	r->hdr.size = pos;
	emit_scratch(r, r->hdr.size);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tamper_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	emit_tamper(task, BPF_CORE_READ(bprm, file), TAMPER_EXEC_UNLINKED);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tamper_exit, struct task_struct *task)
{
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	if (exe)
		emit_tamper(task, exe, TAMPER_EXIT_UNLINKED);
	return 0;
}

/* Never used at run time: puts the record layouts in the object's BTF for the layout test. */
struct target_ids *layout_target_ids __attribute__((unused));
struct access_record *layout_access_record __attribute__((unused));
struct inject_record *layout_inject_record __attribute__((unused));
struct bpf_load_record *layout_bpf_load_record __attribute__((unused));
struct module_record *layout_module_record __attribute__((unused));
struct tamper_record *layout_tamper_record __attribute__((unused));
