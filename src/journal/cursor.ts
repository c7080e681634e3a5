// Durable per-sink cursors: "<journal>/cursors/<sink>.cursor" holds the last recordId the sink
// acknowledged.
//
// Why two slots in place instead of tmp + fdatasync + rename: that sequence cost ~1.5 ms of CPU
// per save here (file create, rename, close through the thread pool: five promise round trips),
// up to 20 times a second per sink, on the agent's hot path. Now the file is opened once and
// holds two fixed-size lines ("slots"); a save overwrites the older slot with one pwrite (a few
// us, synchronous, so a crash of the agent right after save() keeps the value: it is in the
// page cache) and an fdatasync follows in the background (at most one in flight; power loss
// keeps the last synced slot). Each slot carries a sequence number and a CRC32C: a torn slot is
// ignored and the other, older one is used, so a cursor never reads as higher than a value
// that was saved, and a failed save only means re-delivery after a restart.
//
// Saves are coalesced: a value is written at once if the previous write is >= minIntervalMs
// old, else when that interval ends (only the latest value). The background fdatasync runs at
// most once per syncIntervalMs (1 s): back to back after every 50 ms write it was ~20 per second
// per sink under a storm, each a journal commit of the file system on the agent's CPU; a power
// loss then re-delivers at most that second more (the cursor still never reads as higher than
// a value that was saved). flush() writes and syncs at once.
import { closeSync, constants as C, openSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from './crc32c.js';
import { refuseLink } from '../fs/safe-file.js';

export const CURSOR_DIR = 'cursors';

export function cursorFileName(sink: string): string {
  return `${sink.replace(/[^A-Za-z0-9._-]/g, '_')}.cursor`;
}

export interface CursorState {
  sink: string;
  acked: number;
  savedMs: number;
}

interface Slot extends CursorState {
  seq: number;
  crc: number;
}

function slotCrc(sink: string, acked: number, savedMs: number, seq: number): number {
  return crc32c(Buffer.from(`${sink}\n${acked}\n${savedMs}\n${seq}`, 'utf8'));
}

/** bytes per slot line for a sink name (numbers at their widest fit; a multiple of 64) */
export function slotBytes(sink: string): number {
  const widest = JSON.stringify({ sink, acked: Number.MAX_SAFE_INTEGER, savedMs: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER, crc: 0xffffffff });
  return Math.max(128, Math.ceil((Buffer.byteLength(widest) + 1) / 64) * 64);
}

/** one slot: the JSON padded with spaces to `size` - 1 bytes, then "\n" */
export function encodeSlot(sink: string, acked: number, savedMs: number, seq: number, size = slotBytes(sink)): Buffer {
  const json = JSON.stringify({ sink, acked, savedMs, seq, crc: slotCrc(sink, acked, savedMs, seq) } satisfies Slot);
  const buf = Buffer.alloc(size, 0x20);
  buf.write(json, 0, 'utf8');
  buf[size - 1] = 0x0a;
  return buf;
}

/**
 * The newest valid slot of a cursor file's text (or a whole-file JSON cursor as written before
 * the slots: no seq/crc); null if none is valid.
 */
export function parseCursorText(text: string): CursorState | null {
  let best: Slot | null = null;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    let o: Partial<Slot>;
    try {
      o = JSON.parse(t) as Partial<Slot>;
    } catch {
      continue;
    }
    if (typeof o !== 'object' || o === null || typeof o.acked !== 'number' || !Number.isSafeInteger(o.acked) || o.acked < 0) continue;
    const legacy = o.seq === undefined && o.crc === undefined;
    if (!legacy && (typeof o.seq !== 'number' || o.crc !== slotCrc(String(o.sink), o.acked, Number(o.savedMs), o.seq))) continue; // torn
    const s: Slot = { sink: String(o.sink ?? ''), acked: o.acked, savedMs: Number(o.savedMs ?? 0), seq: legacy ? -1 : o.seq!, crc: o.crc ?? 0 };
    if (!best || s.seq > best.seq) best = s;
  }
  return best ? { sink: best.sink, acked: best.acked, savedMs: best.savedMs } : null;
}

