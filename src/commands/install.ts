// `sysmon-ts -i [CONFIG]` / `-u [--purge]`: install as a systemd service, like `sysmon -i`.
// On Windows, a Windows service and the driver instead (install-windows.ts). `--dry-run` prints
// what would be done, on both, and changes nothing.
//
// Files (all under --root DIR / SYSMON_TS_ROOT, default "/", so tests install into a temp dir):
//   /etc/systemd/system/sysmon-ts.service   the unit (0644); enabled by a multi-user.target.wants link
//   /etc/sysmon-ts/config.xml               the installed config (0600 root): -c FILE replaces it
//   /var/lib/sysmon-ts/journal              the journal (dirs 0700, files 0640)
//   /var/log/sysmon-ts/events.jsonl         the JSONL events (dir 0750, file 0640)
//   /usr/local/bin/sysmon-ts                wrapper running this checkout's CLI
// The unit runs this checkout's compiled CLI (dist/, else node + tsx + src/cli.ts) `run` with the installed config, as root
// with a capability bounding set that still allows BPF (CAP_BPF, CAP_PERFMON, ...), a read-only
// system (ProtectSystem=strict) except its data, log and run directories, Restart=always.
// Where systemd is not running (containers, this test machine) the unit is still written and
// enabled for the next boot, and the command to start the agent by hand is printed.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { writeReplaceSync } from '../fs/safe-file.js';
import { dirname, join, resolve, win32 } from 'node:path';
import { loadConfigFile } from '../config/index.js';
import { BUNDLED_CONFIG, cliCommand, ROOT } from '../paths.js';
import { cliPlatform } from '../platform-paths.js';
import { checkConfigFile, ensurePrivateDir, SecurityError } from '../file-permissions.js';
import { renderWindowsPlan, windowsInstalledPaths, windowsInstallPlan, windowsUninstallPlan } from './install-windows.js';
import { runPlan } from './plan-runner.js';

export const UNIT_NAME = 'sysmon-ts.service';

export interface InstallPaths {
  root: string;
  unit: string;
  wants: string;
  configDir: string;
  config: string;
  dataDir: string;
  journal: string;
  logDir: string;
  jsonl: string;
  runDir: string;
  bin: string;
}

export function defaultRoot(): string {
  return process.env.SYSMON_TS_ROOT ?? '/';
}

export function installedPaths(root = defaultRoot()): InstallPaths {
  const r = resolve(root);
  const at = (p: string) => (r === '/' ? p : join(r, p));
  return {
    root: r,
    unit: at(`/etc/systemd/system/${UNIT_NAME}`),
    wants: at(`/etc/systemd/system/multi-user.target.wants/${UNIT_NAME}`),
    configDir: at('/etc/sysmon-ts'),
    config: at('/etc/sysmon-ts/config.xml'),
    dataDir: at('/var/lib/sysmon-ts'),
    journal: at('/var/lib/sysmon-ts/journal'),
    logDir: at('/var/log/sysmon-ts'),
    jsonl: at('/var/log/sysmon-ts/events.jsonl'),
    runDir: at('/run/sysmon-ts'),
    bin: at('/usr/local/bin/sysmon-ts'),
  };
}

