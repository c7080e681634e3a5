// The running agent's state and `sysmon-ts status`.
//
// The agent writes two small files in its run directory (SYSMON_TS_RUN_DIR, /run/sysmon-ts;
// %ProgramData%\sysmon-ts\run on Windows: src/platform-paths.ts):
//   agent.json  {pid, config, journal, jsonl}: written at start, read by `-c` and `status`
//   stats.json  every few seconds: events accepted by EventID (totals and rate over the last
//               interval), kernel drops, decoder rejects, per-sink lag/health, journal figures
// Both are 0640 (root-readable; they hold paths, not events), replaced atomically.
// `status` shows: running or not, the config in force (path and SHA256), events/s by ID,
// drops, sink lags and the journal's size; `--json` prints the same as JSON.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { lockHolder } from '../fs/lock.js';
import { writeReplaceSync } from '../fs/safe-file.js';
import { dirname, join, resolve } from 'node:path';
import type { Agent } from '../agent.js';
import { eventDef } from '../events/schema.js';
import { journalStatus, type JournalStatus } from '../journal/index.js';
import { STATE_FILE } from '../paths.js';
import { cliPlatform, defaultPaths } from '../platform-paths.js';
import { defaultRoot, installedPaths } from './install.js';
import { WINDOWS_SERVICE, windowsInstalledPaths } from './install-windows.js';

export interface AgentState {
  pid: number;
  config: string | null;
  journal: string;
  jsonl: string | null;
  startedMs?: number;
}

export const STATS_FILE = join(dirname(STATE_FILE), 'stats.json');

function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  // O_EXCL temporary + rename (src/fs/safe-file.ts); a link at the path is replaced, not followed
  writeReplaceSync(path, text, 0o640, 'agent state', { fsync: false, allowLink: true });
}

export function writeState(s: AgentState, path = STATE_FILE): void {
  try {
    writeAtomic(path, JSON.stringify({ startedMs: Date.now(), ...s }));
  } catch {
    /* not fatal: only -c and status need it */
  }
}

export function readState(path = STATE_FILE): AgentState | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as AgentState;
  } catch {
    return null;
  }
}

export function clearState(path = STATE_FILE): void {
  const s = readState(path);
  if (s && s.pid === process.pid) {
    rmSync(path, { force: true });
    rmSync(join(dirname(path), 'stats.json'), { force: true });
  }
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface StatsSnapshot {
  timeMs: number;
  pid: number;
  intervalMs: number;
  config: string;
  configSha256: string;
  /** accepted events by EventID since start */
  totalById: Record<string, number>;
  /** accepted events per second by EventID over the last interval */
  rateById: Record<string, number>;
  records: number;
  rejected: number;
  kernelDrops: string;
  /** the journal's write backlog is full, so the ring is not read until it drains */
  capturePaused?: boolean;
  accepted: number;
  filtered: number;
  sinks: { name: string; health: string; lagRecords: number; lagSeconds: number; delivered: number; retried: number; lost: number; lastError: string | null }[];
  journal: { dir: string; bytes: number; segments: number; firstId: number; lastId: number };
}

/** Writes stats.json every `everyMs` while the agent runs; returns a stop function. */
export function startStatsWriter(agent: Agent, everyMs = Number(process.env.SYSMON_TS_STATS_FILE_MS ?? 5000), path = STATS_FILE): () => void {
  let prev = new Map<number, number>();
  let prevMs = Date.now();
  const tick = () => {
    try {
      const now = Date.now();
      const dt = Math.max(1, now - prevMs) / 1000;
      const totalById: Record<string, number> = {};
      const rateById: Record<string, number> = {};
      for (const [id, n] of agent.acceptedById) {
        totalById[id] = n;
        rateById[id] = Math.round(((n - (prev.get(id) ?? 0)) / dt) * 100) / 100;
      }
      prev = new Map(agent.acceptedById);
      const a = agent.stats();
      const f = agent.fanoutStats();
      const snap: StatsSnapshot = {
        timeMs: now,
        pid: process.pid,
        intervalMs: now - prevMs,
        config: a.config,
        configSha256: agent.config.sha256,
        totalById,
        rateById,
        records: a.records,
        rejected: a.rejected,
        kernelDrops: a.kernelDrops,
        capturePaused: a.capturePaused,
        accepted: a.accepted,
        filtered: a.filtered,
        sinks: f.sinks.map((s) => ({
          name: s.name,
          health: s.health,
          lagRecords: s.lagRecords,
          lagSeconds: Math.round(s.lagSeconds * 1000) / 1000,
          delivered: s.delivered,
          retried: s.retried,
          lost: s.lost,
          lastError: s.lastError,
        })),
        journal: { dir: f.journal.dir, bytes: f.journal.bytes, segments: f.journal.segments, firstId: f.journal.firstId, lastId: f.journal.lastId },
      };
      prevMs = now;
      writeAtomic(path, `${JSON.stringify(snap)}\n`);
    } catch {
      /* the next tick tries again */
    }
  };
  const first = setTimeout(tick, Math.min(everyMs, 1000));
  const timer = setInterval(tick, everyMs);
  timer.unref();
  first.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}

export interface StatusReport {
  running: boolean;
  pid: number | null;
  startedMs: number | null;
  service: { unit: string; installed: boolean };
  config: { path: string | null; sha256: string | null; loadedSha256: string | null; changedSinceLoad: boolean };
  jsonl: string | null;
  stats: StatsSnapshot | null;
  statsAgeMs: number | null;
  journal: JournalStatus | { dir: string; error: string };
  /** pid of the process holding the journal's lock (0: held, pid unknown), null when free */
  journalLockedBy: number | null;
}

function fileSha256(path: string | null): string | null {
  if (!path) return null;
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex').toUpperCase();
  } catch {
    return null;
  }
}

