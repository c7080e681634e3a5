// The live agent as `npm start` runs it (node dist/src/cli.js run), in the soak's own
// directories (journal, JSONL, run state, config root), with the operations the soak applies:
// logrotate-style JSONL rotation + SIGHUP, `sysmon-ts -c FILE`, kill -9 and restart (retried
// while the journal refuses, measuring how long), and /proc samples of RSS and open FDs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, readdirSync, readFileSync, renameSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, sleep, startFlags } from '../live.js';

/** rssMB = VmRSS; anonMB = RssAnon (heaps: what a leak grows), the rest is mapped files and shared memory (the ring) */
export interface Sample {
  tMs: number;
  pid: number;
  rssMB: number;
  anonMB: number;
  fds: number;
}

export interface RestartReport {
  attempts: number;
  refusedMs: number;
  refusals: string[];
}

export interface AgentPaths {
  dir: string;
  jsonl: string;
  journal: string;
  runDir: string;
  root: string;
}

export const CLI = join(ROOT, 'dist/src/cli.js');

export class SoakAgent {
  proc: ChildProcess | null = null;
  starts = 0;
  readonly samples: Sample[] = [];
  /** the last stats.json each agent process wrote, by pid */
  readonly lastStats = new Map<number, Record<string, unknown>>();
  rotations = 0;
  private logs: string[] = [];

