// Live storms: the C workloads with no monitor, with sysmon-ts and with the peers, A/B/A/B;
// latency kernel -> JSONL; RSS over time. Used by bench/run.ts.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const BIG_CONFIG = join(ROOT, 'test/fixtures/configs/sysmon-modular-sysmonconfig.xml');
export const DEFAULT_CONFIG = join(ROOT, 'src/config/default.xml');
export const ALL_CONFIG = join(ROOT, 'bench/configs/all.xml');
const CLK_TCK = 100;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Bins {
  dir: string;
  exec: string;
  child: string;
  file: string;
  connect: string;
}

export function buildWorkloads(dir: string): Bins {
  const src = join(ROOT, 'bench/workloads');
  const out = (n: string) => join(dir, n);
  for (const n of ['exec_storm', 'exec_child', 'file_storm', 'connect_storm']) {
    execFileSync('cc', ['-O2', '-o', out(n), join(src, `${n}.c`), '-lpthread'], { stdio: 'inherit' });
  }
  return { dir, exec: out('exec_storm'), child: out('exec_child'), file: out('file_storm'), connect: out('connect_storm') };
}

export type Workload = 'exec' | 'file' | 'connect';

export interface WorkloadSpec {
  kind: Workload;
  n: number;
  rate?: number;
  fileDir: string;
}

/** events a monitor should log for one workload run (Sysmon's view) */
export function expectedEvents(w: WorkloadSpec): number {
  return w.kind === 'exec' ? w.n : w.kind === 'file' ? 2 * w.n : w.n;
}

