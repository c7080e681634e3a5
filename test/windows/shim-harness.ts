// The driver harness (driver/windows/shim): the Windows driver's own C, built for Linux
// against the user-mode kernel shim with ASan/UBSan, driven by a scenario on stdin. This
// module builds it, runs scenarios, and takes the ring the driver wrote (its section, a
// file) through the service's real pipeline: RingWalker, the Windows decoder and handlers,
// the config engine, and the EVTX writer with the Microsoft-Windows-Sysmon provider.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RingWalker } from '../../src/kernel/ring-walker.js';
import { droppedOf, sectionViews } from '../../src/kernel/windows/section.js';
import { windowsPlatformCapture } from '../../src/platform/windows.js';
import type { WindowsHostFacts } from '../../src/families/windows/host-facts.js';
import { loadConfigText } from '../../src/config/index.js';
import { configureFileEvents } from '../../src/families/file/events.js';
import { WINDOWS_IDENTITY, type SysmonEvent } from '../../src/events/event.js';
import { createEvtxSink } from '../../sinks/evtx/writer.js';
import { missingTool } from '../helpers/prereq.js';

export const DRIVER_DIR = resolve('driver/windows');
export const HARNESS = join(DRIVER_DIR, 'build/shim/driver-harness');

export function missingShimPrereq(): string | null {
  return missingTool('gcc', 'make');
}

export function buildHarness(): void {
  const r = spawnSync('make', ['-C', DRIVER_DIR, 'shim'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `make -C driver/windows shim failed (gcc with libasan/libubsan needed):\n${r.stdout}\n${r.stderr}`);
}

type Arg = string | number | bigint | boolean;

/** A scenario: one command a line, tab-separated key=value arguments (harness.c's language). */
export class Scenario {
  readonly lines: string[] = [];

  add(cmd: string, args: Record<string, Arg> = {}): this {
    const parts = [cmd];
    for (const [k, v] of Object.entries(args)) {
      const s = typeof v === 'boolean' ? (v ? '1' : '0') : typeof v === 'string' ? v : `0x${v.toString(16)}`;
      parts.push(`${k}=${s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n')}`);
    }
    this.lines.push(parts.join('\t'));
    return this;
  }

  get text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

export interface HarnessRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** the ring's section as the driver left it (a copy of the file) */
  section: ArrayBuffer | null;
  dir: string;
}

/** Runs a scenario; the sanitizers abort on the first error (-fno-sanitize-recover). */
export function runHarness(s: Scenario): HarnessRun {
  const dir = mkdtempSync(join(tmpdir(), 'driver-shim-'));
  const ringFile = join(dir, 'ring.section');
  const r = spawnSync(HARNESS, [ringFile], {
    input: s.text,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
  });
  let section: ArrayBuffer | null = null;
  try {
    section = new Uint8Array(readFileSync(ringFile)).buffer;
  } catch {
    /* no section: the driver never created it */
  }
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, section, dir };
}

/** A run that must end cleanly: exit 0, nothing from the sanitizers or the shim's books. */
export function runClean(s: Scenario): HarnessRun & { section: ArrayBuffer } {
  const r = runHarness(s);
  assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|runtime error|BUGCHECK|LEAK:/, r.stderr);
  assert.equal(r.status, 0, `driver-harness exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  assert.match(r.stdout, /^unload status=0x00000000 leaks=0$/m, 'unloads with nothing left registered, allocated, referenced or open');
  assert.ok(r.section, 'the driver created its section');
  return r as HarnessRun & { section: ArrayBuffer };
}

export interface ServiceRun {
  /** every event the records became (the 255 for drops included) */
  out: SysmonEvent[];
  /** what the config keeps */
  kept: SysmonEvent[];
  records: number;
  dropped: bigint;
  rejected: number;
}

/** The service's side: the section's ring walked, decoded, normalized and filtered. */
export async function service(section: ArrayBuffer, facts: WindowsHostFacts, epochNs: bigint, configXml: string): Promise<ServiceRun> {
  const views = sectionViews(section);
  const walker = new RingWalker(views);
  const pc = windowsPlatformCapture(facts, () => epochNs);
  const config = loadConfigText(configXml, 'shim-test.xml');
  configureFileEvents(config);
  const out: SysmonEvent[] = [];
  let records = 0;
  walker.drain((raw) => {
    records++;
    pc.capture.onRecord(raw, out);
  });
  await Promise.all(pc.capture.takeDeferred());
  const dropped = droppedOf(views);
  pc.capture.checkDrops(dropped, out);
  return { out, kept: out.filter((ev) => config.engine.apply(ev)), records, dropped, rejected: pc.capture.counters.rejected };
}

export async function writeEvtx(path: string, events: SysmonEvent[]): Promise<void> {
  const sink = createEvtxSink(path, { identity: { ...WINDOWS_IDENTITY, computer: 'shim-host.example' }, fsync: false });
  await sink.open();
  await sink.write(events.map((e, i) => ({ ...e, recordId: i + 1 })));
  await sink.close();
}

/**
 * The harness as a live process: commands are sent one at a time and each answer awaited,
 * so that the test can act as the service between them (read the section file, write the
 * consumer position back into it: the mapping is MAP_SHARED, so both see one page cache).
 */
export class LiveHarness {
  private readonly child: ChildProcess;
  private readonly answers: string[] = [];
  private readonly waiting: { res: (line: string) => void; rej: (e: Error) => void }[] = [];
  private exited = false;
  private stderr = '';
  readonly ringFile: string;

  constructor() {
    this.ringFile = join(mkdtempSync(join(tmpdir(), 'driver-shim-live-')), 'ring.section');
    this.child = spawn(HARNESS, [this.ringFile], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:halt_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' },
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const w = this.waiting.shift();
      if (w) w.res(line);
      else this.answers.push(line);
    });
    this.child.once('exit', () => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w.rej(new Error(`driver-harness exited:\n${this.stderr}`));
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
  }

  /** Sends the scenario's lines; resolves with the answer to the last one. */
  async send(s: Scenario): Promise<string> {
    let last = '';
    for (const line of s.lines) {
      const answer = new Promise<string>((res, rej) => {
        const a = this.answers.shift();
        if (a !== undefined) res(a);
        else if (this.exited) rej(new Error(`driver-harness exited:\n${this.stderr}`));
        else this.waiting.push({ res, rej });
      });
      this.child.stdin!.write(`${line}\n`);
      last = await answer;
    }
    return last;
  }

  /** The section as it is now. */
  section(): ArrayBuffer {
    return new Uint8Array(readFileSync(this.ringFile)).buffer;
  }

  /** What the service writes: the consumer position, at offset 0. */
  setConsumer(pos: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(pos);
    const fd = openSync(this.ringFile, 'r+');
    try {
      writeSync(fd, b, 0, 8, 0);
    } finally {
      closeSync(fd);
    }
  }

  /** Stops the harness if it still runs (a failed test must not leave it waiting on stdin). */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  async end(): Promise<{ status: number | null; stderr: string }> {
    const exited = this.exited ? Promise.resolve(this.child.exitCode) : new Promise<number | null>((res) => this.child.once('exit', (code) => res(code)));
    this.child.stdin!.end();
    const status = await exited;
    return { status, stderr: this.stderr };
  }
}
