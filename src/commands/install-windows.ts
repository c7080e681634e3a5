// `sysmon-ts -i [CONFIG]` / `-u [--purge]` on Windows: a plan of steps (commands, folders,
// copies), executed in order on Windows and printed by `--dry-run` anywhere, so the exact
// commands are unit-tested on Linux. No step has run on Windows yet; under Wine -i runs up to
// `fltmc load` (Wine has no fltmc), see test/windows/wine-service.test.ts.
//
// Install, as driver/windows/README.md's test plan (steps 3 and 6) does it by hand:
//   1. %ProgramData%\sysmon-ts, its ACL reset to SYSTEM + Administrators only (icacls, by SID so
//      it works in every language): ProgramData lets every user create files in subfolders.
//   2. journal, logs, run, driver and bin folders under it (inheriting that ACL).
//   3. the validated config copied to %ProgramData%\sysmon-ts\config.xml.
//   4. the driver: sysmon-ts.sys and sysmon-ts.inf staged together (the INF copies from its own
//      folder), installed by SETUPAPI's InstallHinfSection, loaded by `fltmc load SysmonTs`.
//      The driver must be signed first (test plan steps 1-2: test signing, a test certificate).
//   5. the service program (driver/windows/service: sysmon-ts-service.exe, built with mingw-w64)
//      copied to %ProgramData%\sysmon-ts\bin: it answers the Service Control Manager and runs
//      the agent as its child (node.exe cannot be a service program: the SCM would fail it with
//      error 1053); SERVICE_CONTROL_STOP closes the agent's stdin (`run --stop-on-stdin-close`),
//      which stops it cleanly (event 4 Stopped), and the agent's exit code is the service's.
//   6. the service: `sc.exe create` (exit 1073 = it exists already, fine), then `sc.exe config`
//      with the same settings (so a re-run of -i updates binPath after a move), a description,
//      failure actions (restart after 2 s, 2 s, 60 s; counter reset daily; also on a non-zero
//      exit, failureflag 1), and `sc.exe start`. It runs as LocalSystem (the driver's device
//      admits only SeTcbPrivilege holders), starts automatically, and depends on SysmonTs so
//      that the SCM loads the (demand-start) driver before it at boot.
// The service program ran under Wine's SCM (test/windows/wine-service.test.ts: sc.exe create,
// start, query, stop, delete), not yet on Windows.
import { win32 } from 'node:path';
import { programData } from '../platform-paths.js';

export const WINDOWS_SERVICE = 'sysmon-ts';
export const WINDOWS_DRIVER_SERVICE = 'SysmonTs';

export type PlanStep =
  | { kind: 'run'; argv: string[]; why: string; okExitCodes?: number[] }
  | { kind: 'mkdir'; path: string; why: string }
  | { kind: 'copy'; from: string; to: string; why: string }
  | { kind: 'rmdir'; path: string; why: string }
  | { kind: 'delete'; path: string; why: string };

export interface WindowsInstallPaths {
  base: string;
  config: string;
  journal: string;
  logDir: string;
  jsonl: string;
  runDir: string;
  driverDir: string;
  /** the service program (sysmon-ts-service.exe) and the log it appends the agent's output to */
  binDir: string;
  serviceExe: string;
  serviceLog: string;
}

export function windowsInstalledPaths(env: Record<string, string | undefined>): WindowsInstallPaths {
  const base = win32.join(programData(env), 'sysmon-ts');
  const logDir = win32.join(base, 'logs');
  return {
    base,
    config: win32.join(base, 'config.xml'),
    journal: win32.join(base, 'journal'),
    logDir,
    jsonl: win32.join(logDir, 'events.jsonl'),
    runDir: win32.join(base, 'run'),
    driverDir: win32.join(base, 'driver'),
    binDir: win32.join(base, 'bin'),
    serviceExe: win32.join(base, 'bin', 'sysmon-ts-service.exe'),
    serviceLog: win32.join(logDir, 'service.log'),
  };
}

/**
 * One argument quoted as CommandLineToArgvW and the MSVC runtime read it back: quoted when it
 * is empty or holds a space, tab or quote (or a cmd.exe metacharacter, so that a printed line
 * pastes safely into cmd.exe); a quote becomes \", and backslashes are doubled only where they
 * precede a quote (including the closing one).
 */