export function runWorkload(b: Bins, w: WorkloadSpec): Promise<{ seconds: number; ops: number }> {
  const args = w.kind === 'exec' ? [b.exec, String(w.n), b.child] : w.kind === 'file' ? [b.file, String(w.n), w.fileDir] : [b.connect, String(w.n)];
  if (w.rate) args.push(String(w.rate));
  return new Promise((resolve, reject) => {
    const p = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${w.kind} storm exited ${code}`));
      const [s, n] = out.trim().split(/\s+/).map(Number);
      resolve({ seconds: s!, ops: n! });
    });
  });
}

/** CPU seconds (user+system) of a process and its reaped children, from /proc */
export function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    // fields from index 3 in the man page numbering: utime=14, stime=15, cutime=16, cstime=17
    return (Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14])) / CLK_TCK;
  } catch {
    return 0;
  }
}

export function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function cpuIdleFraction(ms: number): Promise<number> {
  const read = () => readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const a = read();
  return sleep(ms).then(() => {
    const b = read();
    const d = b.map((x, i) => x - a[i]!);
    const total = d.reduce((s, x) => s + x, 0);
    return total > 0 ? (d[3]! + d[4]!) / total : 1;
  });
}

/** waits (up to maxMs) until the box is mostly idle; returns the idle fraction seen last */
export async function waitIdle(maxMs = 4000): Promise<number> {
  const until = Date.now() + maxMs;
  let idle = 0;
  do {
    idle = await cpuIdleFraction(300);
    if (idle > 0.8) return idle;
  } while (Date.now() < until);
  return idle;
}

// ---------------------------------------------------------------- monitors
export interface Monitor {
  name: string;
  /** started and ready to see events */
  start(work: string): Promise<void>;
  /** main pid whose CPU is counted (plus extra pids, e.g. kauditd is not countable) */
  pids(): number[];
  /** resolves once the monitor has caught up (its output stopped growing) */
  settle(): Promise<void>;
  /** stop and let it flush; returns counted events matching the workload and bytes written */
  stop(w: WorkloadSpec): Promise<{ captured: number; bytes: number; lines?: number }>;
}

function waitFor(cond: () => boolean, maxMs: number, stepMs = 50): Promise<boolean> {
  const until = Date.now() + maxMs;
  return new Promise((resolve) => {
    const tick = () => {
      if (cond()) return resolve(true);
      if (Date.now() > until) return resolve(false);
      setTimeout(tick, stepMs);
    };
    tick();
  });
}

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

/** waits until a file stops growing for quietMs (the monitor caught up), at most maxMs */
async function settle(path: string, quietMs = 700, maxMs = 30000): Promise<void> {
  const until = Date.now() + maxMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < until) {
    const s = fileSize(path);
    if (s !== last) {
      last = s;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(100);
  }
}

function killWait(p: ChildProcess, signal: NodeJS.Signals = 'SIGINT', maxMs = 15000): Promise<void> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) return resolve();
    const t = setTimeout(() => {
      p.kill('SIGKILL');
    }, maxMs);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    p.kill(signal);
  });
}

function countMatching(path: string, match: (line: string) => boolean): number {
  // read in chunks cut at a newline byte (never inside a UTF-8 sequence): three storms of
  // 200,000 files write ~720 MB of JSONL, more than one string can hold (readFileSync as
  // text threw, and the run counted 0)
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return 0;
  }
  let n = 0;
  const chunk = Buffer.allocUnsafe(32 << 20);
  let carry = 0;
  try {
    for (;;) {
      const got = readSync(fd, chunk, carry, chunk.length - carry, null);
      const end = carry + got;
      const cut = got === 0 ? end : chunk.lastIndexOf(0x0a, end - 1) + 1;
      if (cut === 0 && end === chunk.length) throw new Error(`${path}: a line longer than ${chunk.length} bytes`);
      const text = chunk.toString('utf8', 0, cut);
      let at = 0;
      while (at < text.length) {
        let nl = text.indexOf('\n', at);
        if (nl < 0) nl = text.length;
        if (match(text.slice(at, nl))) n++;
        at = nl + 1;
      }
      if (got === 0) return n;
      chunk.copy(chunk, 0, cut, end);
      carry = end - cut;
    }
  } finally {
    closeSync(fd);
  }
}

/** Sysmon-view match of a JSONL line to the workload's events */
export function sysmonMatch(w: WorkloadSpec): (line: string) => boolean {
  if (w.kind === 'exec') return (l) => l.startsWith('{"EventID":1,') && l.includes('exec_child');
  if (w.kind === 'file')
    return (l) => (l.startsWith('{"EventID":11,') || l.startsWith('{"EventID":23,') || l.startsWith('{"EventID":26,')) && l.includes('benchfile-');
  return (l) => l.startsWith('{"EventID":3,') && l.includes('connect_storm') && l.includes('"Initiated":true');
}

/** The node flags a checkout's `npm start` passes before dist/src/cli.js (its package.json "start"). */
export function startFlags(root: string): string[] {
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ?? '';
  const words = start.split(/\s+/);
  const at = words.findIndex((w) => w.endsWith('cli.js'));
  return words[0] === 'node' && at > 0 ? words.slice(1, at) : [];
}

/**
 * The agent as a monitor. `compiled`: run dist/src/cli.js with plain node, as `npm start` and
 * the service do (no tsx loader thread); otherwise the sources through tsx. `nodeArgs` go
 * before the script (e.g. --cpu-prof). `startupMs` is spawn -> "monitoring;" on stderr.
 */
export function sysmonMonitor(
  name: string,
  config: string,
  extraArgs: string[] = [],
  opts: { compiled?: boolean; nodeArgs?: string[]; root?: string /** instead of the checkout's `npm start` flags */; flags?: string[] } = {},
): Monitor & { jsonl: string; proc: ChildProcess | null; startupMs: number } {
  let dir = '';
  let proc: ChildProcess | null = null;
  const root = opts.root ?? ROOT; // another checkout's agent (A/B)
  // compiled: with the node flags that checkout's `npm start` passes (its package.json)
  const entry = opts.compiled ? [...(opts.flags ?? startFlags(root)), join(root, 'dist/src/cli.js')] : ['--import', 'tsx', join(root, 'src/cli.ts')];
  if (opts.compiled && !existsSync(entry[entry.length - 1]!))
    throw new Error(`${entry[entry.length - 1]} is missing: run \`bash driver/setup.sh\` (it builds dist/)`);
  const m = {
    name,
    jsonl: '',
    startupMs: NaN,
    proc: null as ChildProcess | null,
    async start(work: string) {
      dir = mkdtempSync(join(work, 'sysmon-'));
      m.jsonl = join(dir, 'events.jsonl');
      const t0 = performance.now();
      proc = spawn(
        process.execPath,
        [
          ...(opts.nodeArgs ?? []),
          ...entry,
          'run',
          '--jsonl',
          m.jsonl,
          '--journal',
          join(dir, 'journal'),
          '-c',
          config,
          '--no-console',
          '--stats-every',
          '0',
          ...extraArgs,
        ],
        { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SYSMON_TS_RUN_DIR: join(dir, 'run'), SYSMON_TS_LOG_LEVEL: 'warn' } },
      );
      m.proc = proc;
      let err = '';
      proc.stderr!.on('data', (d) => {
        err += d;
        if (Number.isNaN(m.startupMs) && err.includes('monitoring;')) m.startupMs = performance.now() - t0;
      });
      const ok = await waitFor(() => err.includes('monitoring;') || proc!.exitCode !== null, 60000, 5);
      if (!ok || proc.exitCode !== null) throw new Error(`sysmon-ts did not start: ${err.slice(-2000)}`);
      await sleep(300);
    },
    pids: () => (proc?.pid ? [proc.pid] : []),
    settle: () => settle(m.jsonl),
    async stop(w: WorkloadSpec) {
      await killWait(proc!);
      const captured = countMatching(m.jsonl, sysmonMatch(w));
      const lines = countMatching(m.jsonl, () => true);
      const bytes = fileSize(m.jsonl);
      rmSync(dir, { recursive: true, force: true });
      return { captured, bytes, lines };
    },
  };
  return m;
}

