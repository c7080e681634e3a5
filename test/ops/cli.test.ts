// The ops commands through the real command line: `status` with nothing running, `view` flags
// and stdin ("-"), wired as documented in the README.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LINUX_IDENTITY, type SysmonEvent } from '../../src/events/event.js';
import { ROOT } from '../../src/paths.js';
import { encodeJsonl } from '../../sinks/shared/jsonl-encode.js';
import { renderEventXml } from '../../sinks/shared/xml-render.js';

const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-opscli-'));
const env = { SYSMON_TS_RUN_DIR: join(dir, 'run'), SYSMON_TS_ROOT: join(dir, 'root'), SYSMON_TS_DATA_DIR: join(dir, 'data') };
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    input,
    timeout: 60_000,
    env: { ...process.env, ...env },
  });

const who = { ...LINUX_IDENTITY, computer: 'h' };
const e = (id: number, rec: number, data: Record<string, string | number>): SysmonEvent => ({
  id,
  recordId: rec,
  timeNs: 1_795_000_000_000_000_000n + BigInt(rec) * 1_000_000_000n,
  data: { RuleName: '-', UtcTime: '-', ...data },
});

describe('ops CLI', () => {
  it('status says NOT running (exit 3) and still shows the journal', () => {
    const r = cli(['status', '--journal', join(dir, 'nojournal')]);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /^sysmon-ts: NOT running\n/);
    assert.match(r.stdout, /service unit: .*sysmon-ts\.service \(not installed\)/);
    assert.match(r.stdout, /journal: .*nojournal/);
    const j = JSON.parse(cli(['status', '--json', '--journal', join(dir, 'nojournal')]).stdout) as { running: boolean };
    assert.equal(j.running, false);
  });

  it('view FILE -e -f -E --system, and view - from a syslog pipe', () => {
    const f = join(dir, 'ev.jsonl');
    writeFileSync(
      f,
      [e(1, 1, { Image: '/usr/bin/a', CommandLine: 'a' }), e(1, 2, { Image: '/usr/bin/b', CommandLine: 'b' }), e(5, 3, { Image: '/usr/bin/a' })]
        .map((x) => encodeJsonl(x, who))
        .join(''),
    );
    const r = cli(['view', f, '-e', '1', '-f', 'Image~/a', '-E', 'CommandLine', '--no-color']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Event 1: Process Create\n\tCommandLine: a\n\n');
    const none = cli(['view', f, '-e', '3']);
    assert.equal(none.status, 1, 'nothing matched');
    const syslog = `Nov 29 18:00:00 h sysmon: ${renderEventXml(e(5, 3, { Image: '/usr/bin/a' }), who)}\nNov 29 18:00:01 h sshd[1]: hello\n`;
    const s = cli(['view', '-', '-r', '3,3', '-E', 'Image'], syslog);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(s.stdout, 'Event 5: Process terminated\n\tImage: /usr/bin/a\n\n');
    const m = cli(['view', join(dir, 'missing.jsonl')]);
    assert.notEqual(m.status, 0);
    assert.match(m.stderr, /ENOENT/);
  });
});
