// Per-process verdicts never drop what the user-space engine keeps. For real configs and random
// ones, processes whose fields come from the config's own filter values (exact, cased, cut,
// extended) get a verdict (verdictBits); for every process with a verdict, many NetworkConnect
// and ImageLoad events of that process with random other fields (ports in and out of the keep
// set, addresses, loaded paths...) are judged by the engine, and each one the kernel model
// (netDropped / imageDropped) drops must be dropped by the engine. Verdicts by image (ProcessGuid
// and ProcessId unknown) are checked on events of processes with any other GUID and pid. The single-filter matcher
// is checked against the engine on random filters and values, and the verdicts must actually
// fire on the real configs (a compiler that never drops passes the first test trivially).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, loadConfigText, type Config } from '../../src/config/index.js';
import {
  compileProcessVerdicts,
  filterMatches,
  imageDropped,
  netDropped,
  pathQuiet,
  verdictBits,
  type ProcessFacts,
  type VerdictPlan,
} from '../../src/config/kernel-filter/process-verdicts.js';
import type { FieldValue, SysmonEvent } from '../../src/events/event.js';
import { CONDITIONS, eventDef } from '../../src/events/schema.js';
import type { FilterDef, MatchOptions } from '../../src/config/parse.js';
import { randomConfig, rng } from './gen.js';
import { DEFINES, STRUCTS } from '../../src/kernel/generated/events-h.js';
import { LiveVerdicts, MAX_LIVE, VERDICT_DELAY_MS } from '../../src/config/kernel-filter/live-verdicts.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/configs/', import.meta.url));
const REAL = [
  'sysmon-modular-sysmonconfig.xml',
  'sysmon-modular-sysmonconfig-with-filedelete.xml',
  'sysmon-modular-sysmonconfig-excludes-only.xml',
  'sysmon-modular-sysmonconfig-research.xml',
  'swiftonsecurity-sysmonconfig-export.xml',
  'mstic-linux-main.xml',
  'mstic-linux-collect-all.xml',
  'linux-small.xml',
].map((f) => FIXTURES + f);
const DEFAULT = fileURLToPath(new URL('../../src/config/default.xml', import.meta.url));
const MODES: MatchOptions[] = [
  { provider: 'linux', imageBasename: false },
  { provider: 'linux', imageBasename: true },
  { provider: 'windows', imageBasename: false },
];
/** what ImageLoad always holds on Linux (src/families/image/events.ts) */
const IMAGE_CONSTANTS = ['FileVersion', 'Description', 'Product', 'Company', 'OriginalFileName', 'Signed', 'Signature', 'SignatureStatus'];

function pick<T>(r: () => number, a: readonly T[]): T {
  return a[Math.floor(r() * a.length)]!;
}

function mutate(r: () => number, v: string): string {
  switch (Math.floor(r() * 8)) {
    case 0:
      return v;
    case 1:
      return v.toUpperCase();
    case 2:
      return v.slice(0, Math.max(0, v.length - 1));
    case 3:
      return `${v}x`;
    case 4:
      return `/usr/bin/${v}`;
    case 5:
      return `C:\\Windows\\${v}`;
    case 6:
      return v.replace(/\\/g, '/');
    default:
      return `x${v}`;
  }
}

/** Values of every field from the config's filters (tokens, mutated) plus plain ones. */
function pools(c: Config): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const b of c.parsed.blocks)
    for (const f of b.filters) {
      const l = m.get(f.field) ?? [];
      for (const t of f.value.split(';')) l.push(t);
      m.set(f.field, l);
    }
  return m;
}

function processes(c: Config, n: number, seed: number): ProcessFacts[] {
  const r = rng(seed);
  const p = pools(c);
  const val = (field: string, plain: string[]) => {
    const pool = p.get(field);
    return pool && r() < 0.8 ? mutate(r, pick(r, pool)) : pick(r, plain);
  };
  const out: ProcessFacts[] = [];
  for (let i = 0; i < n; i++) {
    const pidText = p.get('ProcessId');
    const pid = pidText && r() < 0.3 ? Number(pick(r, pidText)) || 1 : 1 + Math.floor(r() * 100000);
    out.push({
      guid: val('ProcessGuid', ['{01234567-89ab-cdef-0123-456789abcdef}']),
      pid,
      image: val('Image', ['/usr/bin/bash', '/usr/bin/curl', '/tmp/connect_storm', '/usr/lib/systemd/systemd', '-']),
      user: val('User', ['root', 'alice', 'NT AUTHORITY\\SYSTEM']),
    });
  }
  return out;
}