/** a peer that prints one line per event to a file; `match` counts the workload's lines */
export function lineMonitor(
  name: string,
  cmd: string[],
  ready: (out: string, err: string) => boolean,
  match: (w: WorkloadSpec) => (l: string) => boolean,
  readyDelayMs = 500,
): Monitor {
  let dir = '';
  let proc: ChildProcess | null = null;
  let outPath = '';
  return {
    name,
    async start(work: string) {
      dir = mkdtempSync(join(work, `${name.replace(/\W/g, '')}-`));
      outPath = join(dir, 'out.txt');
      const fd = openSync(outPath, 'w');
      proc = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', fd, 'pipe'] });
      closeSync(fd);
      let err = '';
      proc.stderr!.on('data', (d) => {
        err += d;
      });
      const ok = await waitFor(() => ready(readFileSync(outPath, 'utf8').slice(0, 4096), err) || proc!.exitCode !== null, 30000);
      if (!ok || proc.exitCode !== null) throw new Error(`${name} did not start: ${err.slice(-1000)}`);
      await sleep(readyDelayMs);
    },
    pids: () => (proc?.pid ? [proc.pid] : []),
    settle: () => settle(outPath),
    async stop(w: WorkloadSpec) {
      await killWait(proc!, 'SIGINT');
      const captured = countMatching(outPath, match(w));
      const bytes = fileSize(outPath);
      rmSync(dir, { recursive: true, force: true });
      return { captured, bytes };
    },
  };
}

export const BPFTRACE_SCRIPTS: Record<Workload, string> = {
  exec: 'tracepoint:sched:sched_process_exec { printf("exec pid=%d ppid=%d comm=%s file=%s\\n", pid, curtask->real_parent->tgid, comm, str(args->filename)); }',
  file: 'tracepoint:syscalls:sys_enter_openat /args->flags & 64/ { printf("create pid=%d comm=%s path=%s\\n", pid, comm, str(args->filename)); } tracepoint:syscalls:sys_enter_unlink, tracepoint:syscalls:sys_enter_unlinkat { printf("delete pid=%d comm=%s path=%s\\n", pid, comm, str(args->pathname)); }',
  connect:
    'tracepoint:sock:inet_sock_set_state /args->newstate == 1 && args->oldstate == 2/ { printf("connect pid=%d comm=%s dport=%d sport=%d\\n", pid, comm, args->dport, args->sport); }',
};

