// Permission checks the agent makes on itself and its files before trusting or writing them.
//
// Linux (POSIX owner and mode bits):
// - A config file decides what is logged and what is hidden: refuse one that anybody but
//   root could have written (owner not root, or group/other write bits set, on the file or
//   on a symlink's target), with a message saying how to fix it.
// - Output paths (JSONL, EVTX, journal): refuse a path that goes through a symbolic link
//   sitting in a world-writable directory (/tmp, /var/tmp, a chmod 777 dir): anybody could
//   have planted it to make root write over /etc/shadow. Symlinks elsewhere are the admin's.
//   The JSONL sink also opens its file with O_NOFOLLOW.
// - The journal directory is created 0700 and refused when group/others can write to it.
// The checks only apply when running as root (a non-root `view`/`filter` user is on their own):
// pass `asRoot` explicitly in tests.
//
// Windows: files have ACLs, not owner/mode bits (Node reports every writable file as 0666), so
// the POSIX rules would be meaningless there, and reading ACLs needs native calls this module
// does not make. What is checked instead, always (there is no "root" to test for):
// - a config must be a regular file, and neither it nor the target of a link to it may lie in
//   a folder every user can write by default (%TEMP%, %TMP%, %SystemRoot%\Temp,
//   %PUBLIC%, the profiles under %SystemDrive%\Users): there, anyone could have written it;
// - output paths: refuse a symbolic link or junction sitting in one of those folders;
// - the journal directory is created, not mode-checked.
// NOT checked on Windows: the config's owner and ACL, the journal and log folders' ACLs. The
// install plan (commands/install-windows.ts) sets them (SYSTEM and Administrators only);
// `run` says once, on stderr, that a config outside the installed one is trusted as it is.
import { chmodSync, lstatSync, mkdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, join, parse, resolve, sep, win32 } from 'node:path';
import { cliPlatform, type CliPlatform } from './platform-paths.js';

export class SecurityError extends Error {}

type Env = Record<string, string | undefined>;

/** Which rules to apply: this process's platform and environment unless a test says otherwise. */
export interface PlatformOptions {
  platform?: NodeJS.Platform | string;
  env?: Env;
}

function platformOf(o: PlatformOptions): CliPlatform {
  return cliPlatform(o.platform ?? process.platform);
}

/**
 * Folders any local user can write to on a default Windows install, so a file or link found
 * in them may have been planted. From the environment, as Windows sets it; a variable that is
 * unset is simply not checked.
 */
export function windowsUserWritableDirs(env: Env): string[] {
  const drive = env.SystemDrive ?? env.SYSTEMDRIVE ?? 'C:';
  const systemRoot = env.SystemRoot ?? env.SYSTEMROOT ?? env.windir ?? `${drive}\\Windows`;
  const dirs = [env.TEMP, env.TMP, win32.join(systemRoot, 'Temp'), env.PUBLIC, win32.join(`${drive}\\`, 'Users')];
  return [...new Set(dirs.filter((d): d is string => !!d && win32.isAbsolute(d)).map((d) => win32.resolve(d)))];
}

/** The user-writable folder (of windowsUserWritableDirs) that contains `path`, or null. Case-insensitive, as NTFS names are. */
export function windowsUserWritableDirOf(path: string, env: Env): string | null {
  const p = win32.resolve(path).toLowerCase();
  for (const dir of windowsUserWritableDirs(env)) {
    const d = dir.toLowerCase().replace(/\\+$/, '');
    if (p === d || p.startsWith(`${d}\\`)) return dir;
  }
  return null;
}

/** What `run` tells the admin once about checks it cannot make on this platform (null: none). */
export function uncheckedNotice(platform: NodeJS.Platform | string = process.platform): string | null {
  if (cliPlatform(platform) !== 'win32') return null;
  return (
    "on Windows the config's owner and ACL are not checked (only that it is not in a folder every user can write, such as %TEMP%): " +
    'make sure only SYSTEM and Administrators can write it, e.g. icacls FILE /inheritance:r /grant:r *S-1-5-18:F *S-1-5-32-544:F'
  );
}