  constructor(
    readonly paths: AgentPaths,
    readonly syslogUrl: string,
    public config: string,
  ) {}

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      SYSMON_TS_RUN_DIR: this.paths.runDir,
      SYSMON_TS_ROOT: this.paths.root,
      SYSMON_TS_STATS_FILE_MS: '2000',
      SYSMON_TS_LOG_LEVEL: 'info',
    };
  }

  /** one start attempt: resolves with the agent running, or with its output when it exited */
  private async startOnce(): Promise<{ ok: true } | { ok: false; output: string }> {
    const log = join(this.paths.dir, `agent-${++this.starts}.log`);
    this.logs.push(log);
    const out = createWriteStream(log);
    const p = spawn(
      process.execPath,
      [
        ...startFlags(ROOT),
        CLI,
        'run',
        '--jsonl',
        this.paths.jsonl,
        '--journal',
        this.paths.journal,
        '-c',
        this.config,
        '--syslog',
        this.syslogUrl,
        '--no-console',
        '--stats-every',
        '10',
        // the agent stops when the soak dies (Ctrl-C): no orphan left capturing on a shared machine
        '--exit-with-parent',
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: this.env() },
    );
    let err = '';
    p.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.length > 1e6) err = err.slice(-1e5);
      out.write(d);
    });
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    const deadline = Date.now() + 60_000;
    while (!err.includes('monitoring;') && p.exitCode === null && p.signalCode === null && Date.now() < deadline) await sleep(50);
    if (p.exitCode !== null || p.signalCode !== null || !err.includes('monitoring;')) {
      if (p.exitCode === null) {
        p.kill('SIGKILL');
        await exited;
      }
      out.end();
      return { ok: false, output: err.slice(-2000) };
    }
    p.once('exit', () => out.end());
    this.proc = p;
    return { ok: true };
  }

  async start(): Promise<void> {
    const r = await this.startOnce();
    if (!r.ok) throw new Error(`sysmon-ts did not start: ${r.output}`);
  }

  /** kill -9, then restart at once, without waiting for the killed process to be gone (an
   *  admin's `kill -9 PID; sysmon-ts run`; the case); a refusal (the journal LOCK
   *  naming the killed pid while it is still exiting) is retried every 250 ms for up to 30 s */
  async killAndRestart(): Promise<RestartReport & { killedPid: number; killMs: number; readyMs: number; exitedAfterMs: number }> {
    const p = this.proc!;
    const killedPid = p.pid!;
    let exitedMs = 0;
    const exited = new Promise<void>((r) =>
      p.once('exit', () => {
        exitedMs = Date.now();
        r();
      }),
    );
    const killMs = Date.now();
    p.kill('SIGKILL');
    this.proc = null;
    const refusals: string[] = [];
    let attempts = 0;
    for (;;) {
      attempts++;
      const r = await this.startOnce();
      if (r.ok) break;
      refusals.push(r.output.split('\n').filter(Boolean).slice(-1)[0] ?? '');
      if (!/locked/i.test(r.output) || Date.now() - killMs > 30_000) throw new Error(`restart after kill -9 failed (${attempts} attempts): ${r.output}`);
      await sleep(250);
    }
    const readyMs = Date.now();
    await exited;
    return { killedPid, killMs, readyMs, exitedAfterMs: exitedMs - killMs, attempts, refusedMs: refusals.length ? readyMs - killMs : 0, refusals };
  }

  /** logrotate's numbered scheme (events.jsonl -> .1, .1 -> .2, ...), then SIGHUP.
   *  `copytruncate` is the negative control (--sabotage copytruncate): logrotate's copy, a
   *  300 ms pause standing in for a slow copy, truncate, no signal; sinks/README.md says it
   *  loses lines, and the soak has to report them */
  async rotate(mode: 'rename' | 'copytruncate' = 'rename'): Promise<void> {
    const names = readdirSync(this.paths.dir)
      .filter((n) => n.startsWith('events.jsonl.'))
      .map((n) => Number(n.slice('events.jsonl.'.length)))
      .filter(Number.isInteger);
    for (const i of names.sort((a, b) => b - a)) renameSync(`${this.paths.jsonl}.${i}`, `${this.paths.jsonl}.${i + 1}`);
    if (mode === 'copytruncate') {
      copyFileSync(this.paths.jsonl, `${this.paths.jsonl}.1`);
      await sleep(300);
      truncateSync(this.paths.jsonl, 0);
    } else {
      if (existsSync(this.paths.jsonl)) renameSync(this.paths.jsonl, `${this.paths.jsonl}.1`);
      this.proc!.kill('SIGHUP');
    }
    this.rotations++;
  }

  /** `sysmon-ts -c FILE` as an admin types it; returns its output */
  reload(config: string): string {
    const r = spawnSync(process.execPath, [CLI, '-c', config], { cwd: ROOT, env: this.env(), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`sysmon-ts -c ${config} exited ${r.status}: ${r.stderr}`);
    this.config = config;
    return r.stdout.trim();
  }

  sample(): void {
    const pid = this.proc?.pid;
    if (!pid) return;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN) / 1024;
      this.samples.push({ tMs: Date.now(), pid, rssMB: kB('VmRSS'), anonMB: kB('RssAnon'), fds: readdirSync(`/proc/${pid}/fd`).length });
      const stats = JSON.parse(readFileSync(join(this.paths.runDir, 'stats.json'), 'utf8')) as Record<string, unknown>;
      if (stats.pid === pid) this.lastStats.set(pid, stats);
    } catch {
      /* the process is exiting, or stats.json is being replaced */
    }
  }

  /** the running agent's latest stats.json (only if written by it) */
  stats(): Record<string, unknown> | null {
    try {
      const s = JSON.parse(readFileSync(join(this.paths.runDir, 'stats.json'), 'utf8')) as Record<string, unknown>;
      return s.pid === this.proc?.pid ? s : null;
    } catch {
      return null;
    }
  }

  async stop(): Promise<number | null> {
    const p = this.proc;
    if (!p) return null;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGTERM');
    const code = await exited;
    this.proc = null;
    return code;
  }

  /** warn/error lines of every agent log (pino JSON: level 40/50) */
  problems(): string[] {
    const out: string[] = [];
    for (const f of this.logs) {
      for (const l of readFileSync(f, 'utf8').split('\n')) {
        if (/"level":(40|50|60)/.test(l)) out.push(l.length > 300 ? `${l.slice(0, 300)}…` : l);
      }
    }
    return out;
  }
}
