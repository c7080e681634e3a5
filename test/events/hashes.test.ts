// The Hashes service: Sysmon's format and order, cache by (dev, ino, size, mtime), size and
// time bounds, never rejects.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { HashService, fileKey, normalizeAlgorithms } from '../../src/events/hashes.js';

const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-hash-'));
const svc = new HashService({ maxBytes: 1024 * 1024, timeoutMs: 2000 });
after(() => svc.close());

const hex = (alg: string, b: Buffer | string) => createHash(alg).update(b).digest('hex');

it('orders algorithms as Sysmon does and expands *', () => {
  assert.deepEqual(normalizeAlgorithms(['sha256', 'md5']), ['MD5', 'SHA256']);
  // Sysmon for Linux writes no IMPHASH entry (LinuxGetFileHash); Windows keeps it
  assert.deepEqual(normalizeAlgorithms(['*']), ['SHA1', 'MD5', 'SHA256']);
  assert.deepEqual(normalizeAlgorithms(['IMPHASH']), []);
  assert.deepEqual(normalizeAlgorithms(['*'], true), ['SHA1', 'MD5', 'SHA256', 'IMPHASH']);
  assert.deepEqual(normalizeAlgorithms(null), []);
});

it('hashes a file as ALG=hex joined by commas; no IMPHASH entry on Linux', async () => {
  const f = join(dir, 'a.bin');
  writeFileSync(f, 'hello');
  svc.configure(['*']);
  assert.equal(await svc.hashFile(f), `SHA1=${hex('sha1', 'hello')},MD5=${hex('md5', 'hello')},SHA256=${hex('sha256', 'hello')}`);
  svc.configure(['IMPHASH']);
  assert.equal(await svc.hashFile(f), '-');
  svc.configure(['SHA256']);
  assert.equal(await svc.hashFile(f), `SHA256=${hex('sha256', 'hello')}`);
});

it('caches by (dev, ino, size, mtime): a deleted file is still found; a changed file is rehashed', async () => {
  svc.configure(['MD5']);
  const f = join(dir, 'c.bin');
  writeFileSync(f, 'one');
  assert.equal(await svc.hashFile(f), `MD5=${hex('md5', 'one')}`);
  const st = statSync(f, { bigint: true });
  assert.equal(svc.lookup({ dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs }), `MD5=${hex('md5', 'one')}`);
  assert.equal(fileKey({ dev: 1, ino: 2, size: 3, mtimeNs: 4 }), '1:2:3:4');
  writeFileSync(f, 'two!');
  assert.equal(await svc.hashFile(f), `MD5=${hex('md5', 'two!')}`);
});

it('is bounded: too big, not a file, missing, disabled -> "-" without rejecting', async () => {
  svc.configure(['SHA1']);
  const big = join(dir, 'big.bin');
  execFileSync('truncate', ['-s', '4G', big]);
  const t0 = Date.now();
  assert.equal(await svc.hashFile(big), '-');
  assert.ok(Date.now() - t0 < 500, 'a 4 GB file is refused at once');
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  assert.equal(await svc.hashFile(fifo), '-');
  assert.equal(await svc.hashFile(dir), '-');
  assert.equal(await svc.hashFile(join(dir, 'missing')), '-');
  svc.configure(null);
  assert.equal(await svc.hashFile(big), '-');
});

it('times out instead of stalling: a request slower than timeoutMs resolves to "-"', async () => {
  const slow = new HashService({ maxBytes: 2 ** 40, timeoutMs: 50 });
  slow.configure(['SHA256']);
  const f = join(dir, 'slow.bin');
  execFileSync('dd', ['if=/dev/urandom', `of=${f}`, 'bs=1M', 'count=200', 'status=none']);
  const t0 = Date.now();
  assert.equal(await slow.hashFile(f), '-');
  assert.ok(Date.now() - t0 < 1500);
  await slow.close();
});

it('a kernel inode key: found with no stat once hashed; an alias only when size and mtime agree', async () => {
  svc.configure(['MD5']);
  const f = join(dir, 'k.bin');
  writeFileSync(f, 'kernel key');
  const st = statSync(f, { bigint: true });
  const want = `MD5=${hex('md5', 'kernel key')}`;
  // the kernel names the file with another dev/ino (overlayfs, btrfs): same size and mtime
  const kernel = { dev: 999_999, ino: st.ino + 7n, size: st.size, mtimeNs: st.mtimeNs };
  assert.equal(svc.lookup(kernel), undefined);
  assert.equal(await svc.hashFile(f, kernel), want);
  assert.equal(svc.lookup(kernel), want, 'the kernel key became an alias of the stat key');
  // a missing path with a cached kernel key: answered from the cache, no stat (it would fail)
  assert.equal(await svc.hashFile(join(dir, 'no-such-file'), kernel), want);
  // a kernel key whose mtime disagrees (the file changed since the exec) is not aliased
  const stale = { dev: 999_998, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs - 1n };
  assert.equal(await svc.hashFile(f, stale), want, 'the path is still hashed');
  assert.equal(svc.lookup(stale), undefined, 'but the stale key does not name that content');
});

it('an idle worker is stopped after idleWorkerMs (its isolate is ~10 MB of RSS) and a new one hashes the next file', async () => {
  const idle = new HashService({ maxBytes: 1024 * 1024, timeoutMs: 2000, idleWorkerMs: 200 });
  try {
    idle.configure(['SHA256']);
    const f = join(dir, 'idle.bin');
    writeFileSync(f, 'first');
    assert.equal(await idle.hashFile(f), `SHA256=${hex('sha256', 'first')}`);
    assert.equal(idle.workerCount, 1);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(idle.workerCount, 0, 'retired after 200 ms idle');
    assert.equal(idle.stats.workersRetired, 1);
    writeFileSync(f, 'second');
    assert.equal(await idle.hashFile(f), `SHA256=${hex('sha256', 'second')}`);
    assert.equal(idle.workerCount, 1, 'started again on demand');
  } finally {
    await idle.close();
  }
});