function isRoot(): boolean {
  return typeof process.geteuid === 'function' ? process.geteuid() === 0 : false;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Refuses a config file that is not owned by root or that group/others can write (Windows: see the header). */
export function checkConfigFile(path: string, opts: { asRoot?: boolean } & PlatformOptions = {}): void {
  if (platformOf(opts) === 'win32') {
    checkWindowsConfigFile(path, opts.env ?? process.env);
    return;
  }
  if (!(opts.asRoot ?? isRoot())) return;
  const p = resolve(path);
  let st: Stats;
  try {
    st = statSync(p); // follows a symlink: the target is what gets read
  } catch (err) {
    throw new SecurityError(`config ${p}: ${(err as Error).message}`);
  }
  if (!st.isFile()) throw new SecurityError(`config ${p} is not a regular file`);
  const problems: string[] = [];
  if (st.uid !== 0) problems.push(`it is owned by uid ${st.uid}, not root`);
  if ((st.mode & 0o022) !== 0) problems.push(`its mode ${octal(st.mode)} lets ${st.mode & 0o002 ? 'everybody' : 'its group'} change it`);
  if (problems.length > 0) {
    throw new SecurityError(
      `refusing config ${p}: ${problems.join(' and ')}; anyone who can write it decides what is logged. ` +
        `Fix: sudo chown root:root ${p} && sudo chmod 0600 ${p}`,
    );
  }
}

function checkWindowsConfigFile(path: string, env: Env): void {
  const p = resolve(path); // this host's resolve (win32's on Windows), so the file can be read where the tests run
  let real: string;
  let st: Stats;
  try {
    st = statSync(p);
    real = realpathSync(p); // a link's target is what gets read
  } catch (err) {
    throw new SecurityError(`config ${p}: ${(err as Error).message}`);
  }
  if (!st.isFile()) throw new SecurityError(`config ${p} is not a regular file`);
  for (const candidate of new Set([p, real])) {
    const dir = windowsUserWritableDirOf(candidate, env);
    if (dir) {
      throw new SecurityError(
        `refusing config ${p}${candidate !== p ? ` (a link to ${candidate})` : ''}: it is in ${dir}, which every user can write; ` +
          `anyone who can write it decides what is logged. Fix: copy it to a folder only Administrators can write (sysmon-ts -i FILE installs it under %ProgramData%\\sysmon-ts)`,
      );
    }
  }
}

/** Each existing-or-not prefix of `abs` with its parent, root first: /a/b -> (/, /a), (/a, /a/b); C:\a -> (C:\, C:\a). */
function pathSteps(abs: string): { parent: string; cur: string }[] {
  const root = parse(abs).root;
  const steps: { parent: string; cur: string }[] = [];
  let cur = root;
  for (const part of abs.slice(root.length).split(sep).filter(Boolean)) {
    const parent = cur;
    cur = join(cur, part);
    steps.push({ parent, cur });
  }
  return steps;
}

/**
 * Refuses an output path (file or directory) that goes through a symbolic link placed in a
 * world-writable directory (Linux: mode o+w; Windows: one of windowsUserWritableDirs). Checks
 * every existing component of the absolute path.
 */
export function checkOutputPath(path: string, what = 'output', opts: PlatformOptions = {}): void {
  const win = platformOf(opts) === 'win32';
  const env = opts.env ?? process.env;
  // walked with this host's path rules (the files are here); only the verdict is per platform
  const abs = resolve(path);
  for (const { parent, cur } of pathSteps(abs)) {
    let st: Stats;
    try {
      st = lstatSync(cur);
    } catch {
      return; // the rest does not exist yet: it will be created by us
    }
    if (!st.isSymbolicLink()) continue; // Node reports Windows junctions as symbolic links too
    if (win) {
      if (windowsUserWritableDirOf(parent, env) === null) continue;
      throw new SecurityError(
        `refusing ${what} path ${abs}: ${cur} is a symbolic link or junction in ${parent}, which every user can write ` +
          `(anyone could have planted it); use a path in a folder only Administrators can write`,
      );
    }
    let pst: Stats;
    try {
      pst = statSync(parent);
    } catch {
      continue;
    }
    if ((pst.mode & 0o002) !== 0) {
      throw new SecurityError(
        `refusing ${what} path ${abs}: ${cur} is a symbolic link in the world-writable directory ${parent} ` +
          `(anyone could have planted it); use a path in a directory only root can write`,
      );
    }
  }
}

/**
 * Creates the directory 0700 when missing; refuses one group/others can write, or a planted
 * symlink. Windows: creates it and refuses a planted link; its ACL is the install plan's job.
 */
export function ensurePrivateDir(dir: string, what = 'journal', opts: PlatformOptions = {}): void {
  const win = platformOf(opts) === 'win32';
  const abs = resolve(dir);
  checkOutputPath(abs, what, opts);
  if (win) {
    mkdirSync(abs, { recursive: true });
    if (!statSync(abs).isDirectory()) throw new SecurityError(`${what} ${abs} is not a directory`);
    return;
  }
  mkdirSync(dirname(abs), { recursive: true });
  try {
    mkdirSync(abs, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = statSync(abs);
  if (!st.isDirectory()) throw new SecurityError(`${what} ${abs} is not a directory`);
  if ((st.mode & 0o022) !== 0) {
    throw new SecurityError(`refusing ${what} directory ${abs}: mode ${octal(st.mode)} lets others write to it. Fix: chmod 0700 ${abs}`);
  }
  if (isRoot() && st.uid !== 0) throw new SecurityError(`refusing ${what} directory ${abs}: owned by uid ${st.uid}, not root`);
}

/** Sets a file's mode when it differs (config copies, state files). */
export function tightenMode(path: string, mode: number): void {
  const st = statSync(path);
  if ((st.mode & 0o777) !== mode) chmodSync(path, mode);
}
