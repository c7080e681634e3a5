import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import { createJsonlFileSink, createStdoutSink } from '../../sinks/jsonl/index.js';
import { encodeJsonl } from '../../sinks/shared/jsonl-encode.js';
import { hostileEvents, IDENTITY, processCreate } from './fixtures.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await fsp.mkdtemp(join(tmpdir(), 'jsonl-sink-'));
  dirs.push(d);
  return d;
}

async function ids(file: string): Promise<number[]> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  assert.ok(text === '' || text.endsWith('\n'), `${file} ends with a whole line`);
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { EventRecordID: number }).EventRecordID);
}

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => processCreate(a + i));

test('file: appends whole lines, mode 0640, creates the directory, hostile values stay on one line', async () => {
  const dir = await tmp();
  const file = join(dir, 'sub', 'deeper', 'events.jsonl');
  const sink = createJsonlFileSink(file, { identity: IDENTITY });
  assert.equal(sink.name, `jsonl:${file}`);
  await sink.open();
  const evs = hostileEvents(1);
  await sink.write(evs);
  await sink.close();
  const st = await fsp.stat(file);
  assert.equal(st.mode & 0o777, 0o640);
  assert.equal((await fsp.stat(join(dir, 'sub'))).mode & 0o777, 0o750);
  const text = await fsp.readFile(file, 'utf8');
  assert.equal(text, evs.map((e) => encodeJsonl(e, IDENTITY)).join(''));
  assert.deepEqual(
    await ids(file),
    evs.map((e) => e.recordId),
  );
});

test('file: refuses a symlink planted at the file path', async () => {
  const dir = await tmp();
  await fsp.writeFile(join(dir, 'target'), '');
  await fsp.symlink(join(dir, 'target'), join(dir, 'events.jsonl'));
  const sink = createJsonlFileSink(join(dir, 'events.jsonl'));
  await assert.rejects(sink.open(), /ELOOP/);
});

test('file: refuses a symlinked directory planted in a world-writable parent', async () => {
  const dir = await tmp();
  const shared = join(dir, 'shared');
  await fsp.mkdir(shared);
  await fsp.chmod(shared, 0o1777);
  await fsp.mkdir(join(dir, 'elsewhere'));
  await fsp.symlink(join(dir, 'elsewhere'), join(shared, 'logs'));
  await assert.rejects(createJsonlFileSink(join(shared, 'logs', 'e.jsonl')).open(), /world-writable/);
  await assert.rejects(createJsonlFileSink(join(shared, 'logs', 'deeper', 'e.jsonl')).open(), /world-writable/);
});

test('file: size rotation with numbered files and a max count; every line whole, nothing lost', async () => {
  const dir = await tmp();
  const file = join(dir, 'e.jsonl');
  const lineLen = Buffer.byteLength(encodeJsonl(processCreate(100), IDENTITY));
  const sink = createJsonlFileSink(file, { identity: IDENTITY, maxBytes: lineLen * 10, maxFiles: 3 });
  await sink.open();
  for (let i = 0; i < 10; i++) await sink.write(range(100 + i * 5, 104 + i * 5)); // 50 events, 5 per batch
  await sink.close();
  const names = (await fsp.readdir(dir)).sort();
  assert.deepEqual(names, ['e.jsonl', 'e.jsonl.1', 'e.jsonl.2', 'e.jsonl.3']);
  assert.deepEqual(
    await ids(file),
    range(140, 149).map((e) => e.recordId),
  );
  assert.deepEqual(
    await ids(`${file}.1`),
    range(130, 139).map((e) => e.recordId),
  );
  assert.deepEqual(
    await ids(`${file}.3`),
    range(110, 119).map((e) => e.recordId),
  );
  for (const n of names) assert.ok((await fsp.stat(join(dir, n))).size <= lineLen * 10);
});

test('file: time rotation with timestamped names', async () => {
  const dir = await tmp();
  const file = join(dir, 't.jsonl');
  let now = Date.UTC(2026, 10, 29, 23, 59, 0);
  const sink = createJsonlFileSink(file, { identity: IDENTITY, rotateEveryMs: 3_600_000, rotateNaming: 'timestamp', maxFiles: 2, now: () => now });
  await sink.open();
  await sink.write(range(1, 2));
  now += 120_000; // next hour
  await sink.write(range(3, 4));
  now += 3_600_000;
  await sink.write(range(5, 6));
  now += 3_600_000;
  await sink.write(range(7, 8));
  await sink.close();
  const names = (await fsp.readdir(dir)).sort();
  assert.equal(names.length, 3, names.join(','));
  assert.deepEqual(await ids(file), [7, 8]);
  assert.ok(names.includes('t.jsonl.20261130T020100Z'), names.join(','));
  assert.deepEqual(await ids(join(dir, 't.jsonl.20261130T020100Z')), [5, 6]);
});