/** Where the installed service keeps its files, by platform. */
export interface ServiceLocations {
  service: string;
  marker: string;
  config: string;
  journal: string;
  jsonl: string;
}

export function serviceLocations(platform: NodeJS.Platform | string, root: string, env: Record<string, string | undefined>): ServiceLocations {
  if (cliPlatform(platform) === 'win32') {
    // no unit file: the installed config is what -i leaves behind (the SCM's list needs sc.exe query)
    const w = windowsInstalledPaths(env);
    return { service: `Windows service ${WINDOWS_SERVICE}`, marker: w.config, config: w.config, journal: w.journal, jsonl: w.jsonl };
  }
  const l = installedPaths(root);
  return { service: l.unit, marker: l.unit, config: l.config, journal: l.journal, jsonl: l.jsonl };
}

export interface StatusOptions {
  journal?: string;
  stateFile?: string;
  root?: string;
  platform?: NodeJS.Platform | string;
  env?: Record<string, string | undefined>;
}

export async function collectStatus(opts: StatusOptions = {}): Promise<StatusReport> {
  const platform = opts.platform ?? process.platform;
  const env = opts.env ?? process.env;
  const stateFile = opts.stateFile ?? (opts.platform === undefined && opts.env === undefined ? STATE_FILE : defaultPaths(platform, env).stateFile);
  const state = readState(stateFile);
  const running = state !== null && isRunning(state.pid);
  let stats: StatsSnapshot | null = null;
  if (running) {
    try {
      const s = JSON.parse(readFileSync(join(dirname(stateFile), 'stats.json'), 'utf8')) as StatsSnapshot;
      if (s.pid === state.pid) stats = s;
    } catch {
      /* not written yet */
    }
  }
  const inst = serviceLocations(platform, opts.root ?? defaultRoot(), env);
  const configPath = running ? state.config : existsSync(inst.config) ? inst.config : null;
  const sha = fileSha256(configPath);
  const dir = resolve(opts.journal ?? (running ? state.journal : null) ?? (existsSync(inst.journal) ? inst.journal : defaultPaths(platform, env).journalDir));
  let journal: StatusReport['journal'];
  try {
    journal = await journalStatus(dir);
  } catch (err) {
    journal = { dir, error: (err as Error).message };
  }
  let journalLockedBy: number | null = null;
  try {
    journalLockedBy = lockHolder(dir);
  } catch {
    /* no LOCK to probe */
  }
  return {
    running,
    pid: running ? state.pid : null,
    startedMs: running ? (state.startedMs ?? null) : null,
    service: { unit: inst.service, installed: existsSync(inst.marker) },
    config: { path: configPath, sha256: sha, loadedSha256: stats?.configSha256 ?? null, changedSinceLoad: !!(stats && sha && stats.configSha256 !== sha) },
    jsonl: running ? state.jsonl : existsSync(inst.jsonl) ? inst.jsonl : null,
    stats,
    statsAgeMs: stats ? Date.now() - stats.timeMs : null,
    journal,
    journalLockedBy,
  };
}

