// Kernel io_uring records -> Sysmon events, normalized by the file family (same fields, same
// semantics as the syscall paths):
// - 11 FileCreate for files IORING_OP_OPENAT/OPENAT2 created;
// - 23/26 FileDelete for IORING_OP_UNLINKAT, 11 FileCreate of the new name for RENAMEAT and
//   LINKAT: the kernel sends the request's names at submission and its result at completion
//   (the names are gone by then); the two are joined here by the request's address and only
//   a request that succeeded is reported, at its completion time.
import type { HandlersFor } from '../descriptor.js';
import { fileCreate, FILE_HANDLERS } from '../file/events.js';
import { FileOp, FileRecordType, type FileRecord } from '../file/records.js';
import { IouringRecordType, type IOURING_DECODERS, type IouringNameRecord } from './records.js';

/**
 * Submitted name operations waiting for their completion, by request address. Every request
 * completes (cancelled ones with -ECANCELED), so entries leave with their result; the bound
 * only matters if result records were lost to a full ring (already reported as 255).
 */
const submitted = new Map<bigint, IouringNameRecord>();
const MAX_SUBMITTED = 4096;

export const IOURING_HANDLERS: HandlersFor<typeof IOURING_DECODERS> = {
  [IouringRecordType.FileCreate]: (r, ctx, out) => {
    // the monitor's own files would feed back into it forever (as src/families/file/events.ts)
    if (r.tgid === process.pid) return;
    const p = ctx.processes.lookup(r.tgid);
    const file: FileRecord = { ...r, type: FileRecordType.Create };
    out.push(fileCreate(file, p, ctx.timeNs(r.bootNs)));
  },
  [IouringRecordType.NameOp]: (r) => {
    // a request address is reused only after its completion: a stale entry is a lost result
    submitted.delete(r.request);
    if (submitted.size >= MAX_SUBMITTED) submitted.delete(submitted.keys().next().value as bigint);
    submitted.set(r.request, r);
  },
  [IouringRecordType.Result]: (done, ctx, out) => {
    const r = submitted.get(done.request);
    if (!r) return;
    submitted.delete(done.request);
    if (done.res !== 0) return;
    const deletes = r.op === FileOp.Unlink || r.op === FileOp.Rmdir;
    const file: FileRecord = { ...r, type: deletes ? FileRecordType.Delete : FileRecordType.Create, bootNs: done.bootNs };
    FILE_HANDLERS[file.type]!(file, ctx, out);
  },
};
