// JSONL file sink: append-only, whole lines only, rotation by size and/or time, reopen for
// logrotate, exactly-once across crashes.
//
// - Each batch is one write(2) of whole lines to an O_APPEND fd; write() resolves when the
//   bytes are in the file (optionally after fdatasync). Rotation happens only between batches,
//   so a reader (tail -F, Vector file source, Filebeat) never sees a partial line move.
// - Exactly-once: the journal re-delivers at-least-once after a crash. open() reads the last
//   complete line of the file (or of the newest rotated file when the current one is empty),
//   learns its EventRecordID and write() skips events with recordId <= it. A torn last line
//   (a crash mid-write: no trailing \n) is cut off; its event is re-delivered by the journal.
// - reopen(): close and reopen the path (call it on SIGHUP after logrotate renamed the file);
//   the last EventRecordID is kept in memory.
// - Files are created 0640 with O_NOFOLLOW (a planted symlink is refused); a missing directory
//   is created 0750 and refused if it turns out to be a symlink or not ours.
import { constants as C, promises as fsp, writeSync } from 'node:fs';
import { openAppend, openExisting } from '../../src/fs/safe-file.js';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { SysmonEvent } from '../../src/events/event.js';
import type { Sink } from '../sink.js';
import { recordIdOfLine } from './ecs.js';
import { lineWriter, resolveFileOptions, type JsonlFileOptions, type ResolvedJsonlFileOptions } from './config.js';

export interface JsonlFileSink extends Sink {
  /** close and reopen the path (logrotate's `create`/rename mode, on SIGHUP) */
  reopen(): Promise<void>;
  /** rotate now (for tests and an admin command) */
  rotate(): Promise<void>;
  /** highest EventRecordID known to be in the file set (0 when none) */
  readonly lastRecordId: number;
  /** events/bytes written, duplicates skipped, rotations, torn tails cut */
  readonly stats: { events: number; bytes: number; skipped: number; rotations: number; tornCut: number };
  readonly path: string;
}

const TAIL_CHUNK = 64 * 1024;

/** The last complete line of a file and the offset where any torn tail starts. */
export async function readLastLine(fh: FileHandle, size: number): Promise<{ line: string | null; completeEnd: number }> {
  let buf = Buffer.alloc(0);
  let pos = size;
  while (pos > 0) {
    const len = Math.min(TAIL_CHUNK, pos);
    pos -= len;
    const chunk = Buffer.alloc(len);
    await fh.read(chunk, 0, len, pos);
    buf = Buffer.concat([chunk, buf]);
    const last = buf.lastIndexOf(0x0a);
    if (last < 0) continue;
    const prev = last === 0 ? -1 : buf.lastIndexOf(0x0a, last - 1);
    if (prev >= 0 || pos === 0) {
      return { line: buf.subarray(prev + 1, last).toString('utf8'), completeEnd: pos + last + 1 };
    }
  }
  return { line: null, completeEnd: 0 };
}

function recordIdOf(line: string | null): number {
  return line ? recordIdOfLine(line) : 0;
}

