// Permission checks the agent makes on itself and its files before trusting or writing them.
//
// - A config file decides what is logged and what is hidden: refuse one that anybody but
//   root could have written (owner not root, or group/other write bits set, on the file or
//   on a symlink's target), with a message saying how to fix it.
// - Output paths (JSONL, EVTX, journal): refuse a path that goes through a symbolic link
//   sitting in a world-writable directory (/tmp, /var/tmp, a chmod 777 dir): anybody could
//   have planted it to make root write over /etc/shadow. Symlinks elsewhere are the admin's.
//   The JSONL sink also opens its file with O_NOFOLLOW.
// - The journal directory is created 0700 and refused when group/others can write to it.
//
// The checks only apply when running as root (a non-root `view`/`filter` user is on their own):
// pass `asRoot` explicitly in tests.
import { chmodSync, lstatSync, mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

export class SecurityError extends Error {}

function isRoot(): boolean {
  return typeof process.geteuid === 'function' ? process.geteuid() === 0 : false;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Refuses a config file that is not owned by root or that group/others can write. */
export function checkConfigFile(path: string, opts: { asRoot?: boolean } = {}): void {
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
  if ((st.mode & 0o022) !== 0) problems.push(`its mode ${octal(st.mode)} lets ${(st.mode & 0o002) ? 'everybody' : 'its group'} change it`);
  if (problems.length > 0) {
    throw new SecurityError(`refusing config ${p}: ${problems.join(' and ')}; anyone who can write it decides what is logged. `
      + `Fix: sudo chown root:root ${p} && sudo chmod 0600 ${p}`);
  }
}

/**
 * Refuses an output path (file or directory) that goes through a symbolic link placed in a
 * world-writable directory. Checks every existing component of the absolute path.
 */
export function checkOutputPath(path: string, what = 'output'): void {
  const abs = resolve(path);
  const parts = abs.split(sep).filter(Boolean);
  let cur = '';
  for (const part of parts) {
    const parent = cur || sep;
    cur = `${cur}${sep}${part}`;
    let st: Stats;
    try {
      st = lstatSync(cur);
    } catch {
      return; // the rest does not exist yet: it will be created by us
    }
    if (!st.isSymbolicLink()) continue;
    let pst: Stats;
    try { pst = statSync(parent); } catch { continue; }
    if ((pst.mode & 0o002) !== 0) {
      throw new SecurityError(`refusing ${what} path ${abs}: ${cur} is a symbolic link in the world-writable directory ${parent} `
        + `(anyone could have planted it); use a path in a directory only root can write`);
    }
  }
}

/** Creates the directory 0700 when missing; refuses one group/others can write, or a planted symlink. */
export function ensurePrivateDir(dir: string, what = 'journal'): void {
  const abs = resolve(dir);
  checkOutputPath(abs, what);
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
