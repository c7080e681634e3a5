// The append-only, segmented, checksummed event journal. Every accepted event gets the next
// EventRecordID here and is written before any sink sees it (see README.md for guarantees).
import { EventEmitter } from 'node:events';
import { writeSync, writevSync } from 'node:fs';
import { lstat, mkdir, open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { SafeFileError, createNew, openExisting } from '../fs/safe-file.js';
import { join } from 'node:path';
import type { SysmonEvent } from '../events/event.js';
import { EncodedEvent, encodeEvent } from '../events/encoded.js';
import { newRunEpoch } from '../events/data-writer.js';
import { readAllCursors } from './cursor.js';
import {
  RECORD_HEADER,
  RecordScanner,
  SEGMENT_HEADER,
  decodeSegmentHeader,
  encodeSegmentHeader,
  eventRecordMaxBytes,
  parseSegmentName,
  segmentName,
  writeDataRecord,
  writeEventRecord,
} from './format.js';
import { TailBuffer } from './tail.js';
import { acquireDirLock, type DirLock } from '../fs/lock.js';

/** the batch room an event's record is first written into (larger ones take the sized path) */
const DIRECT_ROOM = 16 * 1024;

export type FsyncPolicy = 'group' | 'always' | 'never';

export interface RetentionOptions {
  /** delete oldest segments while the journal is bigger than this (default 1 GiB; 0 = no limit) */
  maxBytes?: number;
  /** delete segments whose last record is older than this (default 7 days; 0 = no limit) */
  maxAgeMs?: number;
}

export interface JournalOptions {
  dir: string;
  /**
   * 'group' (default): records are written at once (visible to sinks, safe against a process
   * crash) and fdatasync'ed every groupCommitMs, on segment roll and on close.
   * 'always': each write batch is fdatasync'ed before sinks see it (group commit of whatever
   * accumulated meanwhile). 'never': the OS decides when the data reaches the disk.
   */
  fsync?: FsyncPolicy;
  groupCommitMs?: number;
  /** roll to a new segment when the current one would exceed this (default 64 MiB) */
  segmentBytes?: number;
  retention?: RetentionOptions;
  /** how often age-based retention is checked (default 60 s); size is also checked on roll */
  retentionCheckMs?: number;
  /**
   * in-memory tail for sinks that keep up (defaults: 32768 events, 8 MiB encoded; the events it
   * holds take ~2-2.5x their encoded size of heap: the data object and the text)
   */
  tailMaxEvents?: number;
  tailMaxBytes?: number;
  /** append() returns false while more than this many bytes wait to be written (default 32 MiB) */
  highWaterBytes?: number;
  /**
   * how long open() waits for another process's lock on the directory before failing (default
   * 3000 ms: a holder killed with -9 releases it only once the kernel has closed its files)
   */
  lockWaitMs?: number;
  /** called on write/fsync errors (the journal retries with backoff) and on retention deletes */
  onError?: (err: Error) => void;
}

/** A period during which the journal could not write ('writes-resumed' event, reported as event 255). */
export interface WriteOutage {
  sinceMs: number;
  untilMs: number;
  /** errno code of the first failure (ENOSPC for a full disk) */
  code: string;
  failedAttempts: number;
  /** delivered segments deleted to make room meanwhile */
  reclaimedSegments: number;
}

export interface SegmentInfo {
  readonly baseId: number;
  readonly path: string;
  /** bytes readable by sinks (header + published records) */
  size: number;
  lastWriteMs: number;
  /** no more records will be added */
  sealed: boolean;
}

export interface RecoveryCut {
  segment: string;
  offset: number;
  bytes: number;
  reason: 'torn' | 'length' | 'checksum' | 'order' | 'bad-header';
}

export interface RecoveryReport {
  /** total bytes removed from the journal's tail */
  cutBytes: number;
  cuts: RecoveryCut[];
  lastGoodId: number;
  nextId: number;
}

export interface JournalStats {
  dir: string;
  fsync: FsyncPolicy;
  bytes: number;
  segments: number;
  /** oldest retained record id (0 if the journal is empty) */
  firstId: number;
  /** last assigned record id */
  lastId: number;
  /** last record sinks may see */
  visibleId: number;
  /** last record known to be fdatasync'ed */
  durableId: number;
  appended: number;
  pendingBytes: number;
  fsyncs: number;
  writeErrors: number;
  lastError: string | null;
  /** since when writes fail (a full disk...), null when they do not */
  writeOutageSinceMs: number | null;
  /** segments deleted to make room on a full disk (all already acknowledged by every sink) */
  reclaimedSegments: number;
  deletedSegments: number;
  tailEvents: number;
  tailBytes: number;
}

interface DataOp {
  kind: 'data';
  buf: Buffer;
  /** what sinks get: the events as encoded at append */
  events: EncodedEvent[];
  sizes: number[];
  lastId: number;
}
interface RollOp {
  kind: 'roll';
  baseId: number;
}
type Op = DataOp | RollOp;

/**
 * A new segment file, O_EXCL and not through a link (src/fs/safe-file.ts). A file already at
 * the name can only be one this process began and could not finish (no space for its header):
 * that one is replaced; anything else is refused.
 */
async function createSegmentFile(path: string): Promise<FileHandle> {
  try {
    return await createNew(path, 0o640, 'journal segment', true);
  } catch (e) {
    if (!(e instanceof SafeFileError) || e.code !== 'EEXIST') throw e;
    const st = await lstat(path);
    if (!st.isFile() || st.size > SEGMENT_HEADER) throw e;
    await unlink(path);
    return createNew(path, 0o640, 'journal segment', true);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  // Windows cannot flush a directory (FlushFileBuffers on a directory handle opened for reading
  // fails: EPERM, seen under Wine); NTFS journals its metadata, so renames survive without it
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class Journal extends EventEmitter {
  readonly dir: string;
  readonly policy: FsyncPolicy;
  readonly tail: TailBuffer;
  /** what recovery cut on open (null: the journal was clean); the pipeline reports it as event 255 */
  recovery: RecoveryReport | null = null;

  private readonly opts: Required<Omit<JournalOptions, 'retention' | 'onError' | 'lockWaitMs'>> & { retention: Required<RetentionOptions> };
  private readonly onError: ((err: Error) => void) | undefined;
  private segs: SegmentInfo[] = [];
  private fh: FileHandle | null = null;
  private writePos = 0;
  /** size of the active segment counting records not yet written (decides rolls) */
  private logicalSize = 0;
  private nextId = 1;
  private writtenId = 0;
  private _visibleId = 0;
  private _durableId = 0;
  private ops: Op[] = [];
  private fill: (DataOp & { len: number }) | null = null;
  private pendingBytes = 0;
  private pumping: Promise<void> | null = null;
  private syncRequested = false;
  private timers: NodeJS.Timeout[] = [];
  private closing = false;
  private closed = false;
  private waiters: { target: number; durable: boolean; resolve: () => void }[] = [];
  private publishWaiters: (() => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private counters = { appended: 0, fsyncs: 0, writeErrors: 0, deletedSegments: 0, reclaimedSegments: 0 };
  private lastError: string | null = null;
  private retaining = false;
  private lock: DirLock | null = null;

  private constructor(opts: JournalOptions) {
    super();
    this.dir = opts.dir;
    this.policy = opts.fsync ?? 'group';
    this.onError = opts.onError;
    this.opts = {
      dir: opts.dir,
      fsync: this.policy,
      groupCommitMs: opts.groupCommitMs ?? 200,
      segmentBytes: opts.segmentBytes ?? 64 * 1024 * 1024,
      retention: {
        maxBytes: opts.retention?.maxBytes ?? 1024 * 1024 * 1024,
        maxAgeMs: opts.retention?.maxAgeMs ?? 7 * 24 * 3600 * 1000,
      },
      retentionCheckMs: opts.retentionCheckMs ?? 60_000,
      tailMaxEvents: opts.tailMaxEvents ?? 32768,
      tailMaxBytes: opts.tailMaxBytes ?? 8 * 1024 * 1024,
      highWaterBytes: opts.highWaterBytes ?? 32 * 1024 * 1024,
    };
    this.tail = new TailBuffer(this.opts.tailMaxEvents, this.opts.tailMaxBytes);
  }

  /** Opens (creating if needed) the journal in opts.dir, recovering a torn or corrupted tail. */
  static async open(opts: JournalOptions): Promise<Journal> {
    const j = new Journal(opts);
    await mkdir(j.dir, { recursive: true });
    // a lock the kernel drops when this process dies (src/fs/lock.ts): no stale pid file
    j.lock = await acquireDirLock(j.dir, opts.lockWaitMs ?? 3000);
    try {
      await j.recover();
    } catch (e) {
      j.lock.release();
      throw e;
    }
    if (j.policy === 'group') {
      j.timers.push(
        setInterval(() => {
          if (j.writtenId > j._durableId) {
            j.syncRequested = true;
            j.kick();
          }
        }, j.opts.groupCommitMs).unref(),
      );
    }
    j.timers.push(
      setInterval(() => {
        void j.enforceRetention();
      }, j.opts.retentionCheckMs).unref(),
    );
    void j.enforceRetention();
    return j;
  }

  private async recover(): Promise<void> {
    const names = (await readdir(this.dir))
      .map((n) => ({ n, id: parseSegmentName(n) }))
      .filter((x): x is { n: string; id: number } => x.id !== null)
      .sort((a, b) => a.id - b.id);
    for (const { n, id } of names) {
      const st = await stat(join(this.dir, n));
      this.segs.push({ baseId: id, path: join(this.dir, n), size: st.size, lastWriteMs: st.mtimeMs, sealed: true });
    }
    const cuts: RecoveryCut[] = [];
    let floor = 0;
    let lastGood = 0;
    while (this.segs.length) {
      const seg = this.segs[this.segs.length - 1]!;
      const name = segmentName(seg.baseId);
      floor = Math.max(floor, seg.baseId - 1);
      const fh = await openExisting(seg.path, 'journal segment');
      const head = Buffer.alloc(SEGMENT_HEADER);
      const { bytesRead } = await fh.read(head, 0, SEGMENT_HEADER, 0);
      const h = bytesRead === SEGMENT_HEADER ? decodeSegmentHeader(head) : null;
      let goodEnd = SEGMENT_HEADER;
      let count = 0;
      if (!h || h.baseId !== seg.baseId) {
        cuts.push({ segment: name, offset: 0, bytes: seg.size, reason: 'bad-header' });
        goodEnd = 0;
      } else {
        const sc = new RecordScanner(fh, SEGMENT_HEADER, () => seg.size, seg.baseId - 1);
        for (;;) {
          const r = await sc.next();
          if (r.kind === 'record') {
            lastGood = r.id;
            goodEnd = r.end;
            count++;
            continue;
          }
          if (r.kind === 'bad') cuts.push({ segment: name, offset: r.offset, bytes: seg.size - r.offset, reason: r.reason });
          break;
        }
      }
      if (count === 0) {
        // nothing usable in it: drop the file and look at the previous segment
        await fh.close();
        await unlink(seg.path);
        this.segs.pop();
        lastGood = 0;
        continue;
      }
      if (goodEnd < seg.size) {
        await fh.truncate(goodEnd);
        await fh.datasync();
      }
      seg.size = goodEnd;
      seg.sealed = false;
      this.fh = fh;
      this.writePos = goodEnd;
      this.logicalSize = goodEnd;
      break;
    }
    // never reuse an id a sink may already have acknowledged (records written but lost in a
    // power failure before their fsync): continue after the highest cursor too.
    for (const c of await readAllCursors(this.dir)) floor = Math.max(floor, c.acked);
    this.nextId = Math.max(lastGood, floor) + 1;
    this.writtenId = this._visibleId = this._durableId = this.nextId - 1;
    if (!this.fh) {
      await this.createSegment(this.nextId);
      this.logicalSize = SEGMENT_HEADER;
    }
    if (cuts.length) {
      this.recovery = { cutBytes: cuts.reduce((s, c) => s + c.bytes, 0), cuts, lastGoodId: lastGood, nextId: this.nextId };
      if (this.policy !== 'never') await fsyncDir(this.dir);
    }
  }

  /**
   * Creates the segment starting at `baseId` and makes it the active one. `durableNow` (at open):
   * its header and directory entry are synced before it is used; at a roll they are synced by the
   * next doSync, before any record of the new segment counts as durable.
   */
  private async createSegment(baseId: number, durableNow = true): Promise<void> {
    const path = join(this.dir, segmentName(baseId));
    const fh = await createSegmentFile(path);
    await fh.write(encodeSegmentHeader(baseId, Date.now()), 0, SEGMENT_HEADER, 0);
    if (this.policy !== 'never') {
      if (durableNow) {
        await fh.datasync();
        await fsyncDir(this.dir);
      } else this.dirSyncPending = true;
    }
    this.fh = fh;
    this.writePos = SEGMENT_HEADER;
    this.segs.push({ baseId, path, size: SEGMENT_HEADER, lastWriteMs: Date.now(), sealed: false });
  }

  // ---- reading the state ----
  /** last assigned EventRecordID */
  get lastId(): number {
    return this.nextId - 1;
  }
  /** last record published to sinks (written; fdatasync'ed too under 'always') */
  get visibleId(): number {
    return this._visibleId;
  }
  /** last record known to be on stable storage */
  get durableId(): number {
    return this._durableId;
  }
  /** oldest retained record id */
  get firstId(): number {
    return this.segs.length ? this.segs[0]!.baseId : this.nextId;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  segments(): readonly SegmentInfo[] {
    return this.segs;
  }

  /** resolves at the next publish (or close) */
  published(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((r) => this.publishWaiters.push(r));
  }

  // ---- appending ----
  /**
   * Assigns the next EventRecordIDs to `events` (mutating ev.recordId), encodes them (their data
   * is stringified once and frozen; sinks get the EncodedEvents) and queues them for writing.
   * Returns false when more than highWaterBytes wait to be written: the caller should
   * `await drain()` before appending more.
   */
  append(events: readonly SysmonEvent[]): boolean {
    if (this.closing) throw new Error('journal is closed');
    const maxSeg = this.opts.segmentBytes;
    let added = 0;
    for (const ev of events) {
      const id = this.nextId;
      // most events: EventData written from the data object into the batch (no JSON string);
      // one that does not fit the batch's room, or has a value only JSON.stringify writes, and an
      // event encoded already (a replay) take encodeEvent + writeEventRecord
      let f = this.ensureFill(DIRECT_ROOM);
      let at = f.len;
      let enc = ev instanceof EncodedEvent ? null : writeDataRecord(f.buf, at, f.buf.length, id, ev, this.fillEpoch);
      let n: number;
      if (enc !== null) {
        n = RECORD_HEADER + f.buf.readUInt32LE(at);
      } else {
        enc = encodeEvent(ev);
        f = this.ensureFill(eventRecordMaxBytes(enc));
        at = f.len;
        n = writeEventRecord(f.buf, at, id, enc);
      }
      if (this.logicalSize + n > maxSeg && this.logicalSize > SEGMENT_HEADER) {
        const rec = Buffer.from(f.buf.subarray(at, at + n));
        this.sealFill();
        this.ops.push({ kind: 'roll', baseId: id });
        this.logicalSize = SEGMENT_HEADER;
        f = this.ensureFill(n);
        rec.copy(f.buf, f.len);
        enc.move(f.buf, f.len - at);
      }
      ev.recordId = id;
      enc.recordId = id;
      this.nextId = id + 1;
      f.len += n;
      f.events.push(enc);
      f.sizes.push(n);
      f.lastId = id;
      this.logicalSize += n;
      added += n;
    }
    this.counters.appended += events.length;
    this.pendingBytes += added;
    this.kick();
    return this.pendingBytes < this.opts.highWaterBytes;
  }

  /**
   * Records are written into one reused scratch buffer; sealFill copies each batch out into a
   * buffer of its exact size, which its events then point into (EncodedEvent.attach) for as
   * long as the in-memory tail holds them: a 256 KiB buffer per batch would be kept alive by a
   * few small events.
   */
  private scratch: Buffer = Buffer.allocUnsafe(256 * 1024);

  /**
   * The writer's epoch for the fill (data-writer.ts newRunEpoch): a new one whenever a fill
   * starts over in the scratch buffer, so that the writer only copies bytes written earlier in
   * this fill, at the offsets it saw them (a fill moved to a bigger buffer is another buffer:
   * the writer checks that too).
   */
  private fillEpoch = newRunEpoch();

  private ensureFill(need: number): DataOp & { len: number } {
    let f = this.fill;
    if (!f) {
      this.fillEpoch = newRunEpoch();
      if (this.scratch.length < need) this.scratch = Buffer.allocUnsafe(need);
      f = this.fill = { kind: 'data', buf: this.scratch, len: 0, events: [], sizes: [], lastId: 0 };
    } else if (f.buf.length - f.len < need) {
      const nb = Buffer.allocUnsafe(Math.max(f.buf.length * 2, f.len + need));
      f.buf.copy(nb, 0, 0, f.len);
      f.buf = this.scratch = nb;
      for (const e of f.events) e.move(nb, 0);
    }
    return f;
  }

  private sealFill(): void {
    const f = this.fill;
    if (f && f.len > 0) {
      const buf = Buffer.allocUnsafe(f.len);
      f.buf.copy(buf, 0, 0, f.len);
      for (const e of f.events) e.move(buf, 0);
      this.ops.push({ kind: 'data', buf, events: f.events, sizes: f.sizes, lastId: f.lastId });
      this.fill = null;
    }
  }

  /** resolves when everything appended so far is visible to sinks (and durable under 'always') */
  flush(): Promise<void> {
    return this.waitFor(this.lastId, false);
  }

  /** resolves when everything appended so far is fdatasync'ed (whatever the policy) */
  sync(): Promise<void> {
    this.syncRequested = true;
    const p = this.waitFor(this.lastId, true);
    this.kick();
    return p;
  }

  /** resolves when the write backlog is below highWaterBytes */
  drain(): Promise<void> {
    if (this.pendingBytes < this.opts.highWaterBytes || this.closed) return Promise.resolve();
    return new Promise((r) => this.drainWaiters.push(r));
  }

  private waitFor(target: number, durable: boolean): Promise<void> {
    if ((durable ? this._durableId : this._visibleId) >= target) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('journal is closed'));
    return new Promise((resolve) => this.waiters.push({ target, durable, resolve }));
  }

  private settleWaiters(): void {
    if (!this.waiters.length) return;
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if ((w.durable ? this._durableId : this._visibleId) >= w.target) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  private kick(): void {
    if (this.pumping || this.closed) return;
    this.pumping = this.pump()
      .catch(async (e: Error) => {
        // e.g. a new segment could not be created: keep everything queued and try again
        if (!(await this.writeFailed(e))) await new Promise<void>((r) => setTimeout(r, 1000));
      })
      .finally(() => {
        this.pumping = null;
        if (this.ops.length || this.fill?.len || (this.syncRequested && !this.syncing)) this.kick();
      });
  }

  private async pump(): Promise<void> {
    for (;;) {
      this.sealFill();
      const batch: DataOp[] = [];
      while (this.ops.length && this.ops[0]!.kind === 'data') batch.push(this.ops.shift() as DataOp);
      if (batch.length) {
        await this.writeBatch(batch);
        // Only 'always' promises durability before visibility. Under 'group' the written records
        // are published first and the group commit's fdatasync follows: publishing after it held
        // every batch appended during the fsync (ms to 100s of ms) back from the sinks, and the
        // in-memory tail then dropped them before the sinks came, so they were read from disk.
        if (this.policy === 'always') await this.doSync();
        const now = Date.now();
        const seg = this.segs[this.segs.length - 1]!;
        seg.size = this.writePos;
        seg.lastWriteMs = now;
        for (const op of batch) this.tail.push(op.events, op.sizes);
        this._visibleId = this.writtenId;
        this.settleWaiters();
        const pw = this.publishWaiters;
        this.publishWaiters = [];
        for (const r of pw) r();
        continue;
      }
      const op = this.ops[0];
      if (op && op.kind === 'roll') {
        await this.roll(op.baseId);
        this.ops.shift();
        continue;
      }
      if (this.syncRequested) this.startSync();
      break;
    }
  }

  /**
   * The group commit's fdatasync runs beside the pump, not in it: records appended while the
   * disk flushes are written and published meanwhile (a write to the page cache does not wait
   * for an fdatasync of the same file), and the sync makes durable what was written when it began.
   */
  private startSync(): void {
    if (this.syncing) return;
    this.syncing = this.doSync().finally(() => {
      this.syncing = null;
      if (this.syncRequested) this.kick();
    });
  }

  private syncing: Promise<void> | null = null;

  /** writes the batches' bytes from offset `off` of their concatenation (a retry, a short writev); returns the bytes written */
  private writeFrom(batch: DataOp[], off: number): number {
    let skip = off;
    for (const b of batch) {
      if (skip >= b.buf.length) {
        skip -= b.buf.length;
        continue;
      }
      return writeSync(this.fh!.fd, b.buf, skip, b.buf.length - skip, this.writePos + off);
    }
    return 0;
  }

  private async writeBatch(batch: DataOp[]): Promise<void> {
    let total = 0;
    for (const b of batch) total += b.buf.length;
    let off = 0;
    let delay = 10;
    while (off < total) {
      try {
        // synchronous: a page-cache write costs less CPU than a promise round trip through the
        // thread pool (~33 vs ~54 us per 100 KB here, 7 vs 32 us per 4 KB); fdatasync stays async.
        // Several batches go in one writev(2) (they were concatenated into a new buffer: a copy
        // of every byte, 3% of the replay's main thread)
        off +=
          off === 0 && batch.length > 1
            ? writevSync(
                this.fh!.fd,
                batch.map((b) => b.buf),
                this.writePos,
              )
            : this.writeFrom(batch, off);
      } catch (e) {
        if (await this.writeFailed(e as Error)) continue; // space freed: retry at once
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
    this.writeSucceeded();
    this.writePos += total;
    this.writtenId = batch[batch.length - 1]!.lastId;
    this.pendingBytes -= total;
    if (this.pendingBytes < this.opts.highWaterBytes && this.drainWaiters.length) {
      const dw = this.drainWaiters;
      this.drainWaiters = [];
      for (const r of dw) r();
    }
  }

  /**
   * Makes everything written so far durable: the sealed segments not synced yet (their records
   * come first), the directory (a new segment's entry), then the active segment. Calls are
   * serialized (a group commit and an inline 'always' sync may meet), so durableId only passes a
   * roll once the segment before it is on disk.
   */
  private doSync(): Promise<void> {
    const p = this.syncChain.then(() => this.syncOnce());
    this.syncChain = p.catch(() => undefined);
    return p;
  }

  private syncChain: Promise<void> = Promise.resolve();

  private async syncOnce(): Promise<void> {
    this.syncRequested = false;
    const target = this.writtenId;
    if (target <= this._durableId && this.sealing.length === 0 && !this.dirSyncPending) {
      this.settleWaiters();
      return;
    }
    // what this sync covers, taken now: a roll meanwhile adds to the list for the next one
    const sealed = this.sealing;
    this.sealing = [];
    const dir = this.dirSyncPending;
    this.dirSyncPending = false;
    const active = this.fh;
    for (const fh of sealed) {
      await this.retrying(() => fh.datasync());
      await fh.close().catch((e: Error) => this.onError?.(e));
    }
    if (dir) await this.retrying(() => fsyncDir(this.dir));
    if (active) await this.retrying(() => active.datasync());
    this.counters.fsyncs++;
    // (an inline sync under 'always' and a group commit may overlap: never move backwards)
    if (target > this._durableId) this._durableId = target;
    this.settleWaiters();
    this.emit('durable', target);
  }

  /** runs `io` until it succeeds, reporting failures and backing off (a full disk, EIO) */
  private async retrying(io: () => Promise<void>): Promise<void> {
    let delay = 10;
    for (;;) {
      try {
        await io();
        return;
      } catch (e) {
        await this.writeFailed(e as Error);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  /** sealed segments written but not yet fdatasync'ed (and not closed): the next doSync's */
  private sealing: FileHandle[] = [];
  /** a segment was created since the last directory sync */
  private dirSyncPending = false;

  /**
   * Seals the active segment and starts the next one without waiting for the disk: the old
   * segment's fdatasync and the new one's directory sync run in the next doSync, beside the pump
   * (group commit) or before the next publish ('always'). Waiting for them here held every
   * record appended meanwhile back from the sinks for 0.5-0.7 s per 64 MiB roll.
   */
  private async roll(baseId: number): Promise<void> {
    if (this.fh) {
      // (null when a previous attempt closed it and then failed to create the next)
      const seg = this.segs[this.segs.length - 1]!;
      seg.size = this.writePos;
      seg.sealed = true;
      const old = this.fh;
      this.fh = null;
      if (this.policy === 'never') await old.close();
      else this.sealing.push(old);
    }
    try {
      await this.createSegment(baseId, false);
    } catch (e) {
      // (a full disk): the sealed segments are synced and closed before the caller reclaims
      // space, which an unlinked but still open file would not give back
      if (this.sealing.length) await this.doSync();
      throw e;
    }
    this.writeSucceeded();
    // started once the new segment exists: the pump goes on writing and publishing into it
    if (this.policy !== 'never') {
      this.syncRequested = true;
      this.startSync();
    }
    // (no I/O unless a segment is due for deletion; a caller that just flushed sees it done)
    await this.enforceRetention();
  }

  // ---- write errors (a full disk above all) ----
  /**
   * Counts and reports a failed write/fsync/segment creation; the caller retries with backoff,
   * keeping everything queued (append() returns false once highWaterBytes wait). The first error
   * of an outage is passed to onError, repeats at most every 10 s. When the file system is full
   * (ENOSPC, EDQUOT) the oldest segments every sink's cursor file has passed are deleted to make
   * room: returns true when that freed some (retry at once).
   */
  private async writeFailed(e: Error): Promise<boolean> {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    const now = Date.now();
    this.counters.writeErrors++;
    this.lastError = String(e.message);
    if (!this.outage) {
      this.outage = { sinceMs: now, code, errors: 0, reportedMs: now };
      this.onError?.(e);
    } else if (now - this.outage.reportedMs >= 10_000) {
      this.outage.reportedMs = now;
      this.onError?.(e);
    }
    this.outage.errors++;
    if (code !== 'ENOSPC' && code !== 'EDQUOT') return false;
    return (await this.reclaimDelivered()) > 0;
  }

  /** a write went through: ends an outage ('writes-resumed' tells the agent, which reports it as event 255) */
  private writeSucceeded(): void {
    const o = this.outage;
    if (!o) return;
    this.outage = null;
    const info: WriteOutage = {
      sinceMs: o.sinceMs,
      untilMs: Date.now(),
      code: o.code,
      failedAttempts: o.errors,
      reclaimedSegments: this.counters.reclaimedSegments - (o.reclaimedAtStart ?? 0),
    };
    this.emit('writes-resumed', info);
  }

  private outage: { sinceMs: number; code: string; errors: number; reportedMs: number; reclaimedAtStart?: number } | null = null;

  /**
   * Deletes the oldest sealed segment whose records every sink has acknowledged, judged by the
   * cursor files on disk (never the newer in-memory positions: after a crash the files are
   * what counts). Nothing is deleted when there is no cursor. Returns how many were deleted.
   */
  private async reclaimDelivered(): Promise<number> {
    if (this.retaining || this.closed || this.segs.length < 2 || !this.segs[0]!.sealed) return 0;
    let cursors: { acked: number }[];
    try {
      cursors = await readAllCursors(this.dir);
    } catch {
      return 0;
    }
    if (cursors.length === 0) return 0;
    const floor = Math.min(...cursors.map((c) => c.acked));
    if (this.segs[1]!.baseId - 1 > floor) return 0;
    if (this.outage && this.outage.reclaimedAtStart === undefined) this.outage.reclaimedAtStart = this.counters.reclaimedSegments;
    const s = this.segs.shift()!;
    this.counters.deletedSegments++;
    this.counters.reclaimedSegments++;
    try {
      await unlink(s.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError?.(err as Error);
    }
    this.emit('retention', { deleted: 1, firstId: this.firstId, reason: 'disk-full' });
    return 1;
  }

  // ---- retention ----
  /** deletes the oldest sealed segments beyond the size/age limits; returns how many */
  async enforceRetention(now = Date.now()): Promise<number> {
    if (this.retaining || this.closed) return 0;
    this.retaining = true;
    let deleted = 0;
    try {
      const { maxBytes, maxAgeMs } = this.opts.retention;
      let total = this.segs.reduce((s, x) => s + x.size, 0);
      while (this.segs.length > 1 && this.segs[0]!.sealed) {
        const s = this.segs[0]!;
        const tooBig = maxBytes > 0 && total > maxBytes;
        const tooOld = maxAgeMs > 0 && now - s.lastWriteMs > maxAgeMs;
        if (!tooBig && !tooOld) break;
        this.segs.shift();
        total -= s.size;
        deleted++;
        this.counters.deletedSegments++;
        try {
          await unlink(s.path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.onError?.(e as Error);
        }
      }
      if (deleted) this.emit('retention', { deleted, firstId: this.firstId });
    } finally {
      this.retaining = false;
    }
    return deleted;
  }

  stats(): JournalStats {
    return {
      dir: this.dir,
      fsync: this.policy,
      bytes: this.segs.reduce((s, x) => s + x.size, 0),
      segments: this.segs.length,
      firstId: this._visibleId >= this.firstId ? this.firstId : 0,
      lastId: this.lastId,
      visibleId: this._visibleId,
      durableId: this._durableId,
      appended: this.counters.appended,
      pendingBytes: this.pendingBytes,
      fsyncs: this.counters.fsyncs,
      writeErrors: this.counters.writeErrors,
      lastError: this.lastError,
      writeOutageSinceMs: this.outage?.sinceMs ?? null,
      reclaimedSegments: this.counters.reclaimedSegments,
      deletedSegments: this.counters.deletedSegments,
      tailEvents: this.tail.length,
      tailBytes: this.tail.byteSize,
    };
  }

  /** Writes and (unless policy 'never') fdatasyncs everything appended, then closes the files. */
  async close(): Promise<void> {
    if (this.closing) return this.closingP!;
    this.closing = true;
    this.closingP = this.doClose();
    return this.closingP;
  }

  private closingP: Promise<void> | null = null;

  private async doClose(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.kick();
    while (this.pumping) await this.pumping;
    while (this.syncing) await this.syncing;
    if (this.policy !== 'never') await this.doSync();
    await this.fh?.close();
    this.fh = null;
    this.closed = true;
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
    for (const r of this.publishWaiters) r();
    this.publishWaiters = [];
    for (const r of this.drainWaiters) r();
    this.drainWaiters = [];
    this.lock?.release();
    this.lock = null;
  }
}