/** An event `id` of process `p` with random other fields (ports from the config and random). */
function eventOf(id: number, p: ProcessFacts, r: () => number, pool: Map<string, string[]>, port: () => number): SysmonEvent {
  const data: Record<string, FieldValue> = {};
  for (const f of eventDef(id).fields) {
    if (f.name === 'ProcessGuid') data[f.name] = p.guid;
    else if (f.name === 'ProcessId') data[f.name] = p.pid;
    else if (f.name === 'Image') data[f.name] = p.image;
    else if (f.name === 'User') data[f.name] = p.user;
    else if (f.name === 'DestinationPort' || f.name === 'SourcePort') data[f.name] = port();
    else if (id === 7 && IMAGE_CONSTANTS.includes(f.name)) data[f.name] = '-';
    else if (f.type === 'UInt16' || f.type === 'UInt32') data[f.name] = Math.floor(r() * 70000);
    else if (f.type === 'Boolean') data[f.name] = r() < 0.5;
    else {
      const vs = pool.get(f.name);
      data[f.name] = vs && r() < 0.7 ? mutate(r, pick(r, vs)) : pick(r, ['-', '/usr/lib/x86_64-linux-gnu/libc.so.6', '127.0.0.1', 'tcp', 'udp']);
    }
  }
  return { id, recordId: 0, timeNs: 0n, data };
}

/** Every event the kernel model drops must be dropped by the engine. Returns [verdicts, events dropped]. */
function checkSound(name: string, c: Config, plan: VerdictPlan, procs: ProcessFacts[], seed: number, tries: number): [number, number] {
  const r = rng(seed);
  const pool = pools(c);
  const keepPorts: number[] = [];
  for (let i = 0; i < 65536; i++) if (plan.ports[i]) keepPorts.push(i);
  // ports in the keep set, their neighbours, the config's own texts, and random ones
  const port = () =>
    keepPorts.length && r() < 0.4 ? pick(r, keepPorts) + pick(r, [0, 0, 1, -1]) : r() < 0.1 ? pick(r, [0, 65535, 443, 53]) : Math.floor(r() * 65536);
  let verdicts = 0,
    dropped = 0;
  const guids = pool.get('ProcessGuid') ?? [];
  const pids = (pool.get('ProcessId') ?? []).map(Number).filter((n) => n > 0);
  for (const p of procs)
    for (const byImage of [false, true]) {
      const bits = verdictBits(plan, p, byImage);
      if (bits === 0) continue;
      verdicts++;
      for (let i = 0; i < tries; i++) {
        // a verdict by image holds for every process of that Image and User
        const q = byImage
          ? {
              ...p,
              guid: guids.length && r() < 0.5 ? mutate(r, pick(r, guids)) : `{${Math.floor(r() * 1e9)}}`,
              pid: pids.length && r() < 0.5 ? pick(r, pids) : 1 + Math.floor(r() * 100000),
            }
          : p;
        const e3 = eventOf(3, q, r, pool, port);
        if (netDropped(plan, bits, e3.data.DestinationPort as number, e3.data.SourcePort as number)) {
          dropped++;
          const d = c.engine.explain(e3);
          if (d.keep)
            assert.fail(
              `${name}: verdict ${bits} (by image: ${byImage}) for ${JSON.stringify(q)} drops in the kernel, the engine keeps ${JSON.stringify(e3.data)} (block line ${d.block?.line})`,
            );
        }
        const e7 = eventOf(7, q, r, pool, port);
        if (imageDropped(plan, bits, e7.data.ImageLoaded as string)) {
          dropped++;
          const d = c.engine.explain(e7);
          if (d.keep)
            assert.fail(
              `${name}: verdict ${bits} (by image: ${byImage}) for ${JSON.stringify(q)} drops ImageLoad, the engine keeps ${JSON.stringify(e7.data)} (block line ${d.block?.line})`,
            );
        }
      }
    }
  return [verdicts, dropped];
}

test('real configs: no event a verdict drops is kept by the engine', () => {
  for (const path of [...REAL, DEFAULT])
    for (const mode of MODES) {
      const c = loadConfigFile(path, mode);
      const plan = compileProcessVerdicts(c.parsed);
      checkSound(`${path} ${mode.provider}${mode.imageBasename ? '+basename' : ''}`, c, plan, processes(c, 300, 7), 11, 40);
    }
});

