// The Hashes service: file hashes in Sysmon's format ("SHA1=…,MD5=…,SHA256=…,IMPHASH=…",
// the algorithms the config's HashAlgorithms names, always in that order, lowercase hex as
// Sysmon for Linux writes them; IMPHASH, a PE import hash, has no entry on Linux).
//
// Reading and hashing run on worker threads, never on the main thread. Results are cached by
// (st_dev, st_ino, size, mtime ns): a file that changes gets a new key. Every request is
// bounded: files larger than maxBytes and requests that take longer than timeoutMs (queue
// wait included) resolve to "-", a stuck worker is replaced, and a request never rejects.
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

export const HASH_ORDER = ['SHA1', 'MD5', 'SHA256', 'IMPHASH'] as const;
export type HashAlgorithm = (typeof HASH_ORDER)[number];

export interface HashOptions {
  /** files larger than this are not hashed ("-") */
  maxBytes?: number;
  /** a request that has not finished after this long resolves to "-" */
  timeoutMs?: number;
  /** cached results (LRU) */
  cacheEntries?: number;
  workers?: number;
  /**
   * a worker idle this long is stopped (a new one starts for the next file): each holds its own
   * V8 isolate, ~10 MB of RSS, and hashing comes in bursts (a cached inode is not hashed again)
   */
  idleWorkerMs?: number;
  /** requests waiting beyond this many resolve to "-" at once (overload) */
  maxQueue?: number;
}

export interface FileKey {
  dev: bigint | number;
  ino: bigint | number;
  size: bigint | number;
  mtimeNs: bigint | number;
}

const DASH = Promise.resolve('-');

export function fileKey(k: FileKey): string {
  return `${k.dev}:${k.ino}:${k.size}:${k.mtimeNs}`;
}

/**
 * HashAlgorithms option (['*'] = all) -> the algorithms in Sysmon's order. IMPHASH (a PE import
 * hash) is left out on Linux, as Sysmon for Linux's LinuxGetFileHash writes no entry for it:
 * `*` gives SHA1, MD5 and SHA256 only, IMPHASH alone gives no hash (`-`).
 */
export function normalizeAlgorithms(list: readonly string[] | null | undefined, imphash = process.platform === 'win32'): HashAlgorithm[] {
  if (!list || list.length === 0) return [];
  const want = new Set(list.map((a) => a.toUpperCase()));
  return HASH_ORDER.filter((a) => (want.has('*') || want.has(a)) && (imphash || a !== 'IMPHASH'));
}

