// Default locations of the agent's data, logs and run state, by platform. A pure function of
// the platform and the environment (so Windows' layout is testable on Linux); src/paths.ts
// applies it to this process.
//
// linux: /var/lib/sysmon-ts, /var/log/sysmon-ts, /run/sysmon-ts (as before; Sysmon-like FHS
//        places, and what the systemd unit's ReadWritePaths name).
// win32: %ProgramData%\sysmon-ts\{journal,logs,run}: the machine-wide data folder services use
//        (Sysmon itself keeps its archive at the volume root, which we do not imitate). The
//        install plan (install-windows.ts) restricts that folder's ACL to SYSTEM and
//        Administrators, since ProgramData lets every user create files in new subfolders.
// SYSMON_TS_DATA_DIR / SYSMON_TS_LOG_DIR / SYSMON_TS_RUN_DIR override each, on both.
import { posix, win32 } from 'node:path';

export type CliPlatform = 'linux' | 'win32';

export interface DefaultPaths {
  dataDir: string;
  journalDir: string;
  logDir: string;
  jsonl: string;
  runDir: string;
  /** {pid, config, journal, jsonl} of the running agent, read by `-c` and `status` */
  stateFile: string;
  /** figures the running agent refreshes for `status` */
  statsFile: string;
}

type Env = Record<string, string | undefined>;

/** Any platform that is not win32 is treated as Linux (the only other one with a driver). */
export function cliPlatform(platform: NodeJS.Platform | string = process.platform): CliPlatform {
  return platform === 'win32' ? 'win32' : 'linux';
}

/** %ProgramData%, as Windows sets it for services and users; C:\ProgramData when unset. */
export function programData(env: Env): string {
  return env.ProgramData ?? env.PROGRAMDATA ?? env.ALLUSERSPROFILE ?? 'C:\\ProgramData';
}

export function defaultPaths(platform: NodeJS.Platform | string, env: Env): DefaultPaths {
  const win = cliPlatform(platform) === 'win32';
  const p = win ? win32 : posix;
  const base = win ? p.join(programData(env), 'sysmon-ts') : null;
  const dataDir = env.SYSMON_TS_DATA_DIR ?? base ?? '/var/lib/sysmon-ts';
  const logDir = env.SYSMON_TS_LOG_DIR ?? (base ? p.join(base, 'logs') : '/var/log/sysmon-ts');
  const runDir = env.SYSMON_TS_RUN_DIR ?? (base ? p.join(base, 'run') : '/run/sysmon-ts');
  return {
    dataDir,
    journalDir: p.join(dataDir, 'journal'),
    logDir,
    jsonl: p.join(logDir, 'events.jsonl'),
    runDir,
    stateFile: p.join(runDir, 'agent.json'),
    statsFile: p.join(runDir, 'stats.json'),
  };
}