test('file: reopen after logrotate renamed the file (SIGHUP path)', async () => {
  const dir = await tmp();
  const file = join(dir, 'r.jsonl');
  const sink = createJsonlFileSink(file, { identity: IDENTITY });
  await sink.open();
  await sink.write(range(1, 3));
  await fsp.rename(file, `${file}.old`); // logrotate
  await sink.write(range(4, 5)); // still goes to the renamed file (same fd), as with any daemon
  await sink.reopen();
  await sink.write(range(6, 7));
  await sink.close();
  assert.deepEqual(await ids(`${file}.old`), [1, 2, 3, 4, 5]);
  assert.deepEqual(await ids(file), [6, 7]);
  assert.equal((await fsp.stat(file)).mode & 0o777, 0o640);
});

test('file: exactly-once after a crash: re-delivered events are skipped on open', async () => {
  const dir = await tmp();
  const file = join(dir, 'x.jsonl');
  const a = createJsonlFileSink(file, { identity: IDENTITY });
  await a.open();
  await a.write(range(1, 10));
  await a.close(); // "crash": the journal cursor may still say 5
  const b = createJsonlFileSink(file, { identity: IDENTITY });
  await b.open();
  assert.equal(b.lastRecordId, 10);
  await b.write(range(6, 15)); // at-least-once re-delivery from the journal
  await b.close();
  assert.deepEqual(
    await ids(file),
    range(1, 15).map((e) => e.recordId),
  );
});

test('file: exactly-once across a rotation (current file empty, newest rotated file holds the last id)', async () => {
  const dir = await tmp();
  const file = join(dir, 'y.jsonl');
  const a = createJsonlFileSink(file, { identity: IDENTITY });
  await a.open();
  await a.write(range(1, 4));
  await a.rotate();
  await a.close();
  const b = createJsonlFileSink(file, { identity: IDENTITY });
  await b.open();
  assert.equal(b.lastRecordId, 4);
  await b.write(range(3, 6));
  await b.close();
  assert.deepEqual(await ids(file), [5, 6]);
});

test('file: a torn last line (crash mid-write) is cut and its event written again whole', async () => {
  const dir = await tmp();
  const file = join(dir, 'z.jsonl');
  const whole = range(1, 3)
    .map((e) => encodeJsonl(e, IDENTITY))
    .join('');
  const torn = encodeJsonl(processCreate(4), IDENTITY).slice(0, 57);
  await fsp.writeFile(file, whole + torn);
  const b = createJsonlFileSink(file, { identity: IDENTITY });
  await b.open();
  assert.equal(b.lastRecordId, 3);
  await b.write(range(2, 5));
  await b.close();
  assert.deepEqual(await ids(file), [1, 2, 3, 4, 5]);
  assert.deepEqual(b.stats, { events: 2, bytes: b.stats.bytes, skipped: 2, rotations: 0, tornCut: 1 });
  // a file holding only a torn line
  await fsp.writeFile(file, torn);
  const c = createJsonlFileSink(file, { identity: IDENTITY });
  await c.open();
  assert.equal(c.lastRecordId, 0);
  await c.write(range(4, 4));
  await c.close();
  assert.deepEqual(await ids(file), [4]);
});

test('file: a long last line (> 64 KiB read chunk) is found', async () => {
  const dir = await tmp();
  const file = join(dir, 'l.jsonl');
  const a = createJsonlFileSink(file, { identity: IDENTITY });
  await a.open();
  await a.write([processCreate(1), processCreate(2, { CommandLine: 'A'.repeat(200_000) })]);
  await a.close();
  const b = createJsonlFileSink(file, { identity: IDENTITY });
  await b.open();
  assert.equal(b.lastRecordId, 2);
  await b.close();
});

test('stdout: waits for drain when the reader is slow, resolves after the data is taken', async () => {
  const stream = new PassThrough({ highWaterMark: 1024 });
  const sink = createStdoutSink({ identity: IDENTITY, stream });
  await sink.open();
  let resolved = false;
  const p = sink.write(range(1, 50)).then(() => {
    resolved = true;
  });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(resolved, false, 'blocked on backpressure');
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await p;
  assert.equal(resolved, true);
  const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 50);
  await sink.close();
});

test('file: reopenOnSighup reopens after a real SIGHUP', async () => {
  const { reopenOnSighup } = await import('../../sinks/jsonl/index.js');
  const dir = await tmp();
  const file = join(dir, 'h.jsonl');
  const sink = createJsonlFileSink(file, { identity: IDENTITY });
  await sink.open();
  const off = reopenOnSighup([sink]);
  try {
    await sink.write(range(1, 2));
    await fsp.rename(file, `${file}.1`);
    process.kill(process.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 100));
    await sink.write(range(3, 4));
  } finally {
    off();
    await sink.close();
  }
  assert.deepEqual(await ids(`${file}.1`), [1, 2]);
  assert.deepEqual(await ids(file), [3, 4]);
});
