// Small /proc files read on the hot path (a new process's cgroup, stat, status). readFileSync
// costs twice as much here (fstat, a fresh buffer, chunked reads of a file whose size /proc
// reports as 0); open, read into one reused buffer, close is ~60 us instead of ~140 us for
// /proc/PID/cgroup on this host. Throws like readFileSync when the file is gone.
import { closeSync, openSync, readSync } from 'node:fs';

let buf = Buffer.allocUnsafe(16384);

/** The whole file as latin1 text (bytes kept one-to-one, as readFileSync(path, 'latin1')). */
export function readProcText(path: string): string {
  const fd = openSync(path, 'r');
  try {
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got <= 0) break;
      n += got;
      if (n === buf.length) {
        // rare (a process in very many cgroups): grow and keep reading
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, n);
        buf = bigger;
      }
    }
    return buf.toString('latin1', 0, n);
  } finally {
    closeSync(fd);
  }
}