function mib(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

function eventName(id: number): string {
  try {
    return eventDef(id).ruleName ?? eventDef(id).template;
  } catch {
    return `Event${id}`;
  }
}

export function renderStatus(r: StatusReport): string {
  const L: string[] = [];
  if (r.running) {
    const up = r.startedMs ? ` since ${new Date(r.startedMs).toISOString()}` : '';
    L.push(`sysmon-ts: running (pid ${r.pid})${up}`);
  } else {
    L.push('sysmon-ts: NOT running');
  }
  L.push(`service unit: ${r.service.unit} (${r.service.installed ? 'installed' : 'not installed'})`);
  L.push(`config: ${r.config.path ?? '(none found)'}${r.config.sha256 ? `  SHA256=${r.config.sha256}` : ''}`);
  if (r.config.changedSinceLoad)
    L.push(`  note: the file changed since the agent loaded it (SHA256=${r.config.loadedSha256}); run: sysmon-ts -c ${r.config.path}`);
  if (r.jsonl) L.push(`events -> ${r.jsonl}`);
  const s = r.stats;
  if (s) {
    L.push(`stats (${((r.statsAgeMs ?? 0) / 1000).toFixed(1)} s old, over the last ${(s.intervalMs / 1000).toFixed(1)} s):`);
    const ids = Object.keys(s.totalById)
      .map(Number)
      .sort((a, b) => a - b);
    if (ids.length === 0) L.push('  no events yet');
    for (const id of ids)
      L.push(`  event ${String(id).padStart(3)} ${eventName(id).padEnd(28)} ${String(s.rateById[id] ?? 0).padStart(9)} /s   ${s.totalById[id]} total`);
    L.push(`  read ${s.records} records, accepted ${s.accepted}, filtered ${s.filtered}`);
    L.push(`drops: kernel ring ${s.kernelDrops}, decoder rejects ${s.rejected}, sink losses ${s.sinks.reduce((a, x) => a + x.lost, 0)}`);
    if (s.capturePaused) L.push('capture: PAUSED (the journal cannot write: its backlog is full; the kernel counts what it drops)');
    L.push('sinks:');
    for (const k of s.sinks)
      L.push(
        `  ${k.name.padEnd(10)} ${k.health.padEnd(9)} lag ${k.lagRecords} records / ${k.lagSeconds} s, delivered ${k.delivered}, retried ${k.retried}, lost ${k.lost}${k.lastError ? `, last error: ${k.lastError}` : ''}`,
      );
  } else if (r.running) {
    L.push('stats: not written yet (the agent writes them every 5 s)');
  }
  const j = r.journal;
  if ('error' in j) {
    L.push(`journal: ${j.dir}: ${j.error}`);
  } else {
    const lock = r.journalLockedBy === null ? 'not in use' : `in use by pid ${r.journalLockedBy || '?'}`;
    L.push(`journal: ${j.dir}  ${mib(j.bytes)} in ${j.segments} segment(s), records ${j.firstId}-${j.lastId}, ${lock}`);
    if (!s) for (const c of j.sinks) L.push(`  cursor ${c.sink.padEnd(10)} acked ${c.acked}, lag ${c.lagRecords} records`);
  }
  return `${L.join('\n')}\n`;
}

export async function runStatus(opts: StatusOptions & { json?: boolean; out?: { write(s: string): unknown } }): Promise<number> {
  const r = await collectStatus(opts);
  const out = opts.out ?? process.stdout;
  out.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : renderStatus(r));
  return r.running ? 0 : 3; // like systemctl status / LSB: 3 = not running
}
