// The journal lock is a flock(2) the kernel releases when the holder dies (src/fs/lock.ts):
// a pid left in LOCK means nothing, two openers racing cannot both win, and a holder killed
// with -9 does not keep anyone out once it is gone.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Journal, readJournal } from '../../src/journal/index.js';
import { lockHolder } from '../../src/fs/lock.js';
import { collectStatus, renderStatus } from '../../src/commands/status.js';
import { events, tempDir } from './helpers.js';

const child = fileURLToPath(new URL('./fixtures/lock-child.ts', import.meta.url));
const appendChild = fileURLToPath(new URL('./fixtures/append-child.ts', import.meta.url));

function run(args: string[]): Promise<{ out: string; err: string; code: number | null }> {
  const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  p.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((r) => p.on('exit', (code) => r({ out: out.trim(), err, code })));
}

test('a live foreign process whose pid is left in LOCK does not block the start', async () => {
  const { dir, cleanup } = await tempDir('lock-foreign');
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    // what a power loss leaves behind when, at the next boot, another process got that pid
    await writeFile(join(dir, 'LOCK'), `${sleeper.pid}\n`);
    const j = await Journal.open({ dir, lockWaitMs: 0 });
    try {
      assert.equal((await readFile(join(dir, 'LOCK'), 'utf8')).trim(), String(process.pid), 'LOCK now names the holder');
      assert.equal(lockHolder(dir), process.pid);
    } finally {
      await j.close();
    }
    assert.equal(lockHolder(dir), null, 'released on close');
  } finally {
    sleeper.kill('SIGKILL');
    await cleanup();
  }
});

test('four processes opening one journal at the same instant: exactly one wins, the others get a clear error', async () => {
  const { dir, cleanup } = await tempDir('lock-race');
  try {
    for (let round = 0; round < 3; round++) {
      const at = Date.now() + 1500; // both are started (tsx loaded) well before this instant
      const results = await Promise.all([0, 1, 2, 3].map(() => run([dir, String(at), '1500'])));
      const winners = results.filter((r) => r.out.startsWith('OK '));
      const losers = results.filter((r) => r.out.startsWith('ERR '));
      assert.equal(winners.length, 1, `round ${round}: exactly one winner: ${JSON.stringify(results)}`);
      assert.equal(losers.length, 3, `round ${round}: ${JSON.stringify(results)}`);
      const winnerPid = winners[0]!.out.slice(3);
      for (const l of losers) assert.match(l.out, new RegExp(`journal ${dir} is locked by running process (${winnerPid}|\\(pid not written yet\\))`));
    }
  } finally {
    await cleanup();
  }
});

test('after kill -9 of the holder, an immediate open succeeds and keeps what the holder wrote', async () => {
  const { dir, cleanup } = await tempDir('lock-kill');
  try {
    const out = join(dir, 'sink.jsonl');
    const jdir = join(dir, 'journal');
    const p = spawn(process.execPath, ['--import', 'tsx', appendChild, jdir, 'always', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let durable = 0;
    p.stdout.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n')) if (l.startsWith('D ')) durable = Math.max(durable, Number(l.slice(2)));
    });
    const exited = new Promise<void>((r) => p.on('exit', () => r()));
    try {
      const t0 = Date.now();
      while (durable < 200) {
        assert.ok(Date.now() - t0 < 60_000, 'child appends');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(lockHolder(jdir), p.pid, 'the child holds the lock');
    } finally {
      p.kill('SIGKILL');
      await exited;
    }
    // no wait at all (lockWaitMs 0): the kernel released the lock with the process
    const j = await Journal.open({ dir: jdir, lockWaitMs: 0 });
    try {
      assert.ok(j.lastId >= durable);
      j.append(events(0, 1));
      await j.flush();
    } finally {
      await j.close();
    }
    const ids: number[] = [];
    for await (const e of readJournal(jdir)) ids.push(e.recordId);
    assert.equal(ids.length, ids[ids.length - 1], 'ids contiguous from 1');
  } finally {
    await cleanup();
  }
});

test('the lock does not follow a symlink planted at LOCK', async () => {
  const { dir, cleanup } = await tempDir('lock-link');
  try {
    const target = join(dir, 'outside');
    await writeFile(target, 'precious\n');
    const jdir = join(dir, 'journal');
    await mkdir(jdir);
    await symlink(target, join(jdir, 'LOCK'));
    await assert.rejects(Journal.open({ dir: jdir, lockWaitMs: 0 }), (e: Error) => e.message.includes(join(jdir, 'LOCK')));
    assert.equal(await readFile(target, 'utf8'), 'precious\n');
  } finally {
    await cleanup();
  }
});

test('`status` names the process that holds the journal, and says when nobody does', async () => {
  const { dir, cleanup } = await tempDir('lock-status');
  try {
    const jdir = join(dir, 'journal');
    const p = spawn(process.execPath, ['--import', 'tsx', child, jdir, String(Date.now()), '20000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const exited = new Promise<void>((r) => p.on('exit', () => r()));
    try {
      let out = '';
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const t0 = Date.now();
      while (!out.startsWith('OK ')) {
        assert.ok(Date.now() - t0 < 30_000, 'child opened the journal');
        await new Promise((r) => setTimeout(r, 50));
      }
      const opts = { journal: jdir, stateFile: join(dir, 'run', 'agent.json'), root: join(dir, 'root') };
      const held = await collectStatus(opts);
      assert.equal(held.journalLockedBy, p.pid);
      assert.match(renderStatus(held), new RegExp(`journal: ${jdir} .* in use by pid ${p.pid}`));
    } finally {
      p.kill('SIGKILL');
      await exited;
    }
    const free = await collectStatus({ journal: jdir, stateFile: join(dir, 'run', 'agent.json'), root: join(dir, 'root') });
    assert.equal(free.journalLockedBy, null, 'released by the kernel with the process');
    assert.match(renderStatus(free), /not in use/);
  } finally {
    await cleanup();
  }
});
