// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring family: FileCreate (Sysmon 11) for files created by IORING_OP_OPENAT and
 * IORING_OP_OPENAT2, which never pass through the open/openat syscalls file.bpf.c hooks.
 *
 * Hook: tp_btf/io_uring_complete (ctx, req, cqe), fired when the request's completion is
 * posted. By then the open is done: the request (struct io_kiocb) still says which opcode it
 * was and, in its command area (struct io_open), whether the file went to a fixed slot; the
 * CQE's res is the new fd (or the fixed slot). The new struct file says whether this open
 * created the file (FMODE_CREATED, set by the VFS only when it instantiated a new inode) and
 * gives the absolute path by the same dentry walk as every other path.
 *
 * Who: the request's submitting task (req->tctx->task), not `current`: the completion may be
 * posted from an io-wq worker, the SQPOLL thread or a fallback kworker. The fd table is that
 * task's (io-wq workers and the SQPOLL thread share it), so the fd is looked up there.
 * Attached only while FileCreate is logged (`programs` in src/families/iouring/index.ts).
 *
 * Also UNLINKAT/RENAMEAT/LINKAT (FileDelete, FileCreate of the new name): see
 * iouring_names_submit below.
 */
#include "common.bpf.h"

#define FMODE_CREATED           (1u << 20)
#define AT_REMOVEDIR            0x200
#define IORING_FILE_INDEX_ALLOC (~0u)
#define FFS_MASK                (~3ul)  /* io_rsrc_node.file_ptr: FFS_NOWAIT | FFS_ISREG */

/* The file in a ring's fixed-file table slot (kernels 6.13+: io_rsrc_node tables). */
static __always_inline struct file *fixed_file(struct io_ring_ctx *ctx, __u32 slot)
{
	if (!bpf_core_field_exists(ctx->file_table.data.nodes))
		return 0;
	unsigned int nr = BPF_CORE_READ(ctx, file_table.data.nr);
	if (slot >= nr)
		return 0;
	struct io_rsrc_node **nodes = BPF_CORE_READ(ctx, file_table.data.nodes);
	struct io_rsrc_node *node = 0;
	bpf_probe_read_kernel(&node, sizeof(node), &nodes[slot]);
	if (!node)
		return 0;
	return (struct file *)(BPF_CORE_READ(node, file_ptr) & FFS_MASK);
}


SEC("tp_btf/io_uring_complete")
int BPF_PROG(iouring_create_complete, struct io_ring_ctx *ring, struct io_kiocb *req, struct io_uring_cqe *cqe)
{
	/* auxiliary CQEs (overflow, msg_ring...) come without a request */
	if (!req || !cqe)
		return 0;
	__u8 opcode = BPF_CORE_READ(req, opcode);
	if (opcode != IORING_OP_OPENAT && opcode != IORING_OP_OPENAT2)
		return 0;
	__s32 res = BPF_CORE_READ(cqe, res);
	if (res < 0)
		return 0;
	struct task_struct *task = BPF_CORE_READ(req, tctx, task);
	if (!task)
		return 0;
	/* the open's own command data lives in the request (io_kiocb_to_cmd) */
	struct io_open *open = (void *)req;
	__u32 file_slot = BPF_CORE_READ(open, file_slot);
	struct file *file;
	if (file_slot == 0)
		file = fd_file(task, res);
	else if (file_slot == IORING_FILE_INDEX_ALLOC)
		file = fixed_file(ring, res);       /* res: the slot the kernel picked */
	else
		file = fixed_file(ring, file_slot - 1);
	if (!file)
		return 0;
	__u32 fmode = BPF_CORE_READ(file, f_mode);
	struct inode *inode = BPF_CORE_READ(file, f_inode);
	/* O_TMPFILE files are created without a name: linkat reports them if they get one */
	if (!(fmode & FMODE_CREATED) || BPF_CORE_READ(inode, __i_nlink) == 0)
		return 0;

	__u8 *buf = scratch_or_drop();
	if (!buf)
		return 0;
	struct iouring_file_record *u = (void *)buf;
	struct file_record *r = &u->file;
	fill_header(&r->hdr, RECORD_IOURING_FILE_CREATE, task);
	r->op = opcode == IORING_OP_OPENAT ? FILE_OP_OPENAT : FILE_OP_OPENAT2;
	r->info = FILE_INFO_INODE;
	r->mode = BPF_CORE_READ(inode, i_mode);
	r->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	r->ino = BPF_CORE_READ(inode, i_ino);
	r->size = BPF_CORE_READ(inode, i_size);
	r->nlink = BPF_CORE_READ(inode, __i_nlink);
	r->rdev = BPF_CORE_READ(inode, i_rdev);
	r->mtime_ns = inode_mtime_ns(inode);
	r->new_time_ns = 0;
	u->user_data = BPF_CORE_READ(cqe, user_data);
	u->opcode = opcode;
	u->_pad = 0;

	__u32 pos = sizeof(*u);
	r->path.off = pos;
	r->path.len = write_path(&pos, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt),
				 &r->hdr.flags, RECORD_FLAG_PATH_TRUNCATED);
	r->name.off = pos;
	r->name.len = 0;
	r->hdr.size = pos;
	/* the size bounded behind an asm barrier (as file.bpf.c's emit_file) */
	if (bpf_ringbuf_output(&events, u, str_pos(pos), RB_FLAGS))
		count_drop();
	return 0;
}

