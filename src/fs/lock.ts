// A directory lock the kernel releases when its holder dies: what keeps two agents from
// writing one journal.
//
// Linux: "<dir>/LOCK" is opened (O_NOFOLLOW, created 0640 if missing, never deleted) and
// flock(LOCK_EX | LOCK_NB)'ed; the fd stays open while the lock is held. The kernel drops the
// lock when the fd is closed, which it does itself when the process dies however it dies
// (kill -9, OOM, a crash), so nothing stale survives: not a pid that a later process may
// reuse after a power loss, not a holder that is still exiting. Two processes starting at
// once cannot both win: flock on one open file is atomic. The winner writes its pid into the
// file, for people and for the loser's error message only; the pid is never trusted to
// decide anything. The file is not deleted on release: deleting it would let a process that
// opened the old file and one that creates a new one both "hold" a lock.
// Windows: the file is opened with CreateFileW and share mode FILE_SHARE_READ, so any other
// open for writing fails with a sharing violation until the handle is closed (again by the
// kernel when the process dies). Tested under Wine: test/windows/wine-lock.test.ts.
import { closeSync, constants as C, fstatSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import koffi from 'koffi';
import { EWOULDBLOCK, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN, flock } from './libc.js';

export const LOCK_FILE = 'LOCK';

export class LockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holderPid: number | null,
  ) {
    super(
      `journal ${dir} is locked by running process ${holderPid ?? '(pid not written yet)'}: another sysmon-ts agent uses it ` +
        '(stop it, or give this one another --journal)',
    );
  }
}

function pidIn(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** This process's locks, so a second open here says so instead of naming our own pid. */
const heldHere = new Set<string>();

export interface DirLock {
  readonly path: string;
  release(): void;
}

/** Takes the lock on `dir` now or throws LockedError (another process holds it) / a plain Error. */
export function lockDir(dir: string): DirLock {
  const path = join(resolve(dir), LOCK_FILE);
  if (heldHere.has(path)) throw new Error(`journal ${dir} is already open in this process`);
  const lock = process.platform === 'win32' ? lockWindows(dir, path) : lockPosix(dir, path);
  heldHere.add(path);
  return lock;
}

/**
 * lockDir, retried every 50 ms for up to `waitMs` while another process holds the lock: a
 * holder killed with -9 keeps it until the kernel has closed its files, which under load
 * (tearing down its BPF links) can take a moment after kill(2) returned.
 */
export async function acquireDirLock(dir: string, waitMs: number): Promise<DirLock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return lockDir(dir);
    } catch (e) {
      if (!(e instanceof LockedError) || Date.now() >= deadline) throw e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function lockPosix(dir: string, path: string): DirLock {
  let fd: number;
  try {
    fd = openSync(path, C.O_RDWR | C.O_CREAT | C.O_NOFOLLOW, 0o640);
  } catch (e) {
    throw new Error(`journal lock ${path}: ${(e as Error).message}`);
  }
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`journal lock ${path} is not a regular file`);
    const err = flock(fd, LOCK_EX | LOCK_NB);
    if (err === EWOULDBLOCK) throw new LockedError(dir, pidIn(path));
    if (err !== 0) throw new Error(`journal lock ${path}: flock failed (errno ${err})`);
    ftruncateSync(fd, 0);
    writeSync(fd, `${process.pid}\n`, 0);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(path);
      try {
        ftruncateSync(fd, 0);
      } catch {
        /* the lock goes with the fd anyway */
      }
      flock(fd, LOCK_UN);
      closeSync(fd);
    },
  };
}

/** Who holds the lock on `dir`: null when nobody (or no LOCK file); the pid written there otherwise (0 if unknown). */
export function lockHolder(dir: string): number | null {
  const path = join(resolve(dir), LOCK_FILE);
  if (process.platform === 'win32') return null; // share-mode locks cannot be probed without taking them
  let fd: number;
  try {
    fd = openSync(path, C.O_RDONLY | C.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    if (flock(fd, LOCK_SH | LOCK_NB) === 0) {
      flock(fd, LOCK_UN);
      return null;
    }
    return pidIn(path) ?? 0;
  } finally {
    closeSync(fd);
  }
}

// ---- Windows ----
const GENERIC_READ = 0x80000000;
const GENERIC_WRITE = 0x40000000;
const FILE_SHARE_READ = 1;
const OPEN_ALWAYS = 4;
const FILE_ATTRIBUTE_NORMAL = 0x80;
const FILE_FLAG_OPEN_REPARSE_POINT = 0x00200000; // do not follow a planted link
const ERROR_SHARING_VIOLATION = 32;
const INVALID_HANDLE_VALUE = 0xffffffffffffffffn; // (HANDLE)-1 as an unsigned address

interface Kernel32 {
  CreateFileW: (...a: unknown[]) => unknown;
  WriteFile: (...a: unknown[]) => number;
  SetEndOfFile: (h: unknown) => number;
  CloseHandle: (h: unknown) => number;
  GetLastError: () => number;
}
let k32: Kernel32 | null = null;

function kernel32(): Kernel32 {
  if (!k32) {
    const lib = koffi.load('kernel32.dll');
    k32 = {
      CreateFileW: lib.func(
        'void * __stdcall CreateFileW(const char16_t *name, uint32_t access, uint32_t share, void *sa, uint32_t disposition, uint32_t flags, void *template)',
      ),
      WriteFile: lib.func('int __stdcall WriteFile(void *h, const uint8_t *buf, uint32_t len, _Out_ uint32_t *written, void *overlapped)'),
      SetEndOfFile: lib.func('int __stdcall SetEndOfFile(void *h)'),
      CloseHandle: lib.func('int __stdcall CloseHandle(void *h)'),
      GetLastError: lib.func('uint32_t __stdcall GetLastError()'),
    } as Kernel32;
  }
  return k32;
}

function lockWindows(dir: string, path: string): DirLock {
  const k = kernel32();
  const h = k.CreateFileW(path, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ, null, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, null);
  if (h === null || koffi.address(h) === INVALID_HANDLE_VALUE) {
    const err = k.GetLastError();
    if (err === ERROR_SHARING_VIOLATION) throw new LockedError(dir, pidIn(path));
    throw new Error(`journal lock ${path}: CreateFileW failed (error ${err})`);
  }
  const text = Buffer.from(`${process.pid}\r\n`);
  k.SetEndOfFile(h); // OPEN_ALWAYS leaves the position at 0: this empties an old pid
  k.WriteFile(h, text, text.length, [0], null);
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      heldHere.delete(path);
      k.CloseHandle(h);
    },
  };
}
