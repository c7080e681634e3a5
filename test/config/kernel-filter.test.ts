// The in-kernel file filter never drops what the user-space engine would keep. The compiled
// tables (src/config/kernel-filter) are evaluated by decide(), the TypeScript model of the
// BPF walk (test/kernel/kernel-filter.test.ts checks the real kernel against that model), and
// compared with the engine on real configs and on random configs over a tiny alphabet where
// matches, near misses, case folding and `;` lists are frequent. Each path the model drops is
// tried with many values of the fields the kernel cannot see (Image, User, ...): the engine
// must drop every one of them. The automaton itself is checked against direct matching.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, loadConfigText, type Config } from '../../src/config/index.js';
import { compileKernelFilter, decide, kernelText, KF_RECORD_SLOTS, type KernelFilter } from '../../src/config/kernel-filter/index.js';
import { buildDfa, walkFlags, reversedText, type FlaggedPattern } from '../../src/config/kernel-filter/automaton.js';
import type { SysmonEvent, FieldValue } from '../../src/events/event.js';
import { CONDITIONS, eventDef } from '../../src/events/schema.js';
import { rng } from './gen.js';
import type { MatchOptions } from '../../src/config/parse.js';

/** the engine's comparison modes: Sysmon for Linux (default), with --image-basename, and --windows */
const MODES: MatchOptions[] = [
  { provider: 'linux', imageBasename: false },
  { provider: 'linux', imageBasename: true },
  { provider: 'windows', imageBasename: false },
];

const FIXTURES = fileURLToPath(new URL('../fixtures/configs/', import.meta.url));
const REFERENCE = FIXTURES; // the real configs, copied with their licences (test/fixtures/configs)
const CREATE = 20,
  DELETE = 21,
  TIME = 23;
const RECORD_EVENTS: Record<number, number[]> = { [CREATE]: [11], [DELETE]: [23, 26], [TIME]: [2] };

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)]!;
}

/** Values for the fields the kernel does not see, drawn from the config's own filter values. */
function otherValues(c: Config): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const b of c.parsed.blocks)
    for (const f of b.filters) {
      if (f.field === 'TargetFilename') continue;
      const l = m.get(f.field) ?? ['-', '/usr/bin/true', 'root'];
      for (const t of f.value.split(';')) l.push(t, t.toUpperCase(), `x${t}`, `${t}x`, `/usr/bin/${t}`);
      m.set(f.field, l);
    }
  return m;
}

function event(id: number, path: string, r: () => number, others: Map<string, string[]>): SysmonEvent {
  const data: Record<string, FieldValue> = {};
  for (const f of eventDef(id).fields) {
    if (f.name === 'TargetFilename') data[f.name] = path;
    else if (f.type === 'UInt16' || f.type === 'UInt32') data[f.name] = Math.floor(r() * 70000);
    else if (f.type === 'Boolean') data[f.name] = r() < 0.5;
    else {
      const pool = others.get(f.name);
      data[f.name] = pool && r() < 0.8 ? pick(r, pool) : pick(r, ['-', '/usr/bin/bash', 'root', 'C:\\Windows\\x.exe']);
    }
  }
  return { id, recordId: 0, timeNs: 0n, data };
}

/**
 * For every path the model drops, `tries` events per Sysmon event the record can become, with
 * random other fields: the engine must drop each. Returns how many records the model dropped.
 */
function checkSound(name: string, c: Config, kf: KernelFilter, paths: string[], seed: number, tries: number): number {
  const r = rng(seed);
  const others = otherValues(c);
  let drops = 0;
  for (const path of paths) {
    for (const rt of [CREATE, DELETE, TIME]) {
      if (!decide(kf, rt, path)) continue;
      drops++;
      for (const id of RECORD_EVENTS[rt]!) {
        for (let i = 0; i < tries; i++) {
          const ev = event(id, path, r, others);
          const d = c.engine.explain(ev);
          if (d.keep)
            assert.fail(
              `${name}: the kernel drops record type ${rt} for ${JSON.stringify(path)} but the engine keeps event ${id} ${JSON.stringify(ev.data)} (block line ${d.block?.line})`,
            );
        }
      }
    }
  }
  return drops;
}

