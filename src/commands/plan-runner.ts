// Executes an install plan (commands/install-windows.ts) step by step, stopping at the first
// step that fails, and says which one and why. The command runner is a parameter so that the
// stop-at-first-failure and accepted-exit-code logic is tested without Windows.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { writeReplaceSync } from '../fs/safe-file.js';
import type { PlanStep } from './install-windows.js';
import { windowsCommandLine } from './install-windows.js';

export interface CommandResult {
  status: number | null;
  output: string;
}
export type RunCommand = (argv: readonly string[]) => CommandResult;

/**
 * Runs one command with our stdout/stderr (its messages appear as it prints them), not pipes:
 * spawnSync waits for a pipe's last writer, and a step may leave a process behind that holds
 * it (under Wine, RUNDLL32's InstallHinfSection starts the desktop's explorer.exe, which then
 * never exits and -i hung forever). Output is then only the spawn error, if any.
 */
export const spawnCommand: RunCommand = (argv) => {
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
  return { status: r.status, output: r.error ? r.error.message : '' };
};

/** Runs the steps; 0 when all succeeded, 1 after the first failure (the rest are not run). */
export function runPlan(steps: readonly PlanStep[], out: { write(s: string): unknown }, run: RunCommand = spawnCommand): number {
  for (const [n, s] of steps.entries()) {
    const label = `[${n + 1}/${steps.length}]`;
    try {
      if (s.kind === 'mkdir') mkdirSync(s.path, { recursive: true });
      // temporary + rename (src/fs/safe-file.ts): never through a link planted at the target
      else if (s.kind === 'copy') writeReplaceSync(s.to, readFileSync(s.from), 0o640, 'installed file');
      else if (s.kind === 'rmdir') rmSync(s.path, { recursive: true, force: true });
      else if (s.kind === 'delete') rmSync(s.path, { force: true });
      else {
        const r = run(s.argv);
        // Windows exit codes are DWORDs: fltmc's HRESULTs (0x801F....) may come back signed
        const status = r.status === null ? null : r.status >>> 0;
        if (status === null || !(s.okExitCodes ?? [0]).includes(status)) {
          out.write(
            `${label} failed: ${windowsCommandLine(s.argv)} (${s.why}): exit ${status === null ? 'none' : `${status} (0x${status.toString(16)})`}${r.output ? `: ${r.output}` : ''}\n`,
          );
          return 1;
        }
      }
    } catch (err) {
      out.write(`${label} failed (${s.why}): ${(err as Error).message}\n`);
      return 1;
    }
    out.write(`${label} ok: ${s.why}\n`);
  }
  return 0;
}