export interface ServiceCommand {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/** What the unit runs: this checkout's compiled CLI (else tsx + src/cli.ts) `run` with the installed files. */
export function serviceCommand(p: InstallPaths): ServiceCommand {
  return {
    argv: [...cliCommand(), 'run', '--config', p.config, '--journal', p.journal, '--jsonl', p.jsonl, '--no-console'],
    env: { SYSMON_TS_DATA_DIR: p.dataDir, SYSMON_TS_LOG_DIR: p.logDir, SYSMON_TS_RUN_DIR: p.runDir, SYSMON_TS_ROOT: p.root },
    cwd: ROOT,
  };
}

function unitQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Shell-quoted command line (for the "start it by hand" message). */
export function shellLine(c: ServiceCommand): string {
  const q = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return `cd ${q(c.cwd)} && ${Object.entries(c.env)
    .map(([k, v]) => `${k}=${q(v)}`)
    .join(' ')} ${c.argv.map(q).join(' ')}`;
}

export function renderUnit(p: InstallPaths): string {
  const c = serviceCommand(p);
  const systemRun = p.runDir === '/run/sysmon-ts';
  const rw = [p.dataDir, p.logDir, ...(systemRun ? [] : [p.runDir])];
  return `# Installed by "sysmon-ts -i" (${new Date().toISOString().slice(0, 10)}); removed by "sysmon-ts -u".
[Unit]
Description=sysmon-ts: Sysmon-compatible system activity logger (eBPF)
Documentation=file://${ROOT}/README.md
After=local-fs.target network.target
StartLimitIntervalSec=60
StartLimitBurst=10

[Service]
Type=simple
WorkingDirectory=${unitQuote(c.cwd)}
${Object.entries(c.env)
  .map(([k, v]) => `Environment=${unitQuote(`${k}=${v}`)}`)
  .join('\n')}
Environment=SYSMON_TS_LOG_LEVEL=info
ExecStart=${c.argv.map(unitQuote).join(' ')}
ExecReload=/bin/kill -HUP $MAINPID
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=always
RestartSec=2
${systemRun ? 'RuntimeDirectory=sysmon-ts\nRuntimeDirectoryMode=0750\n' : ''}UMask=0027
LimitMEMLOCK=infinity
# Hardening that still lets it load and attach eBPF programs and read /proc of every process
User=root
CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_SYS_RESOURCE CAP_SYS_PTRACE CAP_DAC_READ_SEARCH
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=${rw.map(unitQuote).join(' ')}
ProtectHome=read-only
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`;
}

export interface Out {
  write(s: string): unknown;
}

function systemdRunning(p: InstallPaths): boolean {
  return p.root === '/' && existsSync('/run/systemd/system') && spawnSync('sh', ['-c', 'command -v systemctl']).status === 0;
}

function systemctl(args: string[], out: Out): boolean {
  const r = spawnSync('systemctl', args, { encoding: 'utf8' });
  if (r.status !== 0) out.write(`systemctl ${args.join(' ')} failed: ${(r.stderr || r.stdout).trim()}\n`);
  return r.status === 0;
}

/** `systemd-analyze verify UNIT`: null when fine, the complaints otherwise, undefined when the tool is missing. */
export function verifyUnit(unitPath: string): string | null | undefined {
  if (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0) return undefined;
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', unitPath], { encoding: 'utf8' });
  const text = `${r.stdout}${r.stderr}`
    .split('\n')
    .filter((l) => l.trim() && !/Failed to connect to bus|Failed to load unit .*\.target|manager: /.test(l))
    .join('\n');
  return r.status === 0 && text === '' ? null : text || `systemd-analyze exited ${r.status}`;
}

/** O_EXCL temporary + rename (src/fs/safe-file.ts): a symlink planted at the path is refused, never followed. */
function writeFileAtomic(path: string, data: string | Buffer, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeReplaceSync(path, data, mode, 'installed file', { owner: process.getuid?.() === 0 ? { uid: 0, gid: 0 } : undefined });
}

/** Where -i puts the config (and `-c FILE` replaces it), by platform. */
export function installedConfig(
  root = defaultRoot(),
  platform: NodeJS.Platform | string = process.platform,
  env: Record<string, string | undefined> = process.env,
): Pick<InstallPaths, 'configDir' | 'config'> {
  if (cliPlatform(platform) === 'win32') {
    const w = windowsInstalledPaths(env);
    return { configDir: w.base, config: w.config };
  }
  const p = installedPaths(root);
  return { configDir: p.configDir, config: p.config };
}

/** Copies a validated config to the installed path, 0600 root:root (Windows: the folder's ACL, set by -i, applies). Returns the warnings. */
export function installConfig(src: string, p: Pick<InstallPaths, 'configDir' | 'config'>): string[] {
  const from = resolve(src);
  const loaded = loadConfigFile(from); // throws "FILE:LINE: what is wrong"
  const warnings: string[] = [...loaded.warnings];
  try {
    checkConfigFile(from);
  } catch (err) {
    if (!(err instanceof SecurityError)) throw err;
    warnings.push(`warning: ${err.message.replace(/^refusing /, 'the source ')} (the installed copy is root-only)`);
  }
  mkdirSync(dirname(p.configDir), { recursive: true });
  mkdirSync(p.configDir, { recursive: true, mode: 0o750 });
  chmodSync(p.configDir, 0o750);
  writeFileAtomic(p.config, readFileSync(from), 0o600);
  return warnings;
}

/** Which service manager to install for, and whether to only print what would be done. */
export interface PlanOptions {
  platform?: NodeJS.Platform | string;
  dryRun?: boolean;
  env?: Record<string, string | undefined>;
}

export interface InstallOptions extends PlanOptions {
  config?: string;
  root?: string;
  out?: Out;
  start?: boolean;
}

/** What -i does on Linux, as text: the files written and the commands run (--dry-run). */
export function renderLinuxInstallPlan(src: string, p: InstallPaths): string {
  return [
    `# sysmon-ts -i (systemd): nothing was changed (--dry-run)`,
    `check ${resolve(src)} and copy it to ${p.config} (0600 root; dir ${p.configDir} 0750)`,
    `mkdir ${p.dataDir} ${p.journal} (0700)`,
    `mkdir ${p.logDir} (0750)`,
    `write ${p.unit} (0644):`,
    ...renderUnit(p)
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`),
    `ln -s ../${UNIT_NAME} ${p.wants}`,
    `write ${p.bin} (0755): runs ${join(ROOT, 'src', 'bin.js')}`,
    `systemctl daemon-reload && systemctl enable ${UNIT_NAME} && systemctl restart ${UNIT_NAME}`,
    '',
  ].join('\n');
}

function runWindowsInstall(src: string, o: InstallOptions, out: Out): number {
  loadConfigFile(resolve(src)); // throws "FILE:LINE: what is wrong"
  try {
    checkConfigFile(src, { platform: 'win32', env: o.env });
  } catch (err) {
    if (!(err instanceof SecurityError)) throw err;
    out.write(`warning: ${err.message.replace(/^refusing /, 'the source ')} (the installed copy is in a folder only SYSTEM and Administrators can write)\n`);
  }
  const plan = windowsInstallPlan({ config: resolve(src), env: o.env ?? process.env, nodeExe: process.execPath, checkout: ROOT });
  if (o.dryRun) {
    out.write(`REM sysmon-ts -i (Windows service): nothing was changed (--dry-run)\n${renderWindowsPlan(plan)}`);
    return 0;
  }
  return runPlan(plan, out);
}

export function runInstall(o: InstallOptions): number {
  const out = o.out ?? process.stdout;
  const src = o.config && o.config !== '' ? o.config : BUNDLED_CONFIG;
  if (cliPlatform(o.platform ?? process.platform) === 'win32') return runWindowsInstall(src, o, out);
  const p = installedPaths(o.root);
  if (o.dryRun) {
    loadConfigFile(resolve(src));
    out.write(renderLinuxInstallPlan(src, p));
    return 0;
  }
  if (process.getuid?.() !== 0) throw new SecurityError('sysmon-ts -i needs root (it writes /etc, /var/lib, /var/log and a systemd unit): try sudo');
  for (const w of installConfig(src, p)) out.write(`${w}\n`);
  ensurePrivateDir(p.dataDir, 'data');
  ensurePrivateDir(p.journal, 'journal');
  mkdirSync(dirname(p.logDir), { recursive: true });
  mkdirSync(p.logDir, { recursive: true, mode: 0o750 });
  chmodSync(p.logDir, 0o750);
  writeFileAtomic(p.unit, renderUnit(p), 0o644);
  mkdirSync(dirname(p.wants), { recursive: true });
  rmSync(p.wants, { force: true });
  symlinkSync(`../${UNIT_NAME}`, p.wants);
  const cmd = serviceCommand(p);
  writeFileAtomic(
    p.bin,
    `#!/bin/sh\n# sysmon-ts CLI (installed by "sysmon-ts -i")\n${Object.entries(cmd.env)
      .map(([k, v]) => `: "\${${k}:=${v}}"; export ${k}`)
      .join('\n')}\nexec ${process.execPath} ${join(ROOT, 'src', 'bin.js')} "$@"\n`,
    0o755,
  );

  out.write(`sysmon-ts installed (source ${resolve(src)}):\n`);
  out.write(`  unit     ${p.unit}\n  config   ${p.config} (0600 root; change it with: sysmon-ts -c FILE)\n`);
  out.write(`  journal  ${p.journal}\n  events   ${p.jsonl} (JSONL, one event per line)\n  cli      ${p.bin}\n`);
  const problems = verifyUnit(p.unit);
  if (problems) out.write(`systemd-analyze verify reports:\n${problems}\n`);
  if (o.start === false) return 0;
  if (systemdRunning(p)) {
    const ok = systemctl(['daemon-reload'], out) && systemctl(['enable', UNIT_NAME], out) && systemctl(['restart', UNIT_NAME], out);
    if (!ok) return 1;
    out.write(`started: systemctl status ${UNIT_NAME}; sysmon-ts status; sysmon-ts view --follow\n`);
  } else {
    out.write(`systemd is not running here, so the service was not started (it is enabled for the next boot with systemd).\n`);
    out.write(`Start it by hand (as root):\n  ${shellLine(cmd)}\n`);
  }
  return 0;
}

function stopUnmanaged(p: InstallPaths, out: Out): void {
  try {
    const s = JSON.parse(readFileSync(join(p.runDir, 'agent.json'), 'utf8')) as { pid: number; config: string | null };
    if (s.config !== p.config) return;
    try {
      process.kill(s.pid, 'SIGTERM');
    } catch {
      return;
    }
    out.write(`stopping sysmon-ts (pid ${s.pid})\n`);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      try {
        process.kill(s.pid, 0);
      } catch {
        return;
      }
      spawnSync('sleep', ['0.1']);
    }
    out.write(`pid ${s.pid} did not stop within 15 s\n`);
  } catch {
    /* nothing running */
  }
}

export function runUninstall(o: { root?: string; purge?: boolean; out?: Out } & PlanOptions): number {
  const out = o.out ?? process.stdout;
  if (cliPlatform(o.platform ?? process.platform) === 'win32') {
    const plan = windowsUninstallPlan({ env: o.env ?? process.env, purge: o.purge === true });
    if (o.dryRun) {
      out.write(`REM sysmon-ts -u (Windows service): nothing was changed (--dry-run)\n${renderWindowsPlan(plan)}`);
      return 0;
    }
    return runPlan(plan, out);
  }
  const p = installedPaths(o.root);
  if (o.dryRun) {
    out.write(
      [
        `# sysmon-ts -u (systemd): nothing was changed (--dry-run)`,
        `systemctl disable --now ${UNIT_NAME}`,
        `rm ${p.wants} ${p.unit} ${p.bin}`,
        `rm -r ${p.configDir}`,
        'systemctl daemon-reload',
        o.purge ? `rm -r ${p.dataDir} ${p.logDir}` : `(kept: ${p.journal}, ${p.logDir})`,
        '',
      ].join('\n'),
    );
    return 0;
  }
  if (process.getuid?.() !== 0) throw new SecurityError('sysmon-ts -u needs root: try sudo');
  const present = existsSync(p.unit) || existsSync(p.config);
  if (systemdRunning(p) && existsSync(p.unit)) {
    systemctl(['disable', '--now', UNIT_NAME], out);
  }
  stopUnmanaged(p, out);
  for (const f of [p.wants, p.unit, p.bin]) {
    try {
      lstatSync(f);
      unlinkSync(f);
    } catch {
      /* not there */
    }
  }
  rmSync(p.configDir, { recursive: true, force: true });
  if (systemdRunning(p)) systemctl(['daemon-reload'], out);
  if (o.purge) {
    rmSync(p.dataDir, { recursive: true, force: true });
    rmSync(p.logDir, { recursive: true, force: true });
    out.write(`sysmon-ts ${present ? 'uninstalled' : 'was not installed'}; journal and logs purged (${p.dataDir}, ${p.logDir})\n`);
  } else {
    out.write(
      `sysmon-ts ${present ? 'uninstalled' : 'was not installed'}; kept the journal ${p.journal} and events ${p.logDir} (remove them with: sysmon-ts -u --purge)\n`,
    );
  }
  return present ? 0 : 1;
}

/** `-c FILE` when the agent runs the installed config: replace the installed copy (0600). */
export function isInstalledConfig(path: string | null | undefined, root = defaultRoot(), platform: NodeJS.Platform | string = process.platform): boolean {
  if (!path) return false;
  const installed = installedConfig(root, platform).config;
  // NTFS names compare case-insensitively
  return cliPlatform(platform) === 'win32' ? win32.resolve(path).toLowerCase() === installed.toLowerCase() : resolve(path) === installed;
}