export async function readCursor(path: string): Promise<CursorState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return parseCursorText(text); // unreadable: treated as absent (the caller decides where to start)
}

/** every cursor in a journal directory */
export async function readAllCursors(journalDir: string): Promise<CursorState[]> {
  const dir = join(journalDir, CURSOR_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: CursorState[] = [];
  for (const n of names.filter((x) => x.endsWith('.cursor')).sort()) {
    const c = await readCursor(join(dir, n));
    if (c) out.push(c);
  }
  return out;
}

/** the cursor file, opened for in-place writes (no symlink followed); created 0640 */
function openCursorFile(path: string): number {
  refuseLink(path, 'cursor'); // a clear error naming the path; O_NOFOLLOW closes the race
  try {
    return openSync(path, C.O_RDWR | C.O_CREAT | (C.O_NOFOLLOW ?? 0), 0o640);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') refuseLink(path, 'cursor');
    throw e;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // Windows cannot flush a directory handle (EPERM)
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class CursorFile {
  readonly path: string;
  private readonly slot: number;
  private fd: number | null = null;
  /** a second, read-only descriptor of the file for fdatasync (it syncs the inode) */
  private syncFh: Promise<FileHandle> | null = null;
  private seq = 0;
  private pending: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastWriteMs = -Infinity;
  private syncing = false;
  private syncAgain = false;
  /** when the last fdatasync started, and the timer of a sync held back until syncIntervalMs */
  private lastSyncMs = -Infinity;
  private syncTimer: NodeJS.Timeout | null = null;
  /** written since the last fdatasync started */
  private dirty = false;
  private syncWaiters: (() => void)[] = [];
  /** last value written to the file (page cache: survives a crash of the agent) */
  written = -1;
  /** last value known to be on stable storage (fdatasync'ed; = written when fsync is off) */
  saved = -1;
  lastError: Error | null = null;
  /** slot writes and fdatasyncs done (for tests and the bench) */
  readonly counters = { writes: 0, syncs: 0 };

  /** minimum time between two writes: a fast sink acks many batches per write */
  constructor(
    journalDir: string,
    readonly sink: string,
    private readonly fsync = true,
    private readonly minIntervalMs = 50,
    private readonly syncIntervalMs = 1000,
  ) {
    this.path = join(journalDir, CURSOR_DIR, cursorFileName(sink));
    this.slot = slotBytes(sink);
  }

  async load(): Promise<number | null> {
    const dir = join(this.path, '..');
    await mkdir(dir, { recursive: true });
    const c = await readCursor(this.path);
    if (c) this.saved = this.written = c.acked;
    // (re)write both slots with the value read: upgrades an old whole-file cursor and drops a
    // torn slot, so the alternation below always overwrites the older one
    if (c) {
      this.ensureOpen();
      const now = Date.now();
      writeSync(
        this.fd!,
        Buffer.concat([encodeSlot(this.sink, c.acked, now, 1, this.slot), encodeSlot(this.sink, c.acked, now, 0, this.slot)]),
        0,
        2 * this.slot,
        0,
      );
      this.seq = 2;
      this.dirty = true;
      if (this.fsync) await this.syncNow();
    }
    return c ? c.acked : null;
  }

  /** schedule a save of `acked`; returns at once (written now if the last write is old enough) */
  save(acked: number): void {
    this.pending = acked;
    if (this.timer) return;
    const wait = this.lastWriteMs + this.minIntervalMs - Date.now();
    if (wait <= 0) this.writePending();
    else
      this.timer = setTimeout(() => {
        this.timer = null;
        this.writePending();
      }, wait);
  }

  /** write everything scheduled now and wait until it is on disk */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.writePending();
    if (this.fsync) await this.syncNow();
  }

  /** write `acked` now and wait until it is on disk */
  async writeNow(acked: number): Promise<void> {
    this.pending = acked;
    await this.flush();
    if (this.lastError) throw this.lastError;
  }

  /** flush, then close the file */
  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    const h = this.syncFh;
    this.syncFh = null;
    if (h)
      await h.then(
        (x) => x.close(),
        () => undefined,
      );
  }

  private ensureOpen(): void {
    if (this.fd !== null) return;
    this.fd = openCursorFile(this.path);
    // a new file's directory entry must survive power loss too (once per file)
    if (this.fsync)
      fsyncDir(join(this.path, '..')).catch((e: Error) => {
        this.lastError = e;
      });
  }

  private writePending(): void {
    const v = this.pending;
    if (v === null) return;
    this.pending = null;
    try {
      this.ensureOpen();
      const seq = this.seq;
      const buf = encodeSlot(this.sink, v, Date.now(), seq, this.slot);
      const n = writeSync(this.fd!, buf, 0, this.slot, (seq & 1) * this.slot);
      if (n !== this.slot) throw new Error(`cursor ${this.path}: short write (${n} of ${this.slot} bytes)`);
      this.seq = seq + 1;
      this.written = Math.max(this.written, v);
      this.lastWriteMs = Date.now();
      this.dirty = true;
      this.counters.writes++;
      this.lastError = null;
    } catch (e) {
      this.lastError = e as Error; // a lost cursor save only means re-delivery after restart
      if (this.pending === null) this.pending = v; // retried with the next save
      return;
    }
    if (this.fsync) this.requestSync();
    else this.saved = this.written;
  }

  /**
   * one fdatasync in flight at a time; writes made meanwhile are covered by one more. A
   * background request (`now` false) waits until syncIntervalMs after the last one started.
   */
  private requestSync(now = false): void {
    if (this.fd === null) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    const wait = now ? 0 : this.lastSyncMs + this.syncIntervalMs - Date.now();
    if (wait > 0) {
      this.syncTimer ??= setTimeout(() => {
        this.syncTimer = null;
        if (this.dirty) this.requestSync(true);
      }, wait);
      this.syncTimer.unref();
      return;
    }
    if (this.syncTimer) {
      clearTimeout(this.syncTimer);
      this.syncTimer = null;
    }
    this.lastSyncMs = Date.now();
    this.syncing = true;
    this.dirty = false;
    const target = this.written;
    // FileHandle.datasync (promise API) hands the call to the thread pool at once (~30 us on the
    // main thread here); fs.fdatasync(fd, callback) held the main thread 100-150 us per call
    // (libuv 1.46), and far longer under load in the agent's profile
    // read-write: Windows' FlushFileBuffers refuses a read-only handle (EPERM)
    this.syncFh ??= open(this.path, C.O_RDWR | (C.O_NOFOLLOW ?? 0));
    this.syncFh
      .then((h) => h.datasync())
      .then(
        () => this.synced(target, null),
        (e: Error) => {
          this.syncFh = null; // reopened next time
          this.synced(target, e);
        },
      );
  }

  private synced(target: number, err: Error | null): void {
    this.syncing = false;
    this.counters.syncs++;
    if (err) this.lastError = err;
    else if (target > this.saved) this.saved = target;
    if (this.syncAgain) {
      this.syncAgain = false;
      // someone waits (syncNow): at once; else the write made meanwhile waits its interval
      this.requestSync(this.syncWaiters.length > 0);
      if (this.syncing) return;
    }
    const w = this.syncWaiters;
    this.syncWaiters = [];
    for (const r of w) r();
  }

  /** resolves when every write made so far is fdatasync'ed */
  private syncNow(): Promise<void> {
    if (this.fd === null) return Promise.resolve();
    if (!this.dirty && !this.syncing) return Promise.resolve();
    const p = new Promise<void>((r) => this.syncWaiters.push(r));
    // a sync in flight is followed by another if anything was written after it started
    if (!this.syncing) this.requestSync(true);
    return p;
  }
}
