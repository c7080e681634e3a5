// Kernel io_uring records -> Sysmon events: 11 FileCreate for files IORING_OP_OPENAT/OPENAT2
// created, normalized by the file family's fileCreate (same fields, same semantics as a
// FileCreate from open/openat).
import type { RecordHandlers } from './handlers.js';
import { fileCreate } from './file-events.js';
import { FileRecordType, type FileRecord } from '../kernel/records/file.js';
import { IouringRecordType, type IouringFileRecord } from '../kernel/records/iouring.js';

export const IOURING_HANDLERS: RecordHandlers = {
  [IouringRecordType.FileCreate]: (rec, ctx, out) => {
    const r = rec as IouringFileRecord;
    // the monitor's own files would feed back into it forever (as file-events.ts)
    if (r.tgid === process.pid) return;
    const p = ctx.processes.get(r.tgid) ?? ctx.processes.readProc(r.tgid);
    const file: FileRecord = { ...r, type: FileRecordType.Create };
    out.push(fileCreate(file, p, ctx.timeNs(r.bootNs)));
  },
};