/** Linux paths built from the config's TargetFilename values: exact, cased, cut, extended. */
function pathsFromConfig(c: Config, n: number, seed: number): string[] {
  const r = rng(seed);
  const vals: string[] = [];
  for (const b of c.parsed.blocks) for (const f of b.filters) if (f.field === 'TargetFilename') vals.push(...f.value.split(';'));
  const base = ['/tmp/x', '/home/u/.cache/y', '/proc/1/stat', '/dev/shm/a', '/dev/null', '/var/lib/sysmon-ts/j', '/etc/cron.d/job', '/usr/lib/x.so'];
  const out: string[] = [...base];
  for (let i = 0; i < n; i++) {
    let v = vals.length && r() < 0.8 ? pick(r, vals) : pick(r, base);
    v = v.replace(/\\/g, r() < 0.7 ? '/' : '\\');
    switch (Math.floor(r() * 8)) {
      case 0:
        break;
      case 1:
        v = v.toUpperCase();
        break;
      case 2:
        v = v.slice(0, Math.max(1, v.length - 1));
        break;
      case 3:
        v = `${v}x`;
        break;
      case 4:
        v = `/tmp/${v}`;
        break;
      case 5:
        v = `${v}/sub/file.txt`;
        break;
      case 6:
        v = v.slice(1);
        break;
      default:
        v = `${pick(r, base)}/${v}`;
    }
    out.push(v.startsWith('/') ? v : `/${v}`);
  }
  return out;
}

const REAL = [
  FIXTURES + 'sysmon-modular-sysmonconfig.xml',
  FIXTURES + 'mstic-linux-main.xml',
  FIXTURES + 'linux-small.xml',
  fileURLToPath(new URL('../../src/config/default.xml', import.meta.url)),
  REFERENCE + 'sysmon-modular-sysmonconfig-with-filedelete.xml',
  REFERENCE + 'sysmon-modular-sysmonconfig-excludes-only.xml',
  REFERENCE + 'sysmon-modular-sysmonconfig-research.xml',
  REFERENCE + 'swiftonsecurity-sysmonconfig-export.xml',
  REFERENCE + 'mstic-linux-collect-all.xml',
];

test('real configs, every comparison mode: nothing the engine keeps is dropped by the kernel filter', () => {
  let total = 0;
  for (const file of REAL) {
    for (const mode of MODES) {
      const c = loadConfigFile(file, mode);
      const kf = compileKernelFilter(c.parsed);
      total += checkSound(`${file} ${JSON.stringify(mode)}`, c, kf, pathsFromConfig(c, 1500, 11), 5, 12);
    }
  }
  // the filter must actually drop something on real configs, or this test proves nothing
  assert.ok(total > 1000, `model dropped only ${total} records`);
});

test('the default config drops its noise in the kernel and keeps the rest', () => {
  const c = loadConfigFile(fileURLToPath(new URL('../../src/config/default.xml', import.meta.url)));
  const kf = compileKernelFilter(c.parsed);
  assert.equal(decide(kf, CREATE, '/proc/1/stat'), true);
  assert.equal(decide(kf, CREATE, '/VAR/CACHE/APT/x.deb'), true);
  assert.equal(decide(kf, CREATE, '/home/u/.cache/thumb.png'), true);
  assert.equal(decide(kf, CREATE, '/tmp/x'), false);
  // /dev/ but not /dev/shm/ is a two-filter AND rule: one 'not begin with' the kernel does not compile
  assert.equal(decide(kf, CREATE, '/dev/null'), false);
  assert.equal(decide(kf, DELETE, '/proc/1/x'), true);
  assert.equal(decide(kf, DELETE, '/tmp/x'), false);
  assert.equal(decide(kf, TIME, '/tmp/x'), true, 'FileCreateTime has no rules in the default config: never logged');
});

