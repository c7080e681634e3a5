// Every path the CLI writes goes through src/fs/safe-file.ts: a symlink planted at the output
// path, pointing at a file outside (what /etc/passwd would be), is refused with an error naming
// the path, and the file it points to is left untouched. This host runs with
// fs.protected_symlinks=0, and the links below are in private temp dirs where that sysctl
// would not apply anyway: only O_NOFOLLOW / O_EXCL / rename stand between root and the target.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { installedPaths } from '../../src/commands/install.js';
import { writeState } from '../../src/commands/status.js';
import { CursorFile, cursorFileName } from '../../src/journal/cursor.js';
import { Journal } from '../../src/journal/index.js';
import { segmentName } from '../../src/journal/format.js';
import { ROOT } from '../../src/paths.js';
import { LINUX_IDENTITY } from '../../src/events/event.js';
import { createEvtxSink } from '../../sinks/evtx/writer.js';
import { createJsonlFileSink } from '../../sinks/jsonl/index.js';
import { events } from '../journal/helpers.js';
import { requirePrereq } from '../helpers/prereq.js';

const PRECIOUS = 'root:x:0:0:root:/root:/bin/bash\n';

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
}

describe('a symlink planted at an output path is refused and its target untouched', () => {
  let dir: string;
  let outside: string;
  let journalDir: string;
  let input: string;

  /** a link at `path` to the "outside" file (like /tmp/x.jsonl -> /etc/passwd) */
  function plant(path: string): string {
    mkdirSync(join(path, '..'), { recursive: true });
    symlinkSync(outside, path);
    return path;
  }

  function assertUntouched(link: string) {
    assert.equal(readFileSync(outside, 'utf8'), PRECIOUS, 'the link target is unchanged');
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still there (not silently replaced)');
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-safe-'));
    outside = join(dir, 'passwd');
    writeFileSync(outside, PRECIOUS);
    journalDir = join(dir, 'journal');
    const j = await Journal.open({ dir: journalDir });
    j.append(events(0, 20));
    await j.close();
    input = join(dir, 'in.jsonl');
    assert.equal(cli(['replay', '--journal', journalDir, '--from', '1', '--sink', `jsonl:${input}`]).status, 0);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const ext of ['jsonl', 'xml', 'evtx']) {
    it(`convert IN OUT.${ext}`, () => {
      const link = plant(join(dir, `convert-out.${ext}`));
      const r = cli(['convert', input, link]);
      assert.notEqual(r.status, 0, 'convert fails');
      assert.match(r.stderr, new RegExp(`refusing to write convert output ${link}: it is a symbolic link`));
      assertUntouched(link);
      assert.deepEqual(
        readdirSync(dir).filter((n) => n.includes('.tmp-')),
        [],
        'no temporary left behind',
      );
    });
  }

  it('convert still writes a regular OUT, replacing its content (0640)', () => {
    const out = join(dir, 'regular.jsonl');
    writeFileSync(out, 'old content that is longer than nothing\n'.repeat(1000));
    assert.equal(cli(['convert', input, out]).status, 0);
    assert.equal(readFileSync(out, 'utf8'), readFileSync(input, 'utf8'));
    assert.equal(lstatSync(out).mode & 0o777, 0o640);
  });

  for (const kind of ['jsonl', 'evtx']) {
    it(`replay --sink ${kind}:LINK`, () => {
      const link = plant(join(dir, `replay-out.${kind}`));
      const r = cli(['replay', '--journal', journalDir, '--from', '1', '--sink', `${kind}:${link}`]);
      assert.notEqual(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`${link}: it is a symbolic link`));
      assertUntouched(link);
    });
  }

  it('record --out LINK', () => {
    const link = plant(join(dir, 'record.bin'));
    const r = cli(['record', '--out', link, '--seconds', '1']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`refusing to write record output ${link}: it is a symbolic link`));
    assertUntouched(link);
  });

  it('the live EVTX and JSONL sinks (run --evtx / --jsonl)', async () => {
    const evtx = plant(join(dir, 'live.evtx'));
    await assert.rejects(
      createEvtxSink(evtx, { identity: { ...LINUX_IDENTITY, computer: 'h' } }).open(),
      new RegExp(`refusing to write EVTX file ${evtx}: it is a symbolic link`),
    );
    assertUntouched(evtx);
    const jsonl = plant(join(dir, 'live.jsonl'));
    await assert.rejects(
      createJsonlFileSink(jsonl, { identity: { ...LINUX_IDENTITY, computer: 'h' } }).open(),
      new RegExp(`refusing to write JSONL file ${jsonl}: it is a symbolic link`),
    );
    assertUntouched(jsonl);
  });

  it('-i (unit, CLI wrapper and config written as root)', (t) => {
    if (process.getuid?.() !== 0 && !requirePrereq(t, 'not root (-i writes root-owned files)')) return;
    const root = join(dir, 'root');
    const p = installedPaths(root);
    const link = plant(p.unit);
    const r = cli(['-i'], { SYSMON_TS_ROOT: root });
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, new RegExp(`refusing to write installed file ${p.unit}: it is a symbolic link`));
    assertUntouched(link);
    const root2 = join(dir, 'root2');
    const p2 = installedPaths(root2);
    const link2 = plant(p2.config);
    const r2 = cli(['-i'], { SYSMON_TS_ROOT: root2 });
    assert.notEqual(r2.status, 0, r2.stdout);
    assert.match(r2.stderr, new RegExp(`refusing to write installed file ${p2.config}: it is a symbolic link`));
    assertUntouched(link2);
  });

  it('cursor files', async () => {
    const jdir = join(dir, 'cursor-journal');
    const c = new CursorFile(jdir, 'jsonl');
    await c.load();
    const link = plant(join(jdir, 'cursors', cursorFileName('jsonl')));
    await assert.rejects(c.writeNow(42), new RegExp(`refusing to write cursor ${link}: it is a symbolic link`));
    assertUntouched(link);
  });

  it('journal segment files', async () => {
    const jdir = join(dir, 'segment-journal');
    const link = plant(join(jdir, segmentName(1)));
    await assert.rejects(Journal.open({ dir: jdir, lockWaitMs: 0 }), new RegExp(`refusing to write journal segment ${link}: it is a symbolic link`));
    assertUntouched(link);
  });

  it('a new journal segment whose name was planted as a link (roll)', async () => {
    const jdir = join(dir, 'roll-journal');
    const errors: string[] = [];
    const j = await Journal.open({ dir: jdir, segmentBytes: 64 * 1024, onError: (e) => errors.push(e.message) });
    j.append(events(0, 10));
    await j.flush();
    // the next segment starts at whichever id no longer fits: plant every name it could take
    const links = Array.from({ length: 100 }, (_, i) => plant(join(jdir, segmentName(j.lastId + 1 + i))));
    j.append(events(10, 100)); // ~100 KB: rolls once
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      errors.some((m) => /refusing to write journal segment .*: it is a symbolic link/.test(m)),
      errors.join('\n'),
    );
    for (const link of links) assertUntouched(link);
    for (const link of links) rmSync(link);
    await j.flush(); // the journal retries and goes on once the name is free
    await j.close();
  });

  it('agent state files in the run directory are replaced, never written through', () => {
    const link = join(dir, 'run', 'agent.json');
    plant(link);
    writeState({ pid: process.pid, config: null, journal: journalDir, jsonl: null }, link);
    assert.equal(readFileSync(outside, 'utf8'), PRECIOUS, 'the link target is unchanged');
    assert.ok(lstatSync(link).isFile(), 'the link was replaced by the state file (rename, not write-through)');
    assert.equal(JSON.parse(readFileSync(link, 'utf8')).pid, process.pid);
  });
});
