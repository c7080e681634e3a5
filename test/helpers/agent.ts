// Runs the real monitor (src/cli.ts run) as a child process with its own journal and JSONL
// file in a temporary directory, and reads the events it writes. Tests pick out their own
// events by pid, path or marker: other activity on the machine is normal.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';

export interface JsonEvent {
  EventID: number;
  EventName: string;
  Version: number;
  EventRecordID: number;
  Computer: string;
  TimeCreated: string;
  Provider: string;
  Channel: string;
  EventData: Record<string, string | number | boolean>;
}

export class AgentProcess {
  readonly dir: string;
  readonly jsonl: string;
  readonly journal: string;
  child!: ChildProcess;
  stderr = '';
  /** the CLI command before the options ([] runs `sysmon-ts [options]`, which is run too) */
  command: string[] = ['run'];
  /** how the CLI is started (default: the sources through tsx; COMPILED_CLI runs dist/) */
  entry: string[] = ['--import', 'tsx', join(ROOT, 'src/cli.ts')];
  private exit: Promise<number | null> | null = null;
  /** seconds between the agent's stats lines on stderr (0: none) */
  statsEverySeconds = 0;

  constructor(
    private readonly extraArgs: string[] = [],
    dir?: string,
  ) {
    this.dir = dir ?? mkdtempSync(join(tmpdir(), 'sysmon-ts-test-'));
    this.jsonl = join(this.dir, 'events.jsonl');
    this.journal = join(this.dir, 'journal');
  }

  async start(timeoutMs = 30_000): Promise<void> {
    // a restart in the same directory: wait for this run's event 4, not an earlier one
    const earlier = this.events().filter((e) => e.EventID === 4 && e.EventData.State === 'Started').length;
    this.child = spawn(
      process.execPath,
      [
        ...this.entry,
        ...this.command,
        '--jsonl',
        this.jsonl,
        '--journal',
        this.journal,
        '--no-console',
        '--stats-every',
        String(this.statsEverySeconds),
        '--exit-with-parent',
        ...this.extraArgs,
      ],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, SYSMON_TS_RUN_DIR: join(this.dir, 'run') },
      },
    );
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exit = new Promise((r) => this.child.once('exit', (code) => r(code)));
    await this.waitFor((e) => e.EventID === 4 && e.EventData.State === 'Started', timeoutMs, 'event 4 Started', earlier + 1);
  }

  events(): JsonEvent[] {
    if (!existsSync(this.jsonl)) return [];
    const out: JsonEvent[] = [];
    const text = readFileSync(this.jsonl, 'utf8');
    // a batch being written shows up page by page: only whole lines count (as for tail -F)
    for (const line of text.slice(0, text.lastIndexOf('\n') + 1).split('\n')) {
      if (line) out.push(JSON.parse(line) as JsonEvent);
    }
    return out;
  }

  /** Polls the JSONL file until `pred` holds for some event (or `count` events). */
  async waitFor(pred: (e: JsonEvent) => boolean, timeoutMs = 15_000, what = 'event', count = 1): Promise<JsonEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hits = this.events().filter(pred);
      if (hits.length >= count) return hits;
      if (this.child.exitCode !== null) throw new Error(`agent exited (${this.child.exitCode}) while waiting for ${what}:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${hits.length}/${count}); agent stderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    if (!this.exit) return null;
    if (this.child.exitCode === null) this.child.kill(signal);
    return this.exit;
  }
}

/** Spawns a command and resolves with its pid once it has exited. */
export function runCommand(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<{ pid: number; code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    c.once('error', reject);
    // 'close', not 'exit': stdout may still hold data when the process has exited
    c.once('close', (code) => resolve({ pid: c.pid!, code, stdout }));
  });
}
