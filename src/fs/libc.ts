// The few libc calls the file helpers need that Node does not offer (flock(2)). Bound on first
// use, not at import, so modules that import this one still load on Windows (as host.ts does).
import koffi from 'koffi';

export const LOCK_SH = 1;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;
export const EWOULDBLOCK = 11;
export const EINTR = 4;

type Flock = (fd: number, op: number) => number;
let flockFn: Flock | null = null;

/** flock(2): 0 on success, else the errno (EWOULDBLOCK when LOCK_NB and someone else holds it). */
export function flock(fd: number, op: number): number {
  if (!flockFn) {
    if (process.platform === 'win32') throw new Error('flock(2) is a POSIX call; Windows locks are taken with share modes (src/fs/lock.ts)');
    flockFn = koffi.load('libc.so.6').func('int flock(int fd, int op)') as Flock;
  }
  for (;;) {
    if (flockFn(fd, op) === 0) return 0;
    const e = koffi.errno();
    if (e !== EINTR) return e;
  }
}
