// Shared fixtures of the journal tests: realistic events, temp dirs, polling, test sinks.
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SysmonEvent } from '../../src/events/event.js';
import { LINUX_IDENTITY } from '../../src/events/event.js';
import { encodeJsonl } from '../../sinks/shared/jsonl-encode.js';
import type { Sink } from '../../sinks/sink.js';

/** a ProcessCreate-shaped event (~1 KB encoded), distinguishable by `n` */
export function processCreate(n: number, pad = 0): SysmonEvent {
  return {
    id: 1,
    recordId: 0,
    timeNs: 1_764_438_000_000_000_000n + BigInt(n) * 1000n,
    data: {
      RuleName: '-',
      UtcTime: '2025-11-29 18:00:00.123',
      ProcessGuid: '{6c0f3b1e-2f4a-6718-0000-00103a7c1e00}',
      ProcessId: 10000 + (n % 50000),
      Image: '/usr/bin/bash',
      FileVersion: '-',
      Description: '-',
      Product: '-',
      Company: '-',
      OriginalFileName: '-',
      CommandLine: `bash -c "for f in /var/log/*.log; do gzip -9 \\"$f\\"; done" # n=${n}${'x'.repeat(pad)}`,
      CurrentDirectory: '/home/alice/projects/sysmon-ts',
      User: 'alice',
      LogonGuid: '{6c0f3b1e-0000-0000-e803-000000000000}',
      LogonId: '0x3e8',
      TerminalSessionId: 3,
      IntegrityLevel: 'no level',
      Hashes: 'SHA256=2F1E9C4B8A7D6E5F4C3B2A1908F7E6D5C4B3A2918F7E6D5C4B3A2918F7E6D5C4',
      ParentProcessGuid: '{6c0f3b1e-2f49-6718-0000-0010d2a31d00}',
      ParentProcessId: 9876,
      ParentImage: '/usr/bin/sshd',
      ParentCommandLine: 'sshd: alice@pts/3',
      ParentUser: 'alice',
    },
  };
}

export function events(from: number, count: number): SysmonEvent[] {
  return Array.from({ length: count }, (_, i) => processCreate(from + i));
}

export async function tempDir(tag: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `sysmon-journal-${tag}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** polls `cond` until true; throws with `what` at the deadline */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** a sink that keeps what it receives and fails while `failing` is set */
export class MemorySink implements Sink {
  received: SysmonEvent[] = [];
  failing = false;
  writes = 0;
  constructor(readonly name: string) {}
  async open(): Promise<void> {}
  async write(batch: readonly SysmonEvent[]): Promise<void> {
    this.writes++;
    if (this.failing) throw new Error(`${this.name} is down`);
    this.received.push(...batch);
  }
  async close(): Promise<void> {}
  ids(): number[] {
    return this.received.map((e) => e.recordId);
  }
}

/**
 * A real file sink, JSONL like the production one: appends and fdatasyncs each batch; a
 * failed write (ENOSPC) is rolled back to the last complete line; on open it cuts a torn last
 * line and skips records it already holds (dedupe by EventRecordID -> exactly once).
 */
export class JsonlFileSink implements Sink {
  private lastId = 0;
  constructor(
    readonly name: string,
    readonly path: string,
  ) {}
  async open(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      /* new file */
    }
    const cut = text.lastIndexOf('\n') + 1;
    if (cut < Buffer.byteLength(text)) {
      const fh = await open(this.path, 'r+');
      await fh.truncate(Buffer.byteLength(text.slice(0, cut)));
      await fh.close();
      text = text.slice(0, cut);
    }
    const lines = text.split('\n').filter(Boolean);
    const last = lines[lines.length - 1];
    this.lastId = last ? (JSON.parse(last) as { EventRecordID: number }).EventRecordID : 0;
  }
  async write(batch: readonly SysmonEvent[]): Promise<void> {
    const fresh = batch.filter((e) => e.recordId > this.lastId);
    if (!fresh.length) return;
    const body = fresh.map((e) => encodeJsonl(e, { ...LINUX_IDENTITY, computer: 'test' })).join('');
    const fh = await open(this.path, 'a');
    let size = 0;
    try {
      size = (await fh.stat()).size;
      const buf = Buffer.from(body);
      let off = 0;
      while (off < buf.length) {
        // a full disk gives a short write first, ENOSPC next
        const { bytesWritten } = await fh.write(buf, off, buf.length - off);
        if (bytesWritten === 0) throw new Error('short write');
        off += bytesWritten;
      }
      await fh.datasync();
    } catch (e) {
      await fh.truncate(size).catch(() => undefined); // leave only complete lines
      throw e;
    } finally {
      await fh.close();
    }
    this.lastId = fresh[fresh.length - 1]!.recordId;
  }
  async close(): Promise<void> {}
}

export async function jsonlIds(path: string): Promise<number[]> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  // only complete lines: a write may be in progress
  return text
    .split('\n')
    .slice(0, -1)
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { EventRecordID: number }).EventRecordID);
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/**
 * Runs a child script (through tsx) that prints `PREFIX N` lines as it makes progress, until it
 * reported `target` or exited, then kills it with SIGKILL mid-work. Returns the highest N it
 * reported; throws with its stderr when it never got there.
 */
export async function runUntilKilled(script: string, args: string[], prefix: string, target: number, what: string): Promise<number> {
  const p = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let best = -1;
  let buf = '';
  let err = '';
  p.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  p.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (l.startsWith(`${prefix} `)) best = Math.max(best, Number(l.slice(prefix.length + 1)));
  });
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  try {
    await until(() => best >= target || p.exitCode !== null, what, 60_000);
  } finally {
    p.kill('SIGKILL');
    await exited;
  }
  if (best < target) throw new Error(`child failed (${what}): ${err}`);
  return best;
}
