// `sysmon-ts record --out FILE --seconds N`: loads the driver (every family, every program
// attached) and saves the raw ring records to FILE, for replaying the pipeline without the
// kernel (bench/) and for decoder tests. File format: an 8-byte magic "SYSMREC1", then
// records, each a u32 little-endian length followed by that many bytes of record (the
// ring's own 8-byte header removed, exactly what Capture.onRecord receives).
// FILE is written 0640 to a temporary beside it and renamed into place when the recording ends
// (src/fs/safe-file.ts: a symlink at FILE is refused, never followed).
import { writeSync } from 'node:fs';
import { ReplacementFile } from '../fs/safe-file.js';
import { Driver } from '../kernel/loader.js';

export const RECORD_MAGIC = 'SYSMREC1';

export interface RecordOptions {
  out: string;
  seconds: number;
  objects: readonly string[];
  ringBytes?: number;
  pollMs?: number;
  /** called once the programs are attached (the bench starts its workloads then) */
  onReady?: () => void;
  /** stop early when this resolves */
  stop?: Promise<void>;
}

export interface RecordResult {
  records: number;
  bytes: number;
  kernelDrops: string;
  attached: string[];
}

/** Reads a file written by record() back into a list of records (views into one buffer). */
export function readRecordFile(buf: Buffer): Buffer[] {
  if (buf.subarray(0, 8).toString('latin1') !== RECORD_MAGIC) throw new Error('not a sysmon-ts record file (bad magic)');
  const spans: [number, number][] = [];
  let at = 8;
  let room = 0;
  while (at + 4 <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (at + 4 + len > buf.length) break; // torn tail
    spans.push([at + 4, len]);
    room += (len + 7) & ~7;
    at += 4 + len;
  }
  // each record on an 8-byte boundary, as the ring hands them over (the file's 4-byte length
  // prefixes leave them off it): a replay then reads 64-bit fields the way the agent does
  const out: Buffer[] = [];
  const aligned = Buffer.alloc(room);
  let to = 0;
  for (const [from, len] of spans) {
    buf.copy(aligned, to, from, from + len);
    out.push(aligned.subarray(to, to + len));
    to += (len + 7) & ~7;
  }
  return out;
}

export async function record(opts: RecordOptions): Promise<RecordResult> {
  const target = await ReplacementFile.create(opts.out, 0o640, 'record output');
  const fd = target.handle.fd;
  let driver: Driver;
  try {
    driver = new Driver({ objects: opts.objects, ringBytes: opts.ringBytes ?? 64 * 1024 * 1024 });
  } catch (e) {
    await target.abort();
    throw e;
  }
  let records = 0;
  let bytes = 8;
  const chunk = Buffer.allocUnsafe(4 * 1024 * 1024);
  let used = 0;
  const flush = () => {
    if (used > 0) writeSync(fd, chunk, 0, used);
    used = 0;
  };
  writeSync(fd, Buffer.from(RECORD_MAGIC, 'latin1'));
  const onRecord = (rec: Buffer) => {
    if (used + 4 + rec.length > chunk.length) flush();
    if (4 + rec.length > chunk.length) {
      const lenBuf = Buffer.alloc(4);
      lenBuf.writeUInt32LE(rec.length, 0);
      writeSync(fd, lenBuf);
      writeSync(fd, rec);
    } else {
      chunk.writeUInt32LE(rec.length, used);
      rec.copy(chunk, used + 4);
      used += 4 + rec.length;
    }
    records++;
    bytes += 4 + rec.length;
  };
  let stopped = false;
  void opts.stop?.then(() => {
    stopped = true;
  });
  const deadline = Date.now() + opts.seconds * 1000;
  try {
    opts.onReady?.();
    while (!stopped && Date.now() < deadline) {
      const n = driver.ring.drain(onRecord, 65536);
      if (n < 4096) await new Promise((r) => setTimeout(r, opts.pollMs ?? 2));
    }
    while (driver.ring.drain(onRecord, 65536) > 0) {
      /* empty the ring */
    }
    flush();
    await target.commit(false);
    return { records, bytes, kernelDrops: driver.drops().toString(), attached: driver.attached };
  } finally {
    await target.abort(); // (nothing left to do after commit)
    driver.close();
  }
}
