// The EVTX file writer and the Sink around it.
//
// Durability ("write() resolves when durably written"): each batch is appended to the current
// in-memory 64 KiB chunk; when a chunk fills it is written whole. At the end of every batch the
// partial chunk is made durable in place, in an order that keeps the file readable whatever
// the crash point:
//   1. the new record bytes [written, free) are written and fdatasync'd; they lie past the
//      chunk's old free-space offset, so the old chunk header (and its CRCs) stays valid;
//   2. the 512-byte chunk header (new free offset, last record, CRCs) and the 4 KiB file header
//      (chunk count, next record id, dirty flag) are written, then fdatasync'd.
// A crash between 1 and 2 loses only the unacknowledged batch; the journal replays it, and
// records whose EventRecordID is not above the last one written are skipped (idempotent
// replay). On open, an existing file is recovered: complete chunks with a valid header are
// kept, anything after them is cut, and writing continues in a new chunk.
// Rotation: when the next chunk would take the file past maxBytes, the file is closed clean
// and renamed to <stem>.<UTC timestamp>.evtx beside it; a fresh file takes its place.
// Files are opened through src/fs/safe-file.ts: a symlink at the path is refused (never
// followed), a new file is created 0640 with O_EXCL.
import { constants as C } from 'node:fs';
import { lstat, mkdir, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { createNew, openExisting, refuseLink } from '../../src/fs/safe-file.js';
import { basename, dirname, extname, join } from 'node:path';
import type { Identity, SysmonEvent } from '../../src/events/event.js';
import type { Sink } from '../sink.js';
import { Chunk, prepareContext, type RecordMeta, type WriterContext } from './chunk.js';
import { chunkRecords } from './reader.js';
import { eventRecordIdOf } from './record-event.js';
import { CHUNK_HEADER_SIZE, CHUNK_MAGIC, CHUNK_SIZE, FILE_HEADER_SIZE, FILE_MAGIC, FLAG_CLEAN, FLAG_DIRTY, MAX_CHUNKS, chunkHeaderCrc, crc } from './format.js';

export interface EvtxOptions {
  identity: Identity;
  /** rotate before the file would exceed this many bytes; default 64 MiB (Sysmon's channel size) */
  maxBytes?: number;
  /** fdatasync at the end of every batch (default true); false = the OS decides */
  fsync?: boolean;
  /** keep at most this many rotated files beside the live one (default: keep all) */
  maxArchives?: number;
  /** Execution ProcessID/ThreadID; default this process */
  pid?: number;
  tid?: number;
  /** Security UserID; default S-1-5-18 as Windows Sysmon */
  userSid?: string;
  /**
   * A record whose EventRecordID is not above the last one written gets the next number
   * (counted in stats.renumbered) instead of being skipped as a replayed duplicate. For
   * `convert`, whose input is not a journal replay: nothing is dropped.
   */
  renumber?: boolean;
}

export interface EvtxStats {
  events: number;
  /** records whose longest EventData values were cut (each ends with "...[truncated N bytes]") to fit a chunk */
  truncated: number;
  skippedDuplicates: number;
  /** records written under the next number because theirs was not above the last one (renumber) */
  renumbered: number;
  chunks: number;
  rotations: number;
  bytes: number;
}

export function fileHeader(chunkCount: number, nextRecordId: bigint, flags: number): Buffer {
  const h = Buffer.alloc(FILE_HEADER_SIZE);
  FILE_MAGIC.copy(h, 0);
  h.writeBigUInt64LE(0n, 8);
  h.writeBigUInt64LE(BigInt(Math.max(chunkCount - 1, 0)), 16);
  h.writeBigUInt64LE(nextRecordId, 24);
  h.writeUInt32LE(128, 32);
  h.writeUInt16LE(1, 36);
  h.writeUInt16LE(3, 38);
  h.writeUInt16LE(FILE_HEADER_SIZE, 40);
  h.writeUInt16LE(chunkCount, 42);
  h.writeUInt32LE(flags, 120);
  h.writeUInt32LE(crc(h, 0, 120), 124);
  return h;
}

export class EvtxWriter {
  private fh: FileHandle | null = null;
  private chunk: Chunk | null = null;
  /** complete chunks already in the file before the current one */
  private chunkIndex = 0;
  private chunkOnDisk = false;
  /** last System/EventRecordID written (replays at or below it are duplicates) */
  private lastId = 0n;
  /** last record number in the file (record/chunk headers, consecutive; see Chunk.tryAppend) */
  private lastNumber = 0n;
  private readonly ctx: ReturnType<typeof prepareContext>;
  private readonly maxChunks: number;
  private readonly sync: boolean;
  readonly stats: EvtxStats = { events: 0, truncated: 0, skippedDuplicates: 0, renumbered: 0, chunks: 0, rotations: 0, bytes: 0 };

  constructor(
    readonly path: string,
    private readonly opts: EvtxOptions,
  ) {
    const wc: WriterContext = {
      identity: opts.identity,
      pid: opts.pid ?? process.pid,
      tid: opts.tid ?? process.pid,
      userSid: opts.userSid ?? 'S-1-5-18',
    };
    this.ctx = prepareContext(wc);
    const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.maxChunks = Math.min(MAX_CHUNKS, Math.floor((maxBytes - FILE_HEADER_SIZE) / CHUNK_SIZE));
    if (this.maxChunks < 1) throw new Error(`maxBytes ${maxBytes} is below one chunk (${FILE_HEADER_SIZE + CHUNK_SIZE})`);
    this.sync = opts.fsync ?? true;
  }

  /** EventRecordID of the last record in the file (0 when empty) */
  get lastRecordId(): bigint {
    return this.lastId;
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    refuseLink(this.path, 'EVTX file');
    let size = -1;
    try {
      size = (await lstat(this.path)).size;
    } catch {
      /* new file */
    }
    if (size > 0 && (await this.recover(size))) return;
    if (size > 0) await rename(this.path, `${this.path}.corrupt-${stamp()}`);
    await this.create(size === 0);
  }

  /** A new file (O_EXCL), or the empty regular file already at the path (`convert`'s temporary). */
  private async create(emptyExists = false): Promise<void> {
    this.fh = emptyExists ? await openExisting(this.path, 'EVTX file', C.O_RDWR | C.O_TRUNC) : await createNew(this.path, 0o640, 'EVTX file', true);
    this.chunkIndex = 0;
    this.chunk = null;
    await this.fh.write(fileHeader(0, this.lastNumber + 1n, FLAG_DIRTY), 0, FILE_HEADER_SIZE, 0);
    if (this.sync) await this.fh.datasync();
  }

  /** Continue an existing file after its last complete, valid chunk. false = not an EVTX file. */
  private async recover(size: number): Promise<boolean> {
    const fh = await openExisting(this.path, 'EVTX file');
    const h = Buffer.alloc(FILE_HEADER_SIZE);
    await fh.read(h, 0, FILE_HEADER_SIZE, 0);
    if (!h.subarray(0, 8).equals(FILE_MAGIC) || h.readUInt32LE(124) !== crc(h, 0, 120)) {
      await fh.close();
      return false;
    }
    let lastNumber = h.readBigUInt64LE(24) - 1n;
    const avail = Math.floor((size - FILE_HEADER_SIZE) / CHUNK_SIZE);
    const c = Buffer.alloc(CHUNK_HEADER_SIZE);
    let n = 0;
    for (; n < avail; n++) {
      await fh.read(c, 0, CHUNK_HEADER_SIZE, FILE_HEADER_SIZE + n * CHUNK_SIZE);
      if (!c.subarray(0, 8).equals(CHUNK_MAGIC) || c.readUInt32LE(124) !== chunkHeaderCrc(c)) break;
      const last = c.readBigUInt64LE(32);
      if (last > lastNumber) lastNumber = last;
    }
    if (lastNumber < 0n) lastNumber = 0n;
    // the last EventRecordID is in the events (System/EventRecordID), not in the headers
    let lastId = lastNumber;
    if (n > 0) {
      const last = Buffer.alloc(CHUNK_SIZE);
      await fh.read(last, 0, CHUNK_SIZE, FILE_HEADER_SIZE + (n - 1) * CHUNK_SIZE);
      for (const rec of chunkRecords(last, n - 1)) {
        const id = eventRecordIdOf(rec);
        if (id > lastId) lastId = id;
      }
    }
    await fh.truncate(FILE_HEADER_SIZE + n * CHUNK_SIZE);
    this.fh = fh;
    this.lastId = lastId;
    this.lastNumber = lastNumber;
    this.chunkIndex = n;
    this.chunk = null;
    await this.writeFileHeader(n, FLAG_DIRTY);
    if (this.sync) await fh.datasync();
    return true;
  }

  /** `meta[i]`, when given, is what record i claims beyond its event (Computer, Version, provider). */
  async write(batch: readonly SysmonEvent[], meta?: readonly RecordMeta[]): Promise<void> {
    if (!this.fh) throw new Error('EVTX writer is not open');
    for (let i = 0; i < batch.length; i++) {
      const ev = batch[i]!;
      let rid: bigint;
      if (ev.recordId > 0 && BigInt(ev.recordId) > this.lastId) rid = BigInt(ev.recordId);
      else if (ev.recordId > 0 && !this.opts.renumber) {
        this.stats.skippedDuplicates++;
        continue;
      } else {
        if (ev.recordId > 0) this.stats.renumbered++;
        rid = this.lastId + 1n;
      }
      const m = meta?.[i];
      const number = this.lastNumber === 0n ? rid : this.lastNumber + 1n;
      if (!this.chunk) await this.startChunk();
      if (!this.chunk!.tryAppend(ev, rid, m, number)) {
        await this.finishChunk();
        await this.startChunk();
        this.chunk!.tryAppend(ev, rid, m, number);
      }
      this.lastNumber = number;
      this.lastId = rid;
      this.stats.events++;
      if (this.chunk!.lastTruncated > 0) this.stats.truncated++;
    }
    await this.flushPartial();
  }

  private async startChunk(): Promise<void> {
    if (this.chunkIndex >= this.maxChunks) await this.rotate();
    this.chunk = new Chunk(this.ctx);
    this.chunkOnDisk = false;
  }

  private chunkPos(): number {
    return FILE_HEADER_SIZE + this.chunkIndex * CHUNK_SIZE;
  }

  private async finishChunk(): Promise<void> {
    const ch = this.chunk!;
    ch.seal();
    if (this.chunkOnDisk) {
      await this.fh!.write(ch.buf, ch.written, CHUNK_SIZE - ch.written, this.chunkPos() + ch.written);
      if (this.sync) await this.fh!.datasync();
      await this.fh!.write(ch.buf, 0, CHUNK_HEADER_SIZE, this.chunkPos());
    } else {
      await this.fh!.write(ch.buf, 0, CHUNK_SIZE, this.chunkPos());
    }
    this.stats.bytes += ch.free - ch.written;
    this.chunkIndex++;
    this.stats.chunks++;
    this.chunk = null;
    await this.writeFileHeader(this.chunkIndex, FLAG_DIRTY);
    if (this.sync) await this.fh!.datasync();
  }

  private async flushPartial(): Promise<void> {
    const ch = this.chunk;
    if (!ch || ch.count === 0 || ch.free === ch.written) return;
    ch.seal();
    const pos = this.chunkPos();
    if (!this.chunkOnDisk) {
      await this.fh!.write(ch.buf, 0, CHUNK_SIZE, pos);
      this.chunkOnDisk = true;
    } else {
      await this.fh!.write(ch.buf, ch.written, ch.free - ch.written, pos + ch.written);
      if (this.sync) await this.fh!.datasync();
      await this.fh!.write(ch.buf, 0, CHUNK_HEADER_SIZE, pos);
    }
    this.stats.bytes += ch.free - ch.written;
    ch.written = ch.free;
    await this.writeFileHeader(this.chunkIndex + 1, FLAG_DIRTY);
    if (this.sync) await this.fh!.datasync();
  }

  private async writeFileHeader(chunkCount: number, flags: number): Promise<void> {
    await this.fh!.write(fileHeader(chunkCount, this.lastNumber + 1n, flags), 0, 128, 0);
  }

  private async closeFile(): Promise<void> {
    if (!this.fh) return;
    await this.flushPartial();
    const count = this.chunkIndex + (this.chunk && this.chunk.count > 0 ? 1 : 0);
    await this.writeFileHeader(count, FLAG_CLEAN);
    await this.fh.datasync();
    await this.fh.close();
    this.fh = null;
  }

  private async rotate(): Promise<void> {
    await this.closeFile();
    const ext = extname(this.path);
    const stem = this.path.slice(0, this.path.length - ext.length);
    let target = `${stem}.${stamp()}${ext}`;
    for (let i = 1; await exists(target); i++) target = `${stem}.${stamp()}-${i}${ext}`;
    await rename(this.path, target);
    this.stats.rotations++;
    if (this.opts.maxArchives !== undefined) await this.prune(stem, ext);
    await this.create();
  }

  private async prune(stem: string, ext: string): Promise<void> {
    const dir = dirname(this.path);
    const prefix = `${basename(stem)}.`;
    const archives = (await readdir(dir)).filter((f) => f.startsWith(prefix) && f.endsWith(ext) && /^\d{8}T\d{9}Z/.test(f.slice(prefix.length))).sort();
    for (const f of archives.slice(0, Math.max(0, archives.length - this.opts.maxArchives!))) await unlink(join(dir, f));
  }

  async close(): Promise<void> {
    await this.closeFile();
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:.]/g, '');
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

export interface EvtxSink extends Sink {
  readonly stats: EvtxStats;
}

/** The EVTX sink: one live file at `path`, rotated by size (see the header of this file). */
export function createEvtxSink(path: string, opts: EvtxOptions): EvtxSink {
  const w = new EvtxWriter(path, opts);
  return {
    name: 'evtx',
    get stats() {
      return w.stats;
    },
    open: () => w.open(),
    write: (batch) => w.write(batch),
    close: () => w.close(),
  };
}