/** peers for a workload that are installed and start here */
export function peerMonitors(kind: Workload): Monitor[] {
  const out: Monitor[] = [];
  const has = (bin: string) => existsSync(bin);
  const execMatch = () => (l: string) => l.includes('exec_child');
  const fileMatch = () => (l: string) => l.includes('benchfile-');
  const connMatch = () => (l: string) => l.includes('connect_storm') || l.includes('connect_sto');
  const match = kind === 'exec' ? execMatch : kind === 'file' ? fileMatch : connMatch;
  if (has('/usr/bin/bpftrace')) {
    out.push(
      lineMonitor('bpftrace -f json', ['bpftrace', '-f', 'json', '-B', 'full', '-e', BPFTRACE_SCRIPTS[kind]], (o) => o.includes('attached_probes'), match),
    );
  }
  if (kind === 'exec' && has('/usr/sbin/execsnoop'))
    out.push(lineMonitor('execsnoop (libbpf-tools)', ['stdbuf', '-oL', '/usr/sbin/execsnoop'], (o) => o.includes('PCOMM'), match, 1000));
  if (kind === 'file' && has('/usr/sbin/opensnoop'))
    out.push(lineMonitor('opensnoop (opens only)', ['stdbuf', '-oL', '/usr/sbin/opensnoop'], (o) => o.includes('PID'), match, 1000));
  if (kind === 'connect' && has('/usr/sbin/tcpconnect'))
    out.push(lineMonitor('tcpconnect (libbpf-tools)', ['stdbuf', '-oL', '/usr/sbin/tcpconnect'], (o) => o.includes('PID'), match, 1000));
  if (kind === 'file' && has('/usr/sbin/fatrace'))
    out.push(
      lineMonitor(
        'fatrace',
        ['fatrace', '-t'],
        () => true,
        () => (l: string) => l.includes('file_storm'),
        1000,
      ),
    );
  if (has('/usr/sbin/auditd') && has('/usr/sbin/laurel')) out.push(auditdLaurel(kind));
  return out;
}

function laurelLogs(): string[] {
  try {
    return readdirSync('/var/log/laurel')
      .filter((f) => f.startsWith('audit.log'))
      .map((f) => join('/var/log/laurel', f));
  } catch {
    return [];
  }
}

/** The kernel's audit settings before the bench touched them ("enabled", "backlog_limit"). */
let auditBefore: { enabled: string; backlog: string } | null = null;

/**
 * Puts the kernel audit state back as it was: auditd enables auditing and leaves it on when
 * it exits, and enabled auditing with no daemon sends a record per BPF program load/unload
 * (and more) to the kernel log for everyone on the box.
 */
export function restoreAudit(): void {
  if (!auditBefore) return;
  spawnSync('auditctl', ['-D'], { stdio: 'ignore' });
  spawnSync('auditctl', ['-e', auditBefore.enabled, '-b', auditBefore.backlog], { stdio: 'ignore' });
}

function saveAudit(): void {
  if (auditBefore) return;
  const s = spawnSync('auditctl', ['-s'], { encoding: 'utf8' }).stdout;
  auditBefore = { enabled: /enabled (\d)/.exec(s)?.[1] ?? '0', backlog: /backlog_limit (\d+)/.exec(s)?.[1] ?? '64' };
}