export function quoteWindowsArg(arg: string): string {
  if (arg !== '' && !/[ \t"&|<>^]/.test(arg)) return arg;
  let out = '"';
  let backslashes = 0;
  for (const ch of arg) {
    if (ch === '\\') {
      backslashes += 1;
      continue;
    }
    if (ch === '"') {
      out += '\\'.repeat(backslashes * 2 + 1) + '"';
      backslashes = 0;
      continue;
    }
    out += '\\'.repeat(backslashes) + ch;
    backslashes = 0;
  }
  return `${out}${'\\'.repeat(backslashes * 2)}"`;
}

export function windowsCommandLine(argv: readonly string[]): string {
  return argv.map(quoteWindowsArg).join(' ');
}

export interface WindowsServiceSource {
  /** node.exe that runs the service (process.execPath at install) */
  nodeExe: string;
  /** this checkout (src/bin.js loads tsx relative to itself: the service's cwd is System32) */
  checkout: string;
}

/** The agent's command line: this checkout's CLI `run` with the installed files, stopped by its service program. */
export function windowsServiceCommand(src: WindowsServiceSource, p: WindowsInstallPaths): string[] {
  return [
    src.nodeExe,
    win32.join(src.checkout, 'src', 'bin.js'),
    'run',
    '--config',
    p.config,
    '--journal',
    p.journal,
    '--jsonl',
    p.jsonl,
    '--no-console',
    '--stop-on-stdin-close',
  ];
}

/** The service's binPath: the service program, its log, and after `--` the agent's command line. */
export function windowsServiceBinPath(src: WindowsServiceSource, p: WindowsInstallPaths): string[] {
  return [p.serviceExe, '--log', p.serviceLog, '--', ...windowsServiceCommand(src, p)];
}

/** The service settings `sc.exe create` and `sc.exe config` both take (each value its own argument after "name="). */
function serviceSettings(src: WindowsServiceSource, p: WindowsInstallPaths): string[] {
  return [
    'binPath=',
    windowsCommandLine(windowsServiceBinPath(src, p)),
    'type=',
    'own',
    'start=',
    'auto',
    'error=',
    'normal',
    'obj=',
    'LocalSystem',
    'depend=',
    WINDOWS_DRIVER_SERVICE,
    'DisplayName=',
    'sysmon-ts',
  ];
}

export interface WindowsInstallInput extends WindowsServiceSource {
  /** the config to install (already validated by the caller) */
  config: string;
  env: Record<string, string | undefined>;
}

export function windowsInstallPlan(i: WindowsInstallInput): PlanStep[] {
  const p = windowsInstalledPaths(i.env);
  const driverBuild = win32.join(i.checkout, 'driver', 'windows');
  const stagedInf = win32.join(p.driverDir, 'sysmon-ts.inf');
  const sc = (...args: string[]): string[] => ['sc.exe', ...args];
  return [
    { kind: 'mkdir', path: p.base, why: "the service's folder" },
    {
      kind: 'run',
      argv: ['icacls.exe', p.base, '/inheritance:r', '/grant:r', '*S-1-5-18:(OI)(CI)F', '*S-1-5-32-544:(OI)(CI)F'],
      why: 'only SYSTEM and Administrators may read or write it (ProgramData lets users create files in subfolders)',
    },
    ...[p.journal, p.logDir, p.runDir, p.driverDir, p.binDir].map((path): PlanStep => ({ kind: 'mkdir', path, why: 'inherits that ACL' })),
    { kind: 'copy', from: i.config, to: p.config, why: 'the installed config (sysmon-ts -c FILE replaces it)' },
    {
      kind: 'copy',
      from: win32.join(driverBuild, 'service', 'build', 'sysmon-ts-service.exe'),
      to: p.serviceExe,
      why: 'the service program that runs the agent (make -C driver/windows/service)',
    },
    {
      kind: 'copy',
      from: win32.join(driverBuild, 'build', 'sysmon-ts.sys'),
      to: win32.join(p.driverDir, 'sysmon-ts.sys'),
      why: 'the driver (signed: test plan steps 1-2)',
    },
    { kind: 'copy', from: win32.join(driverBuild, 'sysmon-ts.inf'), to: stagedInf, why: 'its INF, next to it (the INF copies from its own folder)' },
    {
      kind: 'run',
      argv: ['RUNDLL32.EXE', 'SETUPAPI.DLL,InstallHinfSection', 'DefaultInstall.NTamd64', '132', stagedInf],
      why: 'installs the SysmonTs minifilter service (demand start, altitude 385210)',
    },
    { kind: 'run', argv: ['fltmc.exe', 'load', WINDOWS_DRIVER_SERVICE], okExitCodes: [0, 0x801f0007], why: 'loads it now (0x801F0007: already loaded)' },
    { kind: 'run', argv: sc('create', WINDOWS_SERVICE, ...serviceSettings(i, p)), okExitCodes: [0, 1073], why: 'the service (1073: it exists, updated next)' },
    { kind: 'run', argv: sc('config', WINDOWS_SERVICE, ...serviceSettings(i, p)), why: 'the same settings, for a re-install' },
    { kind: 'run', argv: sc('description', WINDOWS_SERVICE, 'Sysmon-compatible system activity logger (sysmon-ts)'), why: 'what services.msc shows' },
    {
      kind: 'run',
      argv: sc('failure', WINDOWS_SERVICE, 'reset=', '86400', 'actions=', 'restart/2000/restart/2000/restart/60000'),
      why: 'restart it when it dies',
    },
    { kind: 'run', argv: sc('failureflag', WINDOWS_SERVICE, '1'), why: 'also when it stops with an error exit code' },
    { kind: 'run', argv: sc('start', WINDOWS_SERVICE), okExitCodes: [0, 1056], why: 'start it (1056: already running)' },
  ];
}

export function windowsUninstallPlan(i: { env: Record<string, string | undefined>; purge: boolean }): PlanStep[] {
  const p = windowsInstalledPaths(i.env);
  const steps: PlanStep[] = [
    { kind: 'run', argv: ['sc.exe', 'stop', WINDOWS_SERVICE], okExitCodes: [0, 1060, 1062], why: 'stop the service (1060: not installed, 1062: not running)' },
    { kind: 'run', argv: ['sc.exe', 'delete', WINDOWS_SERVICE], okExitCodes: [0, 1060], why: 'remove it' },
    { kind: 'run', argv: ['fltmc.exe', 'unload', WINDOWS_DRIVER_SERVICE], okExitCodes: [0, 0x801f0013], why: 'unload the driver (0x801F0013: not loaded)' },
    {
      kind: 'run',
      argv: ['RUNDLL32.EXE', 'SETUPAPI.DLL,InstallHinfSection', 'DefaultUninstall.NTamd64', '132', win32.join(p.driverDir, 'sysmon-ts.inf')],
      why: 'remove the driver service and file',
    },
    { kind: 'rmdir', path: p.driverDir, why: 'the staged driver' },
    { kind: 'rmdir', path: p.binDir, why: 'the service program' },
    { kind: 'delete', path: p.config, why: 'the installed config (as on Linux, journal and logs stay)' },
  ];
  if (i.purge) steps.push({ kind: 'rmdir', path: p.base, why: 'config, journal, logs (--purge)' });
  return steps;
}

/** The plan as cmd.exe lines (what --dry-run prints; each with its reason as a REM). */
export function renderWindowsPlan(steps: readonly PlanStep[]): string {
  return steps
    .map((s) => {
      const line =
        s.kind === 'run'
          ? windowsCommandLine(s.argv)
          : s.kind === 'mkdir'
            ? `mkdir ${quoteWindowsArg(s.path)}`
            : s.kind === 'copy'
              ? `copy /y ${quoteWindowsArg(s.from)} ${quoteWindowsArg(s.to)}`
              : s.kind === 'delete'
                ? `del /f /q ${quoteWindowsArg(s.path)}`
                : `rmdir /s /q ${quoteWindowsArg(s.path)}`;
      return `REM ${s.why}\n${line}\n`;
    })
    .join('');
}