/*
 * Name operations: IORING_OP_UNLINKAT (FileDelete 23/26), RENAMEAT and LINKAT (FileCreate 11
 * of the new name). They run in an io-wq worker, outside every syscall file.bpf.c hooks, and
 * free their names (struct filename) as they finish, so the names are taken at submission
 * (tp_btf/io_uring_submit_req: the request is prepared, names copied into the kernel) and
 * the outcome at completion; userspace joins the two by the request's address and reports
 * only what succeeded. Both records come from the submitting task's side of the request.
 */

static __always_inline struct task_struct *submitter(struct io_kiocb *req)
{
	struct task_struct *task = BPF_CORE_READ(req, tctx, task);
	return task ? task : current_task();
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(iouring_names_submit, struct io_kiocb *req)
{
	__u8 opcode = BPF_CORE_READ(req, opcode);
	struct filename *fn;
	int dfd;
	__u16 op;
	if (opcode == IORING_OP_UNLINKAT) {
		struct io_unlink *un = (void *)req;
		fn = BPF_CORE_READ(un, filename);
		dfd = BPF_CORE_READ(un, dfd);
		op = (BPF_CORE_READ(un, flags) & AT_REMOVEDIR) ? FILE_OP_RMDIR : FILE_OP_UNLINK;
	} else if (opcode == IORING_OP_RENAMEAT) {
		struct io_rename *rn = (void *)req;
		fn = BPF_CORE_READ(rn, newpath);
		dfd = BPF_CORE_READ(rn, new_dfd);
		op = FILE_OP_RENAME;
	} else if (opcode == IORING_OP_LINKAT) {
		struct io_link *ln = (void *)req;
		fn = BPF_CORE_READ(ln, newpath);
		dfd = BPF_CORE_READ(ln, new_dfd);
		op = FILE_OP_LINK;
	} else {
		return 0;
	}
	const char *name = fn ? BPF_CORE_READ(fn, name) : 0;
	if (!name)
		return 0;
	struct task_struct *task = submitter(req);

	__u8 *buf = scratch_or_drop();
	if (!buf)
		return 0;
	struct iouring_name_record *u = (void *)buf;
	struct file_record *r = &u->file;
	__builtin_memset(r, 0, sizeof(*r));
	fill_header(&r->hdr, RECORD_IOURING_NAME_OP, task);
	r->op = op;
	u->user_data = BPF_CORE_READ(req, cqe.user_data);
	u->request = (__u64)req;
	u->opcode = opcode;
	u->_pad = 0;

	__u32 pos = sizeof(*u);
	if (write_name_in_dir(buf, sizeof(*u), &pos, name, 0, task, dfd, &r->name, &r->path,
			      &r->hdr.flags, RECORD_FLAG_NAME_TRUNCATED, RECORD_FLAG_PATH_TRUNCATED))
		return 0;
	r->hdr.size = pos;
	if (bpf_ringbuf_output(&events, u, str_pos(pos), RB_FLAGS))
		count_drop();
	return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(iouring_names_complete, struct io_ring_ctx *ring, struct io_kiocb *req, struct io_uring_cqe *cqe)
{
	if (!req || !cqe)
		return 0;
	__u8 opcode = BPF_CORE_READ(req, opcode);
	if (opcode != IORING_OP_UNLINKAT && opcode != IORING_OP_RENAMEAT && opcode != IORING_OP_LINKAT)
		return 0;
	struct iouring_result_record r = {};
	fill_header(&r.hdr, RECORD_IOURING_RESULT, submitter(req));
	r.hdr.size = sizeof(r);
	r.user_data = BPF_CORE_READ(cqe, user_data);
	r.request = (__u64)req;
	r.opcode = opcode;
	r.res = BPF_CORE_READ(cqe, res);
	if (bpf_ringbuf_output(&events, &r, sizeof(r), RB_FLAGS))
		count_drop();
	return 0;
}

/* Never used at run time: put the record layouts in the object's BTF for the layout test. */
struct iouring_file_record *layout_iouring_file_record __attribute__((unused));
struct iouring_name_record *layout_iouring_name_record __attribute__((unused));
struct iouring_result_record *layout_iouring_result_record __attribute__((unused));