/** auditd with the laurel plugin (JSON lines in /var/log/laurel/audit.log), rules for the workload only */
function auditdLaurel(kind: Workload): Monitor {
  const rules: Record<Workload, string[][]> = {
    exec: [['-a', 'always,exit', '-F', 'arch=b64', '-S', 'execve', '-k', 'bench']],
    file: [['-a', 'always,exit', '-F', 'arch=b64', '-S', 'openat,creat,unlink,unlinkat', '-F', 'success=1', '-k', 'bench']],
    connect: [['-a', 'always,exit', '-F', 'arch=b64', '-S', 'connect', '-k', 'bench']],
  };
  const log = '/var/log/laurel/audit.log';
  let before = 0;
  let pid = 0;
  return {
    name: 'auditd+laurel',
    async start() {
      saveAudit();
      spawnSync('auditctl', ['-D'], { stdio: 'ignore' });
      // laurel rotates its log at 5 MB: start from an empty directory and read every generation
      for (const f of laurelLogs()) rmSync(f, { force: true });
      const r = spawnSync('/usr/sbin/auditd', [], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`auditd did not start: ${r.stderr}`);
      await waitFor(() => existsSync('/var/run/auditd.pid'), 5000);
      pid = Number(readFileSync('/var/run/auditd.pid', 'utf8').trim());
      for (const rule of rules[kind]) {
        const a = spawnSync('auditctl', rule, { encoding: 'utf8' });
        if (a.status !== 0) throw new Error(`auditctl ${rule.join(' ')}: ${a.stderr}`);
      }
      spawnSync('auditctl', ['-e', '1', '-b', '65536', '--backlog_wait_time', '60000'], { stdio: 'ignore' });
      await waitFor(() => existsSync(log), 5000);
      await sleep(500);
      before = laurelLogs().reduce((a, f) => a + fileSize(f), 0);
    },
    pids: () => {
      const lp = spawnSync('pgrep', ['-x', 'laurel'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map(Number);
      return [pid, ...lp];
    },
    settle: () => settle(log, 1000),
    async stop(w: WorkloadSpec) {
      spawnSync('auditctl', ['-D'], { stdio: 'ignore' });
      const files = laurelLogs();
      const bytes = files.reduce((a, f) => a + fileSize(f), 0) - before;
      const text = files.map((f) => readFileSync(f, 'utf8')).join('\n');
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      await waitFor(() => !existsSync(`/proc/${pid}`), 10000);
      restoreAudit();
      const want = w.kind === 'exec' ? 'exec_child' : w.kind === 'file' ? 'benchfile-' : 'connect_storm';
      let captured = 0;
      for (const l of text.split('\n')) if (l.includes(want)) captured++;
      return { captured, bytes };
    },
  };
}

export interface StormRow {
  workload: Workload;
  monitor: string;
  rep: number;
  seconds: number;
  ops: number;
  cpu: number;
  captured: number | null;
  expected: number;
  bytes: number;
  idle: number;
  error?: string;
}

/** one run: (monitor started) -> workload -> monitor caught up and stopped */
export async function stormRun(b: Bins, w: WorkloadSpec, mon: Monitor | null, work: string, rep: number): Promise<StormRow> {
  const expected = expectedEvents(w);
  const idle = await waitIdle(process.argv.includes('--long') ? 4000 : 2000);
  try {
    if (mon) await mon.start(work);
    const pids = mon ? mon.pids() : [];
    const cpu0 = pids.map(cpuSeconds);
    const r = await runWorkload(b, w);
    let captured: number | null = null;
    let bytes = 0;
    let cpu = 0;
    if (mon) {
      // CPU until the monitor has caught up (its output stops growing), before stopping it
      await mon.settle();
      const cpu1 = mon.pids().map(cpuSeconds);
      cpu = cpu1.reduce((s, c, i) => s + c - (cpu0[i] ?? 0), 0);
      const s = await mon.stop(w);
      captured = s.captured;
      bytes = s.bytes;
    }
    return { workload: w.kind, monitor: mon?.name ?? 'none', rep, seconds: r.seconds, ops: r.ops, cpu, captured, expected, bytes, idle };
  } catch (e) {
    try {
      if (mon) await mon.stop(w);
    } catch {
      /* ignore */
    }
    return {
      workload: w.kind,
      monitor: mon?.name ?? 'none',
      rep,
      seconds: NaN,
      ops: 0,
      cpu: 0,
      captured: null,
      expected,
      bytes: 0,
      idle,
      error: (e as Error).message.split('\n')[0],
    };
  }
}

// ---------------------------------------------------------------- latency
/** Tails a JSONL file; for each new event line: now - TimeCreated (ms). */
export class JsonlTail {
  private off = 0;
  private rest = '';
  readonly lat: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly path: string,
    private readonly match: (l: string) => boolean,
  ) {}
  start(everyMs = 1): void {
    const buf = Buffer.alloc(1 << 20);
    const tick = () => {
      let fd: number;
      try {
        fd = openSync(this.path, 'r');
      } catch {
        this.timer = setTimeout(tick, everyMs);
        return;
      }
      try {
        for (;;) {
          const n = readSync(fd, buf, 0, buf.length, this.off);
          if (n <= 0) break;
          this.off += n;
          const nowMs = performance.timeOrigin + performance.now();
          const text = this.rest + buf.toString('utf8', 0, n);
          const lines = text.split('\n');
          this.rest = lines.pop()!;
          for (const l of lines) {
            if (!this.match(l)) continue;
            const m = /"TimeCreated":"([^"]+)"/.exec(l);
            if (!m) continue;
            const t = m[1]!;
            const sec = Date.parse(`${t.slice(0, 19)}Z`);
            const frac = Number(`0.${t.slice(20, -1) || '0'}`) * 1000;
            this.lat.push(nowMs - (sec + frac));
          }
        }
      } finally {
        closeSync(fd);
      }
      this.timer = setTimeout(tick, everyMs);
    };
    tick();
  }
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export function makeWorkDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'sysmon-ts-bench-'));
  mkdirSync(join(d, 'files'));
  writeFileSync(join(d, 'README'), 'sysmon-ts bench scratch directory; removed at the end of the run\n');
  return d;
}