const ALPHA = ['/a', '/b', 'a', 'B', '.x', '/', 'a;b', ';a', 'b;', '', 'x\\a', 'é', '\u0130', '\u212a', 'i', 'K', 'ab/', '/A/b'];
/** every condition Sysmon has (the schema's list) */
const CONDS: readonly string[] = CONDITIONS;
const TAGS = ['FileCreate', 'FileDelete', 'FileDeleteDetected', 'FileCreateTime'];
const FIELDS = ['TargetFilename', 'TargetFilename', 'TargetFilename', 'Image', 'User'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

function randomFileConfig(seed: number): string {
  const r = rng(seed);
  let xml = `<Sysmon schemaversion="${pick(r, ['4.1', '4.90'])}"><EventFiltering>`;
  const blocks = 1 + Math.floor(r() * 4);
  for (let b = 0; b < blocks; b++) {
    const tag = pick(r, TAGS);
    const filter = () => {
      const f = pick(r, FIELDS);
      const v = pick(r, ALPHA) + (r() < 0.4 ? pick(r, ALPHA) : '');
      return `<${f} condition="${pick(r, CONDS)}">${esc(v)}</${f}>`;
    };
    let body = '';
    const items = Math.floor(r() * 6);
    for (let i = 0; i < items; i++) {
      if (r() < 0.3) {
        body += `<Rule${pick(r, [' groupRelation="and"', ' groupRelation="or"', ''])}>`;
        for (let j = 0, k = 1 + Math.floor(r() * 3); j < k; j++) body += filter();
        body += '</Rule>';
      } else body += filter();
    }
    const ev = `<${tag} onmatch="${pick(r, ['include', 'exclude'])}">${body}</${tag}>`;
    const g = Math.floor(r() * 3);
    xml += g === 0 ? ev : `<RuleGroup${g === 1 ? ' groupRelation="and"' : ' groupRelation="or"'}>${ev}</RuleGroup>`;
  }
  return xml + '</EventFiltering></Sysmon>';
}

function randomPaths(n: number, seed: number): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    let p = '';
    for (let k = 0, len = 1 + Math.floor(r() * 4); k < len; k++) p += pick(r, ALPHA);
    out.push(p.startsWith('/') ? p : `/${p}`);
  }
  return out;
}

test('1,500 random file configs, every comparison mode: the kernel drops only what the engine drops', () => {
  let drops = 0,
    judged = 0;
  for (let seed = 1; seed <= 1500; seed++) {
    const xml = randomFileConfig(seed);
    const mode = MODES[seed % MODES.length]!;
    const c = loadConfigText(xml, `random-${seed}.xml`, mode);
    const kf = compileKernelFilter(c.parsed);
    const paths = randomPaths(60, seed * 7);
    judged += paths.length;
    drops += checkSound(`random config ${seed} ${JSON.stringify(mode)}: ${xml}`, c, kf, paths, seed, 8);
  }
  // a useful share of records is decided in the kernel, or the comparison is empty
  assert.ok(drops > judged / 10, `model dropped ${drops} of ${judged * 3} records`);
});

test('the automaton finds exactly the patterns direct matching finds', () => {
  const r = rng(99);
  for (let round = 0; round < 300; round++) {
    const patterns: FlaggedPattern[] = [];
    for (let i = 0, n = 1 + Math.floor(r() * 12); i < n; i++) {
      let text = '';
      for (let k = 0, len = Math.floor(r() * 4); k < len; k++) text += pick(r, ['a', 'b', '/', '.']);
      patterns.push({ kind: pick(r, ['eq', 'prefix', 'suffix', 'substring'] as const), text, flag: 1 << Math.floor(r() * 8) });
    }
    const dfa = buildDfa(patterns, 1 << 18);
    for (let i = 0; i < 200; i++) {
      let path = '/';
      for (let k = 0, len = Math.floor(r() * 7); k < len; k++) path += pick(r, ['a', 'b', '/', '.', 'A', 'c']);
      const lp = path.toLowerCase();
      let want = 0;
      for (const p of patterns) {
        const hit =
          p.kind === 'eq' ? lp === p.text : p.kind === 'prefix' ? lp.startsWith(p.text) : p.kind === 'suffix' ? lp.endsWith(p.text) : lp.includes(p.text);
        if (hit) want |= p.flag;
      }
      assert.equal(
        walkFlags(dfa, kernelText(path)),
        want,
        `${JSON.stringify(path)} with ${JSON.stringify(patterns.map((p) => [p.kind, p.text, reversedText(p)]))}`,
      );
    }
  }
});