test('the verdicts fire: sysmon-modular drops connections of a process it does not watch, unless the port is a watched one', () => {
  const c = loadConfigFile(FIXTURES + 'sysmon-modular-sysmonconfig.xml');
  const plan = compileProcessVerdicts(c.parsed);
  const bench: ProcessFacts = { guid: '{x}', pid: 4242, image: '/tmp/bench/connect_storm', user: 'root' };
  const bits = verdictBits(plan, bench);
  assert.equal(bits & 3, DEFINES.PV_DROP_UNLESS, 'NetworkConnect: drop unless a watched port');
  assert.equal(netDropped(plan, bits, 40000, 51234), true);
  // a port sysmon-modular's include block names (DestinationPort is 22 ... ): kept
  const watched = c.parsed.blocks.flatMap((b) => b.filters).find((f) => f.field === 'DestinationPort' && f.condition === 'is')!;
  assert.equal(netDropped(plan, bits, Number(watched.value), 51234), false);
  assert.equal(c.engine.evaluate(ev3(bench, Number(watched.value))).keep, true, 'the engine keeps it too');
  // a process sysmon-modular watches (by image): no verdict for its connections
  const watchedImage = c.parsed.blocks
    .filter((b) => b.eventIds.includes(3) && b.onmatch === 'include')
    .flatMap((b) => b.filters)
    .find((f) => f.field === 'Image' && f.condition === 'image' && f.ruleIndex < 0)!;
  assert.equal(verdictBits(plan, { ...bench, image: `C:\\x\\${watchedImage.value}` }) & 3, 0, watchedImage.value);
  const [verdicts, dropped] = checkSound('sysmon-modular', c, plan, processes(c, 500, 3), 5, 50);
  assert.ok(verdicts > 100 && dropped > 1000, `verdicts ${verdicts}, dropped ${dropped}`);
});

test('image loads: sysmon-modular drops those of a process it does not watch by image, unless the loaded path is a watched one', () => {
  const c = loadConfigFile(FIXTURES + 'sysmon-modular-sysmonconfig.xml');
  const plan = compileProcessVerdicts(c.parsed);
  const storm: ProcessFacts = { guid: '{x}', pid: 4242, image: '/tmp/bench/exec_child', user: 'root' };
  // OriginalFileName is "-" on Linux: its 25 include filters are known false, not unknown
  for (const byImage of [false, true]) {
    const bits = verdictBits(plan, storm, byImage);
    assert.equal((bits >> 2) & 3, DEFINES.PV_DROP_UNLESS, `ImageLoad: drop unless a watched path (by image: ${byImage})`);
    const libc = '/usr/lib/x86_64-linux-gnu/libc.so.6';
    assert.equal(pathQuiet(plan, libc), true);
    assert.equal(imageDropped(plan, bits, libc), true);
    const ev = eventOf(7, storm, rng(1), new Map(), () => 1);
    ev.data.ImageLoaded = libc;
    assert.equal(c.engine.evaluate(ev).keep, false, 'the engine drops it too');
  }
  // a path an include filter on ImageLoaded matches (begin with / end with / contains): not quiet, kept by the engine
  const watched = c.parsed.blocks
    .filter((b) => b.eventIds.includes(7) && b.onmatch === 'include')
    .flatMap((b) => b.filters)
    .filter((f) => f.field === 'ImageLoaded' && f.ruleIndex < 0 && (f.condition === 'end with' || f.condition === 'begin with'));
  assert.ok(watched.length > 5);
  for (const f of watched) {
    const path = f.condition === 'end with' ? `C:\\x\\${f.value}` : `${f.value}x.dll`;
    assert.equal(pathQuiet(plan, path), false, path);
    const ev = eventOf(7, storm, rng(1), new Map(), () => 1);
    ev.data.ImageLoaded = path;
    assert.equal(imageDropped(plan, verdictBits(plan, storm, true), path), false, path);
  }
  // with ProcessGuid/ProcessId unknown the verdict can only be weaker than the process's own
  for (const p of processes(c, 300, 5)) {
    const own = verdictBits(plan, p);
    const byImage = verdictBits(plan, p, true);
    assert.equal(byImage & ~own, 0, `${JSON.stringify(p)}: by image ${byImage}, own ${own}`);
  }
});

function ev3(p: ProcessFacts, dport: number): SysmonEvent {
  return eventOf(3, p, rng(1), new Map(), () => dport);
}

