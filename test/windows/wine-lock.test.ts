// The journal lock's Windows side (src/fs/lock.ts: CreateFileW with share mode FILE_SHARE_READ)
// under Wine's node.exe: a second opener is refused with the holder's pid, and once the holder
// is killed (-9, no clean-up of its own) the next opener takes the lock at once.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DIST, HELPERS, NODE_EXE, REPO, keepWineserver, requireWine, waitForFile, wineEnv, wineNode, winPath } from './wine-env.js';

describe('the journal lock under Wine', () => {
  it('refuses a second holder, and is free at once after kill -9 of the first', { timeout: 600_000 }, async (t) => {
    if (!requireWine(t)) return;
    keepWineserver(60);
    const dir = mkdtempSync(join(tmpdir(), 'wine-lock-'));
    const jdir = join(dir, 'journal');
    mkdirSync(jdir);
    const probe = join(HELPERS, 'lock-probe.mjs');
    const first = join(dir, 'first');
    const holder = spawn('wine', [NODE_EXE, probe, winPath(DIST), winPath(jdir), winPath(first), '600000'], { env: wineEnv(), stdio: 'ignore', cwd: REPO });
    const exited = new Promise<void>((r) => holder.once('exit', () => r()));
    try {
      const got = await waitForFile(first, 120_000);
      assert.match(got, /^OK \d+$/, got);
      const holderPid = got.slice(3);

      const second = join(dir, 'second');
      const r2 = wineNode([probe, winPath(DIST), winPath(jdir), winPath(second), '0']);
      assert.equal(r2.status, 0, r2.stderr);
      assert.equal(
        readFileSync(second, 'utf8'),
        `LOCKED journal ${winPath(jdir)} is locked by running process ${holderPid}: another sysmon-ts agent uses it (stop it, or give this one another --journal)`,
      );

      holder.kill('SIGKILL');
      await exited;
      const third = join(dir, 'third');
      const r3 = wineNode([probe, winPath(DIST), winPath(jdir), winPath(third), '0']);
      assert.equal(r3.status, 0, r3.stderr);
      assert.match(readFileSync(third, 'utf8'), /^OK \d+$/, "the kernel (wineserver) closed the killed holder's handle");
    } finally {
      holder.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