test('slots cover every file record type the handlers turn into an event', () => {
  assert.deepEqual(Object.keys(KF_RECORD_SLOTS).map(Number).sort(), [CREATE, DELETE, TIME]);
});

test('a config whose automaton does not fit the table filters nothing in the kernel, and says so', () => {
  const c = loadConfigFile(REFERENCE + 'sysmon-modular-sysmonconfig-with-filedelete.xml');
  const small = compileKernelFilter(c.parsed, 1000);
  assert.deepEqual(small.modes, [0, 0, 0, 0]);
  assert.ok(
    small.notes.some((n) => n.includes('exceed the table')),
    small.notes.join('\n'),
  );
  for (const p of ['/proc/1/x', '/tmp/x', '/etc/passwd']) for (const rt of [CREATE, DELETE, TIME]) assert.equal(decide(small, rt, p), false);
});

test('generations: a record judged by the previous tables gets the previous config, every other record the current one', async () => {
  const { ConfigGenerations } = await import('../../src/config/kernel-filter/generations.js');
  const installed: number[] = [];
  const gens = new ConfigGenerations({ install: (b) => installed.push(b.readUInt32LE(4)) });
  const a = loadConfigText(
    '<Sysmon schemaversion="4.90"><EventFiltering><FileCreate onmatch="exclude"><TargetFilename condition="begin with">/a/</TargetFilename></FileCreate></EventFiltering></Sysmon>',
  );
  const b = loadConfigText(
    '<Sysmon schemaversion="4.90"><EventFiltering><FileCreate onmatch="exclude"><TargetFilename condition="begin with">/b/</TargetFilename></FileCreate></EventFiltering></Sysmon>',
  );
  const JUDGED = 1 << 14,
    ODD = 1 << 15;
  gens.activate(a);
  assert.deepEqual(installed, [1]);
  assert.equal(gens.configFor(JUDGED | ODD), a);
  assert.equal(gens.configFor(JUDGED), a, 'no previous generation yet: the current config');
  gens.activate(b);
  assert.deepEqual(installed, [1, 2]);
  assert.equal(gens.configFor(JUDGED | ODD), a, 'generation 1 (odd) tables: config a');
  assert.equal(gens.configFor(JUDGED), b);
  assert.equal(gens.configFor(ODD), b, 'not judged by the kernel: the current config');
  assert.equal(gens.configFor(0), b);
  gens.activate(a);
  assert.equal(gens.configFor(JUDGED | ODD), a);
  assert.equal(gens.configFor(JUDGED), b);
  // a kernel that refuses new tables keeps judging with the last ones it took: their config applies
  let refuse = false;
  const flaky = new ConfigGenerations({
    install: () => {
      if (refuse) throw new Error('EPERM');
    },
  });
  flaky.activate(a); // generation 1 (odd) in the kernel
  refuse = true;
  assert.throws(() => flaky.activate(b)); // 2 refused
  assert.equal(flaky.configFor(JUDGED | ODD), a);
  assert.throws(() => flaky.activate(b)); // 3 (odd) refused too: the kernel still has generation 1
  assert.equal(flaky.configFor(JUDGED | ODD), a);
  assert.equal(flaky.configFor(0), b, 'records the kernel does not judge: the current config');
});