test('random configs: no event a verdict drops is kept by the engine', () => {
  let verdicts = 0;
  for (let seed = 1; seed <= 1500; seed++) {
    const mode = MODES[seed % MODES.length]!;
    let c: Config;
    try {
      c = loadConfigText(randomConfig(seed), `random-${seed}`, mode);
    } catch {
      continue; // a config Sysmon rejects
    }
    const plan = compileProcessVerdicts(c.parsed);
    verdicts += checkSound(`random config ${seed}`, c, plan, processes(c, 20, seed), seed, 10)[0];
  }
  assert.ok(verdicts > 1000, `only ${verdicts} verdicts: the random configs do not exercise the compiler`);
});

const ALPHA = ['a', 'b', 'ab', 'a;b', 'b;', '', 'A\\b', 'x/a', '22', '443;80', '4', 'tcp', 'true', '127.0.0.1', 'root'];
const FIELDS: Record<string, string[]> = {
  NetworkConnect: ['Image', 'User', 'ProcessId', 'DestinationPort', 'SourcePort', 'DestinationIp', 'Protocol', 'Initiated', 'DestinationHostname'],
  ImageLoad: ['Image', 'User', 'ImageLoaded', 'Signed', 'OriginalFileName', 'ProcessGuid', 'ProcessId', 'Hashes'],
};

/** A random NetworkConnect / ImageLoad config over process fields, kernel-tested ports and others. */
function randomProcessConfig(seed: number): string {
  const r = rng(seed);
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let xml = '<Sysmon schemaversion="4.90"><EventFiltering>';
  const blocks = 1 + Math.floor(r() * 4);
  for (let b = 0; b < blocks; b++) {
    const tag = pick(r, Object.keys(FIELDS));
    const filter = () => {
      const f = pick(r, FIELDS[tag]!);
      return `<${f} condition="${pick(r, CONDITIONS)}">${esc(pick(r, ALPHA))}</${f}>`;
    };
    let body = '';
    for (let i = Math.floor(r() * 6); i > 0; i--) {
      if (r() < 0.35) {
        body += `<Rule groupRelation="${pick(r, ['and', 'or'])}">`;
        for (let j = 1 + Math.floor(r() * 3); j > 0; j--) body += filter();
        body += '</Rule>';
      } else body += filter();
    }
    const ev = `<${tag} onmatch="${pick(r, ['include', 'exclude'])}">${body}</${tag}>`;
    xml += r() < 0.5 ? ev : `<RuleGroup groupRelation="${pick(r, ['and', 'or'])}">${ev}</RuleGroup>`;
  }
  return `${xml}</EventFiltering></Sysmon>`;
}

test('random NetworkConnect/ImageLoad configs with fields the kernel does not test: no event a verdict drops is kept', () => {
  let verdicts = 0;
  for (let seed = 1; seed <= 1500; seed++) {
    const mode = MODES[seed % MODES.length]!;
    let c: Config;
    try {
      c = loadConfigText(randomProcessConfig(seed), `random-${seed}`, mode);
    } catch {
      continue; // a config Sysmon rejects
    }
    const plan = compileProcessVerdicts(c.parsed);
    verdicts += checkSound(`random process config ${seed}`, c, plan, processes(c, 20, seed), seed, 10)[0];
  }
  assert.ok(verdicts > 1000, `only ${verdicts} verdicts: the random configs do not exercise the compiler`);
});

test('filterMatches decides every condition as the engine does', () => {
  const r = rng(99);
  const values = ['', 'a', 'A', 'ab', 'b;a', 'x\\ab', 'x/ab', 'C:\\Windows\\ab', '/usr/bin/ab', 'aB', 'ba', ';', 'a;;b', 'Ä', 'ä', '12', '0443', '443'];
  for (const mode of MODES) {
    const m = { fold: (s: string) => s, imageBasename: mode.imageBasename, linux: mode.provider === 'linux' };
    for (let i = 0; i < 4000; i++) {
      const condition = pick(r, CONDITIONS);
      const value = pick(r, values);
      const field = pick(r, values);
      const c = loadConfigText(
        `<Sysmon schemaversion="4.90"><EventFiltering><NetworkConnect onmatch="include"><Image condition="${condition}">${value.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Image></NetworkConnect></EventFiltering></Sysmon>`,
        'one',
        mode,
      );
      const f = c.parsed.blocks[0]!.filters[0] as FilterDef;
      const plan = compileProcessVerdicts(c.parsed);
      const engine = c.engine.evaluate(eventOf(3, { guid: '-', pid: 1, image: field, user: '-' }, r, new Map(), () => 1)).keep;
      assert.equal(
        filterMatches(f, field, { ...m, fold: plan.matching.fold }),
        engine,
        `${mode.provider}: ${JSON.stringify(field)} ${condition} ${JSON.stringify(value)}`,
      );
    }
  }
});