// The worker: open (non-blocking, so a FIFO cannot hang it), fstat, check it is a regular
// file within the size limit, read in 1 MiB chunks into every hash, give up at the deadline.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const NODE_ALG = { SHA1: 'sha1', MD5: 'md5', SHA256: 'sha256' };
const buf = Buffer.allocUnsafe(1 << 20);
parentPort.on('message', (job) => {
  let fd = -1;
  try {
    fd = fs.openSync(job.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
    const st = fs.fstatSync(fd, { bigint: true });
    const key = st.dev + ':' + st.ino + ':' + st.size + ':' + st.mtimeNs;
    if (!st.isFile()) return parentPort.postMessage({ id: job.id, result: '-', key: null });
    if (st.size > BigInt(job.maxBytes)) return parentPort.postMessage({ id: job.id, result: '-', key });
    const hs = job.algs.filter((a) => NODE_ALG[a]).map((a) => [a, crypto.createHash(NODE_ALG[a])]);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      for (const [, h] of hs) h.update(buf.subarray(0, n));
      if (Date.now() > job.deadline) return parentPort.postMessage({ id: job.id, result: '-', key: null });
    }
    const hex = Object.fromEntries(hs.map(([a, h]) => [a, h.digest('hex')]));
    const result = job.algs.map((a) => a + '=' + (hex[a] || '-')).join(',');
    parentPort.postMessage({ id: job.id, result, key });
  } catch (err) {
    parentPort.postMessage({ id: job.id, result: '-', key: null });
  } finally {
    if (fd >= 0) try { fs.closeSync(fd); } catch {}
  }
});
`;

interface Job {
  id: number;
  path: string;
  algs: HashAlgorithm[];
  maxBytes: number;
  deadline: number;
  resolve: (r: string) => void;
  timer: NodeJS.Timeout;
  started: boolean;
  slot?: Slot;
}
interface Slot {
  worker: Worker;
  job: Job | null;
  idle: NodeJS.Timeout | null;
}

export class HashService {
  readonly maxBytes: number;
  readonly timeoutMs: number;
  private algs: HashAlgorithm[] = [];
  private readonly cache = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly queue: Job[] = [];
  private slots: Slot[] = [];
  private nextId = 1;
  readonly stats = { requests: 0, cacheHits: 0, hashed: 0, tooBig: 0, timeouts: 0, failed: 0, overload: 0, workersRetired: 0 };

  constructor(private readonly opts: HashOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 128 * 1024 * 1024;
    this.timeoutMs = opts.timeoutMs ?? 5000;
  }

  /** The config's HashAlgorithms; null or empty switches hashing off. */
  configure(list: readonly string[] | null | undefined): void {
    const next = normalizeAlgorithms(list);
    if (next.join() !== this.algs.join()) {
      this.cache.clear();
      this.generation++;
    }
    this.algs = next;
  }

  /** changes whenever cached results stop applying (other algorithms): memos in front of lookup() check it */
  generation = 0;

  get enabled(): boolean {
    return this.algs.length > 0;
  }

  get algorithms(): readonly HashAlgorithm[] {
    return this.algs;
  }

  /** A cached result for a file that may no longer exist (a deleted file's inode). */
  lookup(key: FileKey): string | undefined {
    const k = fileKey(key);
    const v = this.cache.get(k);
    if (v !== undefined) {
      this.cache.delete(k);
      this.cache.set(k, v);
    }
    return v;
  }

  /**
   * The file's hashes, "-" when disabled, unreadable, too big or too slow. Never rejects.
   * `known`: the file's inode as the kernel saw it (exec, mmap records, dev in userspace
   * st_dev form): a cached result is then found with no syscall, instead of a stat per call
   * (the stat round trip through the thread pool was most of the agent's CPU per exec).
   */
  hashFile(path: string, known?: FileKey): Promise<string> {
    if (!this.enabled || path === '-' || path === '') return DASH;
    this.stats.requests++;
    if (known) {
      const k = fileKey(known);
      const hit = this.cache.get(k);
      if (hit !== undefined) {
        this.stats.cacheHits++;
        return Promise.resolve(hit);
      }
      const running = this.inflight.get(k);
      if (running) return running;
    }
    return this.hashByStat(path, known);
  }

  private async hashByStat(path: string, known: FileKey | undefined): Promise<string> {
    let key: string;
    let size: bigint;
    let mtimeNs: bigint;
    try {
      const st = await stat(path, { bigint: true });
      if (!st.isFile()) return '-';
      if (st.size > BigInt(this.maxBytes)) {
        this.stats.tooBig++;
        return '-';
      }
      key = fileKey({ dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs });
      size = st.size;
      mtimeNs = st.mtimeNs;
    } catch {
      this.stats.failed++;
      return '-';
    }
    // The kernel's key can name the same file differently from stat (overlayfs and btrfs
    // report another dev/ino): it becomes an alias of the stat key when size and mtime agree,
    // so the next exec of that file is a cache hit too.
    const alias = known && BigInt(known.size) === size && BigInt(known.mtimeNs) === mtimeNs ? fileKey(known) : null;
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.stats.cacheHits++;
      if (alias && alias !== key) this.remember(alias, hit);
      return hit;
    }
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.submit(path)
      .then(({ result, key: actual }) => {
        // the worker's own fstat names what it really read (the file may have changed since)
        if (result !== '-' && actual) {
          this.remember(actual, result);
          if (alias && actual === key && alias !== key) this.remember(alias, result);
        }
        return result;
      })
      .finally(() => {
        this.inflight.delete(key);
        if (alias) this.inflight.delete(alias);
      });
    this.inflight.set(key, p);
    if (alias) this.inflight.set(alias, p);
    return p;
  }

  private remember(key: string, value: string): void {
    this.cache.set(key, value);
    const max = this.opts.cacheEntries ?? 8192;
    while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
  }

  private submit(path: string): Promise<{ result: string; key: string | null }> {
    if (this.queue.length >= (this.opts.maxQueue ?? 1024)) {
      this.stats.overload++;
      return Promise.resolve({ result: '-', key: null });
    }
    return new Promise((resolve) => {
      const job: Job = {
        id: this.nextId++,
        path,
        algs: [...this.algs],
        maxBytes: this.maxBytes,
        deadline: Date.now() + this.timeoutMs,
        started: false,
        resolve: () => undefined,
        timer: setTimeout(() => this.expire(job), this.timeoutMs),
      };
      job.timer.unref?.();
      let settled = false;
      job.resolve = (r) => {
        if (!settled) {
          settled = true;
          clearTimeout(job.timer);
          resolve(this.parse(r));
        }
      };
      this.queue.push(job);
      this.pump();
    });
  }

  // results travel as "result\0key" through job.resolve to keep one callback type
  private parse(r: string): { result: string; key: string | null } {
    const i = r.indexOf('\0');
    return i < 0 ? { result: r, key: null } : { result: r.slice(0, i), key: r.slice(i + 1) || null };
  }

  private expire(job: Job): void {
    this.stats.timeouts++;
    const q = this.queue.indexOf(job);
    if (q >= 0) this.queue.splice(q, 1);
    if (job.slot && job.slot.job === job) {
      // the worker is stuck on this file (slow disk, huge read): replace it
      const slot = job.slot;
      void slot.worker.terminate();
      this.slots = this.slots.filter((s) => s !== slot);
    }
    job.resolve('-');
    this.pump();
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    const slot: Slot = { worker, job: null, idle: null };
    worker.on('message', (m: { id: number; result: string; key: string | null }) => {
      const job = slot.job;
      slot.job = null;
      if (job && job.id === m.id) {
        if (m.result === '-') this.stats.failed++;
        else this.stats.hashed++;
        job.resolve(`${m.result}\0${m.key ?? ''}`);
      }
      this.pump();
    });
    worker.on('error', () => {
      const job = slot.job;
      slot.job = null;
      this.slots = this.slots.filter((s) => s !== slot);
      job?.resolve('-');
      this.pump();
    });
    this.slots.push(slot);
    return slot;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.job === null);
      if (!slot && this.slots.length < (this.opts.workers ?? 2)) slot = this.spawn();
      if (!slot) return;
      if (slot.idle) {
        clearTimeout(slot.idle);
        slot.idle = null;
      }
      const job = this.queue.shift()!;
      job.started = true;
      job.slot = slot;
      slot.job = job;
      slot.worker.postMessage({ id: job.id, path: job.path, algs: job.algs, maxBytes: job.maxBytes, deadline: job.deadline });
    }
    for (const slot of this.slots) if (slot.job === null && slot.idle === null) this.retireWhenIdle(slot);
  }

  private retireWhenIdle(slot: Slot): void {
    slot.idle = setTimeout(() => {
      slot.idle = null;
      if (slot.job !== null) return;
      this.slots = this.slots.filter((s) => s !== slot);
      this.stats.workersRetired++;
      void slot.worker.terminate();
    }, this.opts.idleWorkerMs ?? 15_000);
    slot.idle.unref();
  }

  /** workers running now */
  get workerCount(): number {
    return this.slots.length;
  }

  /** Stops the workers (tests, shutdown). */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) job.resolve('-');
    for (const s of this.slots.splice(0)) {
      if (s.idle) clearTimeout(s.idle);
      s.job?.resolve('-');
      await s.worker.terminate();
    }
  }
}

/** The agent's one service: configured from the active config's HashAlgorithms. */
export const hashes = new HashService();
