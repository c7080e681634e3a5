// Permission checks: a config anybody but root could have written is refused with a message
// that says how to fix it; output paths through a symlink planted in a world-writable directory
// are refused; the journal directory is private. Then the same refusals from the real CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, lchownSync, mkdirSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BUNDLED_CONFIG, ROOT } from '../../src/paths.js';
import { checkConfigFile, checkOutputPath, ensurePrivateDir, SecurityError } from '../../src/file-permissions.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

const isRoot = process.getuid?.() === 0;
const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-sec-'));

function config(name: string, mode: number, uid = 0): string {
  const p = join(dir, name);
  copyFileSync(BUNDLED_CONFIG, p);
  chmodSync(p, mode);
  if (isRoot) chownSync(p, uid, 0);
  return p;
}

describe('config file permissions', () => {
  it('accepts a root-owned config that only root can write', () => {
    checkConfigFile(config('ok600.xml', 0o600), { asRoot: true });
    checkConfigFile(config('ok644.xml', 0o644), { asRoot: true });
  });

  it('refuses a group- or world-writable config, saying how to fix it', () => {
    const g = config('g.xml', 0o664);
    assert.throws(
      () => checkConfigFile(g, { asRoot: true }),
      (e: Error) =>
        e instanceof SecurityError &&
        e.message.includes(`refusing config ${g}`) &&
        /mode 0664 lets its group change it/.test(e.message) &&
        e.message.includes(`chmod 0600 ${g}`),
    );
    const o = config('o.xml', 0o646);
    assert.throws(() => checkConfigFile(o, { asRoot: true }), /mode 0646 lets everybody change it/);
  });

  it('refuses a config not owned by root, also behind a symlink', (t) => {
    if (!isRoot) {
      t.skip('needs root to chown');
      return;
    }
    const n = config('nobody.xml', 0o600, 65534);
    assert.throws(() => checkConfigFile(n, { asRoot: true }), /owned by uid 65534, not root.*chown root:root/);
    const link = join(dir, 'link.xml');
    symlinkSync(n, link);
    assert.throws(() => checkConfigFile(link, { asRoot: true }), /owned by uid 65534/);
  });
});

describe('output paths', () => {
  it('refuses a symlink planted in a world-writable directory (file or directory component)', () => {
    const pub = join(dir, 'public');
    mkdirSync(pub);
    chmodSync(pub, 0o1777);
    const target = join(dir, 'victim');
    writeFileSync(target, 'precious\n');
    const planted = join(pub, 'events.jsonl');
    symlinkSync(target, planted);
    if (isRoot) lchownSync(planted, 65534, 65534);
    assert.throws(() => checkOutputPath(planted, 'jsonl'), /refusing jsonl path .*events\.jsonl is a symbolic link in the world-writable directory/);
    const plantedDir = join(pub, 'logs');
    symlinkSync(dir, plantedDir);
    assert.throws(() => checkOutputPath(join(plantedDir, 'x', 'events.jsonl')), /logs is a symbolic link in the world-writable/);
    // not yet existing file in a world-writable dir: fine (the sinks open it O_NOFOLLOW | O_CREAT)
    checkOutputPath(join(pub, 'new.jsonl'));
  });

  it('accepts symlinks an admin made in directories only root can write', () => {
    const priv = join(dir, 'private');
    mkdirSync(priv, { mode: 0o755 });
    symlinkSync(join(dir, 'elsewhere.jsonl'), join(priv, 'events.jsonl'));
    checkOutputPath(join(priv, 'events.jsonl'));
  });

  it('creates the journal directory 0700 and refuses one others can write', () => {
    const j = join(dir, 'data', 'journal');
    ensurePrivateDir(j);
    assert.equal(statSync(j).mode & 0o777, 0o700);
    const open = join(dir, 'openjournal');
    mkdirSync(open);
    chmodSync(open, 0o777);
    assert.throws(() => ensurePrivateDir(open), /refusing journal directory .*mode 0777 lets others write to it/);
  });
});

describe('the CLI refuses', () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, SYSMON_TS_RUN_DIR: join(dir, 'run') },
    });

  it('run with a world-writable config, and -c with one', (t) => {
    if (!requirePrereq(t, missingKernelPrereq())) return;
    const bad = config('cli-bad.xml', 0o666);
    const r = cli('run', '-c', bad, '--jsonl', join(dir, 'cli.jsonl'), '--journal', join(dir, 'cli-journal'), '--no-console');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /refusing config .*cli-bad\.xml: its mode 0666 lets everybody change it/);
    const c = cli('-c', bad);
    assert.notEqual(c.status, 0);
    assert.match(c.stderr, /refusing config/);
  });

  it('run with a JSONL path through a planted symlink', (t) => {
    if (!requirePrereq(t, missingKernelPrereq())) return;
    const pub = join(dir, 'public2');
    mkdirSync(pub);
    chmodSync(pub, 0o1777);
    symlinkSync('/etc/sysmon-ts-should-not-exist', join(pub, 'out.jsonl'));
    const r = cli('run', '--jsonl', join(pub, 'out.jsonl'), '--journal', join(dir, 'cli-journal2'), '--no-console');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /refusing output path .*out\.jsonl is a symbolic link in the world-writable directory/);
  });
});