/** LiveVerdicts on sysmon-modular's plan, writing into a list of the pids it wrote verdicts for (the kernel map's stand-in) */
function modularLiveVerdicts() {
  const plan = compileProcessVerdicts(loadConfigFile(FIXTURES + 'sysmon-modular-sysmonconfig.xml').parsed);
  const written: number[] = [];
  const sink = {
    writeVerdict: (tgid: number) => {
      written.push(tgid);
      return true;
    },
    claimSeeded: () => true,
  };
  const live = new LiveVerdicts();
  live.configure(plan, 1, sink);
  return { plan, written, sink, live };
}

test('LiveVerdicts remembers at most MAX_LIVE processes, the oldest exec forgotten first', () => {
  const { plan, written, sink, live } = modularLiveVerdicts();
  const n = MAX_LIVE + 10;
  for (let pid = 1; pid <= n; pid++) live.onExec({ guid: '{g}', pid, image: '/tmp/bench/connect_storm', user: 'root' }, BigInt(pid), 1n);
  // pid 1 execs again: it is young now, pids 2..11 are the oldest
  live.onExec({ guid: '{g}', pid: 1, image: '/tmp/bench/connect_storm', user: 'root' }, BigInt(n + 1), 1n);
  assert.equal(live.size, MAX_LIVE);
  live.flush();
  written.length = 0;
  live.configure(plan, 2, sink); // a reload: every remembered process gets a verdict again
  live.flush();
  assert.equal(written.length, MAX_LIVE);
  const again = new Set(written);
  assert.ok(again.has(1) && again.has(n) && !again.has(2) && !again.has(11) && again.has(12));
});

test('LiveVerdicts writes a verdict only for a process still alive after the ring read that follows its exec, and 20 ms after it', async () => {
  const { plan, written, sink, live } = modularLiveVerdicts();
  const facts = (pid: number) => ({ guid: '{g}', pid, image: '/tmp/bench/connect_storm', user: 'root' });
  // read 0 brings the execs of 100 (lives on) and 101 (exits in read 1)
  live.onExec(facts(100), 1n, 1n);
  live.onExec(facts(101), 2n, 1n);
  live.afterRingRead();
  assert.deepEqual(written, [], 'no verdict before a later read could have brought the exit');
  await new Promise((r) => setTimeout(r, VERDICT_DELAY_MS + 5));
  // read 1 brings 101's exit and the exec of 102
  live.onExit(101);
  live.onExec(facts(102), 3n, 1n);
  live.afterRingRead();
  assert.deepEqual(written, [100], 'the process alive after the next read gets its verdict, the exited one none');
  // 102 is alive after read 2, but its exec is younger than VERDICT_DELAY_MS: not yet
  live.afterRingRead();
  assert.deepEqual(written, [100]);
  await new Promise((r) => setTimeout(r, VERDICT_DELAY_MS + 5));
  live.afterRingRead();
  assert.deepEqual(written, [100, 102]);
  // a reload: the live processes get verdicts of the new generation at the next read
  live.configure(plan, 2, sink);
  live.afterRingRead();
  assert.deepEqual(written.slice(2).sort(), [100, 102]);
});

test('LiveVerdicts: a process that ran exec again gets one verdict, naming its newer exec; one that exited between, none', () => {
  const plan = compileProcessVerdicts(loadConfigFile(FIXTURES + 'sysmon-modular-sysmonconfig.xml').parsed);
  const written: [number, bigint][] = [];
  const sink = {
    writeVerdict: (tgid: number, v: Uint8Array) => {
      written.push([tgid, Buffer.from(v).readBigUInt64LE(STRUCTS.pv_verdict.fields.exec_ns[0])]);
      return true;
    },
    claimSeeded: () => true,
  };
  const live = new LiveVerdicts();
  live.configure(plan, 1, sink);
  const facts = (pid: number) => ({ guid: '{g}', pid, image: '/tmp/bench/connect_storm', user: 'root' });
  live.onExec(facts(200), 1n, 1n);
  live.onExec(facts(201), 2n, 1n);
  live.onExec(facts(200), 3n, 1n);
  live.onExit(201);
  live.onExec(facts(202), 4n, 1n);
  live.onExit(202);
  live.onExec(facts(202), 5n, 1n); // pid reuse after the exit
  live.flush();
  assert.deepEqual(written, [
    [200, 3n],
    [202, 5n],
  ]);
  live.flush();
  assert.equal(written.length, 2, 'nothing left to write');
});

