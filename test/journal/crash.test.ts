// (a) kill -9 an appending process at a random moment: everything it reported fsynced is
// there, ids are unique and contiguous, numbering continues, and the JSONL sink ends up with
// every record exactly once after restart.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Fanout, Journal, readJournal } from '../../src/journal/index.js';
import type { FsyncPolicy } from '../../src/journal/index.js';
import { JsonlFileSink, events, jsonlIds, range, runUntilKilled, tempDir, until } from './helpers.js';

const child = fileURLToPath(new URL('./fixtures/append-child.ts', import.meta.url));

/** runs the child until it reported `minDurable` fsynced records, then kill -9; returns the last reported */
async function runAndKill(dir: string, policy: FsyncPolicy, out: string, minDurable: number): Promise<number> {
  return runUntilKilled(child, [dir, policy, out], 'D', minDurable, `child reports ${minDurable} fsynced`);
}

for (const policy of ['always', 'group'] as FsyncPolicy[]) {
  test(`(a) kill -9 mid-stream (fsync ${policy}): fsynced records survive, no duplicate ids, numbering continues, sink gets each once`, async () => {
    const { dir, cleanup } = await tempDir(`crash-${policy}`);
    const jdir = join(dir, 'journal');
    const out = join(dir, 'out.jsonl');
    try {
      let reported = 0;
      for (const round of [1, 2]) {
        const min = reported + 2000 + Math.floor(Math.random() * 3000);
        reported = await runAndKill(jdir, policy, out, min);
        const j = await Journal.open({ dir: jdir });
        assert.ok(j.lastId >= reported, `round ${round}: lastId ${j.lastId} < fsynced ${reported}`);
        const ids: number[] = [];
        for await (const ev of readJournal(jdir)) ids.push(ev.recordId);
        assert.deepEqual(ids, range(1, j.lastId), `round ${round}: journal ids are 1..${j.lastId} once each`);
        reported = j.lastId;
        await j.close();
      }
      // restart the "agent" in this process: numbering continues, the sink catches up exactly once
      const j = await Journal.open({ dir: jdir });
      const last = j.lastId;
      const f = new Fanout(j, { retry: { initialMs: 10, maxMs: 100 } });
      await f.add(new JsonlFileSink('jsonl', out));
      const more = events(last, 3);
      j.append(more);
      assert.deepEqual(
        more.map((e) => e.recordId),
        [last + 1, last + 2, last + 3],
      );
      await until(() => f.get('jsonl')!.ackedId === last + 3, 'sink catches up');
      await f.close();
      await j.close();
      assert.deepEqual(await jsonlIds(out), range(1, last + 3));
    } finally {
      await cleanup();
    }
  });
}
