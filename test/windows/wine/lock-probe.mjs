// Runs under Wine's node.exe: takes the journal lock of the compiled agent (dist/src/fs/lock.js,
// CreateFileW with FILE_SHARE_READ) and writes "OK <pid>", "LOCKED <message>" or "ERR <message>"
// to OUT-FILE; when it got the lock, holds it HOLD-MS before releasing it.
// Usage: node.exe lock-probe.mjs DIST-DIR JOURNAL-DIR OUT-FILE HOLD-MS
import { writeFileSync } from 'node:fs';

const [dist, dir, outFile, holdMs] = process.argv.slice(2);
const { lockDir, LockedError } = await import(`file:///${dist.replace(/\\/g, '/')}/src/fs/lock.js`);
try {
  const lock = lockDir(dir);
  writeFileSync(outFile, `OK ${process.pid}`);
  await new Promise((r) => setTimeout(r, Number(holdMs)));
  lock.release();
} catch (e) {
  writeFileSync(outFile, `${e instanceof LockedError ? 'LOCKED' : 'ERR'} ${e?.message ?? e}`);
}