test('LiveVerdicts writes one verdict by image per exe path and user, and each quiet path once, per generation', () => {
  const plan = compileProcessVerdicts(loadConfigFile(FIXTURES + 'sysmon-modular-sysmonconfig.xml').parsed);
  const images: { key: Buffer; gen: number; bits: number }[] = [];
  const quiet: { key: Buffer; gen: number }[] = [];
  const sink = {
    writeVerdict: () => true,
    claimSeeded: () => true,
    writeImageVerdict: (key: Uint8Array, value: Uint8Array) => {
      const v = Buffer.from(value);
      images.push({ key: Buffer.from(key), gen: v.readUInt32LE(STRUCTS.pv_by_image.fields.gen[0]), bits: v.readUInt32LE(STRUCTS.pv_by_image.fields.bits[0]) });
      return true;
    },
    writeQuietPath: (key: Uint8Array, gen: number) => {
      quiet.push({ key: Buffer.from(key), gen });
      return true;
    },
  };
  const K = STRUCTS.pv_path_key;
  const keyOf = (uid: number, raw: Buffer) => {
    const k = Buffer.alloc(K.size);
    k.writeUInt32LE(uid, K.fields.uid[0]);
    k.writeUInt32LE(raw.length, K.fields.len[0]);
    raw.copy(k, K.fields.path[0]);
    return k;
  };
  const live = new LiveVerdicts();
  live.configure(plan, 1, sink);
  // the exe path as the exec record holds it: components leaf first, NUL-terminated
  const exe = Buffer.from('exec_child\0bench\0tmp\0');
  const facts = (pid: number) => ({ guid: `{${pid}}`, pid, image: '/tmp/bench/exec_child', user: 'root' });
  for (let pid = 10; pid < 20; pid++) live.onExec(facts(pid), BigInt(pid), 1n, exe, 0);
  assert.equal(images.length, 1, 'one verdict for ten execs of one image');
  assert.deepEqual(images[0], { key: keyOf(0, exe), gen: 1, bits: verdictBits(plan, facts(10), true) });
  assert.equal((images[0]!.bits >> 2) & 3, DEFINES.PV_DROP_UNLESS);
  live.onExec({ ...facts(30), user: 'alice' }, 30n, 1n, exe, 1000);
  assert.equal(images.length, 2, 'another user: another key');
  assert.deepEqual(images[1]!.key, keyOf(1000, exe));
  live.onExec(facts(31), 31n, 1n, null, 0);
  live.onExec(facts(32), 32n, 1n, Buffer.alloc(DEFINES.PV_PATH_MAX + 1, 0x61), 0);
  assert.equal(images.length, 2, 'no verdict by image for a truncated or too long path');

  const libc = Buffer.from('libc.so.6\0x86_64-linux-gnu\0lib\0usr\0');
  live.onImageLoad('/usr/lib/x86_64-linux-gnu/libc.so.6', libc);
  live.onImageLoad('/usr/lib/x86_64-linux-gnu/libc.so.6', libc);
  const watched = loadConfigFile(FIXTURES + 'sysmon-modular-sysmonconfig.xml')
    .parsed.blocks.filter((b) => b.eventIds.includes(7) && b.onmatch === 'include')
    .flatMap((b) => b.filters)
    .find((f) => f.field === 'ImageLoaded' && f.condition === 'end with' && f.ruleIndex < 0)!;
  live.onImageLoad(`C:\\x\\${watched.value}`, Buffer.from(`${watched.value}\0x\0`));
  assert.deepEqual(quiet, [{ key: keyOf(0, libc), gen: 1 }], 'libc once; a path an ImageLoaded filter watches never');
  // a reload: everything is judged again under the new generation
  live.configure(plan, 2, sink);
  live.onExec(facts(40), 40n, 1n, exe, 0);
  live.onImageLoad('/usr/lib/x86_64-linux-gnu/libc.so.6', libc);
  assert.equal(images.at(-1)!.gen, 2);
  assert.equal(quiet.at(-1)!.gen, 2);
  assert.equal(quiet.length, 2);
});