async function ensureDir(dir: string): Promise<void> {
  try {
    const st = await fsp.lstat(dir);
    if (st.isSymbolicLink()) {
      // An existing symlink the admin set up is fine unless its parent is world-writable
      // (someone else could have planted it).
      const parent = await fsp.stat(dirname(dir));
      if ((parent.mode & 0o002) !== 0) throw new Error(`jsonl: refusing symlinked directory ${dir} in a world-writable parent`);
      return;
    }
    if (!st.isDirectory()) throw new Error(`jsonl: ${dir} is not a directory`);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await ensureDir(dirname(dir));
  try {
    await fsp.mkdir(dir, { mode: 0o750 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await fsp.lstat(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  if (st.isSymbolicLink() || !st.isDirectory() || st.uid !== uid) throw new Error(`jsonl: ${dir} was replaced while creating it`);
}

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

export function createJsonlFileSink(path: string, options: JsonlFileOptions = {}): JsonlFileSink {
  const o: ResolvedJsonlFileOptions = resolveFileOptions(options);
  const writeLine = lineWriter(o.format, o.identity);
  // the batch's lines are written into this buffer (grown as needed, reused: writeSync is done
  // with it before the next batch) and go to the file in one write
  let out = Buffer.allocUnsafe(1 << 20);
  let fh: FileHandle | null = null;
  let size = 0;
  let period = -1; // rotateEveryMs interval of the data in the current file (-1: none yet)
  let lastId = 0;
  let chain: Promise<unknown> = Promise.resolve();
  const stats = { events: 0, bytes: 0, skipped: 0, rotations: 0, tornCut: 0 };

  // Serialize write/reopen/rotate/close: the fan-out awaits writes, signals do not.
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = chain.then(fn, fn);
    chain = p.catch(() => undefined);
    return p;
  }

  async function openFile(): Promise<void> {
    await ensureDir(dirname(path));
    const h = await openAppend(path, o.mode, 'JSONL file'); // O_NOFOLLOW, regular files only
    try {
      const st = await h.stat();
      if ((st.mode & 0o777) !== o.mode && st.size === 0) await h.chmod(o.mode); // umask
      size = st.size;
      period = size > 0 && o.rotateEveryMs > 0 ? Math.floor(st.mtimeMs / o.rotateEveryMs) : -1;
    } catch (err) {
      await h.close();
      throw err;
    }
    fh = h;
  }

  /** Read the tail of the current file (or newest rotated one), cut a torn line, learn lastId. */
  async function recover(): Promise<void> {
    const rh = await openExisting(path, 'JSONL file');
    try {
      const st = await rh.stat();
      const { line, completeEnd } = await readLastLine(rh, st.size);
      if (completeEnd < st.size) {
        await rh.truncate(completeEnd);
        stats.tornCut++;
      } // torn tail: cut at the last \n
      size = completeEnd;
      lastId = Math.max(lastId, recordIdOf(line));
    } finally {
      await rh.close();
    }
    if (lastId === 0) {
      const newest = await newestRotated();
      if (newest) {
        const h = await fsp.open(newest, C.O_RDONLY | C.O_NOFOLLOW);
        try {
          const st = await h.stat();
          lastId = recordIdOf((await readLastLine(h, st.size)).line);
        } finally {
          await h.close();
        }
      }
    }
  }

  async function rotatedFiles(): Promise<string[]> {
    const dir = dirname(path);
    const base = basename(path);
    const names = await fsp.readdir(dir);
    if (o.rotateNaming === 'numbered') {
      return names
        .filter((n) => n.startsWith(`${base}.`) && /^\d+$/.test(n.slice(base.length + 1)))
        .sort((a, b) => Number(a.slice(base.length + 1)) - Number(b.slice(base.length + 1)))
        .map((n) => join(dir, n)); // newest first
    }
    return names
      .filter((n) => n.startsWith(`${base}.`) && /^\d{8}T\d{6}Z(-\d+)?$/.test(n.slice(base.length + 1)))
      .sort((a, b) => {
        const [sa, na] = a.slice(base.length + 1).split('-');
        const [sb, nb] = b.slice(base.length + 1).split('-');
        return sa! < sb! ? 1 : sa! > sb! ? -1 : Number(nb ?? 0) - Number(na ?? 0);
      })
      .map((n) => join(dir, n)); // newest first
  }

  async function newestRotated(): Promise<string | undefined> {
    return (await rotatedFiles())[0];
  }

  async function doRotate(): Promise<void> {
    if (fh) {
      await fh.close();
      fh = null;
    }
    if (size > 0 || (await exists(path))) {
      if (o.rotateNaming === 'numbered') {
        const files = await rotatedFiles();
        for (const f of files.slice().reverse()) {
          const n = Number(f.slice(path.length + 1));
          if (n >= o.maxFiles) await fsp.rm(f, { force: true });
          else await fsp.rename(f, `${path}.${n + 1}`);
        }
        await fsp.rename(path, `${path}.1`);
      } else {
        let target = `${path}.${stamp(o.now())}`;
        for (let i = 1; await exists(target); i++) target = `${path}.${stamp(o.now())}-${i}`;
        await fsp.rename(path, target);
        const files = await rotatedFiles();
        for (const f of files.slice(o.maxFiles)) await fsp.rm(f, { force: true });
      }
      stats.rotations++;
    }
    await openFile();
  }

  async function doWrite(batch: readonly SysmonEvent[]): Promise<void> {
    if (!fh) throw new Error('jsonl: sink is not open');
    let len = 0;
    let maxId = lastId;
    let n = 0;
    for (const ev of batch) {
      if (o.dedupe && ev.recordId > 0 && ev.recordId <= lastId) {
        stats.skipped++;
        continue;
      }
      let end = writeLine(ev, out, len);
      while (end < 0) {
        const nb = Buffer.allocUnsafe(out.length * 2);
        out.copy(nb, 0, 0, len);
        out = nb;
        end = writeLine(ev, out, len);
      }
      len = end;
      n++;
      if (ev.recordId > maxId) maxId = ev.recordId;
    }
    if (len === 0) return;
    const buf = out.subarray(0, len);
    const now = o.now();
    const cur = o.rotateEveryMs > 0 ? Math.floor(now / o.rotateEveryMs) : -1;
    if (size > 0 && ((o.maxBytes > 0 && size + buf.length > o.maxBytes) || (o.rotateEveryMs > 0 && period !== cur))) {
      await doRotate();
    }
    let off = 0;
    while (off < buf.length) {
      // synchronous (O_APPEND, page cache): cheaper than a thread-pool round trip per batch
      const bytesWritten = writeSync(fh!.fd, buf, off, buf.length - off);
      off += bytesWritten;
    }
    if (o.fsync) await fh!.datasync();
    size += buf.length;
    period = cur;
    lastId = maxId;
    stats.events += n;
    stats.bytes += buf.length;
  }

  return {
    name: options.name ?? `jsonl:${path}`,
    path,
    stats,
    get lastRecordId() {
      return lastId;
    },
    open: () =>
      serial(async () => {
        await openFile();
        await recover();
      }),
    write: (batch) => serial(() => doWrite(batch)),
    reopen: () =>
      serial(async () => {
        if (fh) {
          await fh.close();
          fh = null;
        }
        await openFile();
      }),
    rotate: () => serial(doRotate),
    close: () =>
      serial(async () => {
        if (fh) {
          await fh.close();
          fh = null;
        }
      }),
  };
}

/**
 * Reopen the given file sinks on SIGHUP (logrotate's postrotate `kill -HUP`). Returns a function
 * that removes the handler. Errors are passed to onError (the pipeline reports them as event 255).
 */
export function reopenOnSighup(sinks: readonly JsonlFileSink[], onError: (err: Error, sink: JsonlFileSink) => void = () => {}): () => void {
  const handler = () => {
    for (const s of sinks) s.reopen().catch((err: Error) => onError(err, s));
  };
  process.on('SIGHUP', handler);
  return () => {
    process.off('SIGHUP', handler);
  };
}
