// Start-up time and resident memory of the compiled agent as `npm start` runs it (issue 17:
// "monitoring" within 1 s, RSS <= 120 MB), this checkout against another one (--before DIR, a
// `git worktree add` of the starting commit with `bash driver/setup.sh` run in it), interleaved
// rep by rep so both see the same machine. Root.
//   node --import tsx bench/startup.ts [--reps 5] [--before DIR] [--configs default,modular]
//        [--node-args "--max-semi-space-size=4"] [--settle-ms 2000]
// Each agent runs as its checkout's `npm start` does (its package.json's node flags). Per start:
// spawn -> "monitoring;" on stderr (what bench/cost.ts calls startup), the agent's own
// phase breakdown (its debug log line "startup phases", when the checkout writes one), and after
// --settle-ms idle: RSS, anonymous RSS and the ring's mapping (/proc/PID/smaps), V8's heap.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BIG_CONFIG, DEFAULT_CONFIG, ROOT, sleep, startFlags } from './live.js';

interface Start {
  label: string;
  config: string;
  rep: number;
  startupMs: number;
  rssMB: number;
  anonMB: number;
  ringMB: number;
  phases?: Record<string, number>;
  objects?: { object: string; loadMs: number }[];
}

/** RSS, anonymous RSS and the resident BPF map pages (the ring) of a live process, in MB */
export function memoryOf(pid: number): { rssMB: number; anonMB: number; ringMB: number } {
  let rss = 0;
  let anon = 0;
  let ring = 0;
  let inBpf = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      inBpf = line.includes('bpf-map');
      continue;
    }
    const m = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const kb = Number(m[2]);
    if (m[1] === 'Rss') {
      rss += kb;
      if (inBpf) ring += kb;
    } else anon += kb;
  }
  const mb = (kb: number) => Math.round(kb / 102.4) / 10;
  return { rssMB: mb(rss), anonMB: mb(anon), ringMB: mb(ring) };
}

async function startOnce(label: string, root: string, config: string, rep: number, nodeArgs: string[], settleMs: number): Promise<Start> {
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-startup-'));
  const t0 = performance.now();
  const proc = spawn(
    process.execPath,
    [
      ...startFlags(root),
      ...nodeArgs,
      join(root, 'dist/src/cli.js'),
      'run',
      '--jsonl',
      join(dir, 'events.jsonl'),
      '--journal',
      join(dir, 'journal'),
      '-c',
      config,
      '--no-console',
      '--stats-every',
      '0',
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SYSMON_TS_RUN_DIR: join(dir, 'run'), SYSMON_TS_LOG_LEVEL: 'debug' } },
  );
  let err = '';
  let startupMs = NaN;
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (Number.isNaN(startupMs) && err.includes('monitoring;')) startupMs = performance.now() - t0;
  });
  const deadline = Date.now() + 60_000;
  while (Number.isNaN(startupMs) && proc.exitCode === null && Date.now() < deadline) await sleep(2);
  try {
    if (Number.isNaN(startupMs)) throw new Error(`${label}: the agent did not start: ${err.slice(-1500)}`);
    await sleep(settleMs);
    const mem = memoryOf(proc.pid!);
    const line = (msg: string) =>
      err
        .split('\n')
        .filter((l) => l.includes(`"msg":"${msg}"`))
        .map((l) => JSON.parse(l) as Record<string, unknown>)[0];
    const phases = line('startup phases')?.startupMs as Record<string, number> | undefined;
    const objects = line('startup: BPF objects (ms)')?.objects as { object: string; loadMs: number }[] | undefined;
    return { label, config: config === BIG_CONFIG ? 'sysmon-modular' : 'default', rep, startupMs: Math.round(startupMs), ...mem, phases, objects };
  } finally {
    const exited = new Promise((r) => proc.once('exit', r));
    if (proc.exitCode === null) proc.kill('SIGINT');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const reps = Number(arg('reps') ?? 5);
  const before = arg('before');
  const settleMs = Number(arg('settle-ms') ?? 2000);
  const nodeArgs = (arg('node-args') ?? '').split(' ').filter(Boolean);
  const configs = (arg('configs') ?? 'default,modular').split(',').map((c) => (c === 'modular' ? BIG_CONFIG : DEFAULT_CONFIG));
  const sides: { label: string; root: string; nodeArgs: string[] }[] = [{ label: 'this checkout', root: ROOT, nodeArgs }];
  if (before) sides.unshift({ label: `before (${resolve(before)})`, root: resolve(before), nodeArgs: [] });
  if (arg('ab-node-args') !== undefined)
    sides.push({ label: `this checkout ${arg('ab-node-args')}`, root: ROOT, nodeArgs: arg('ab-node-args')!.split(' ').filter(Boolean) });
  const runs: Start[] = [];
  for (let rep = 0; rep < reps; rep++) {
    for (const config of configs) {
      // rotate the order every rep: whoever starts first meets a colder page cache
      const order = sides.map((_, i) => sides[(i + rep) % sides.length]!);
      for (const side of order) {
        const r = await startOnce(side.label, side.root, config, rep, side.nodeArgs, settleMs);
        runs.push(r);
        process.stderr.write(`${r.label} ${r.config} rep ${rep}: ${r.startupMs} ms, RSS ${r.rssMB} MB (anon ${r.anonMB}, ring ${r.ringMB})\n`);
      }
    }
  }
  const rows: string[] = [
    '| config | agent | startup ms, median (all) | ratio to first | RSS MB median | anon RSS MB | ring RSS MB |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const config of new Set(runs.map((r) => r.config))) {
    let base = NaN;
    for (const side of sides) {
      const rs = runs.filter((r) => r.config === config && r.label === side.label);
      const ms = median(rs.map((r) => r.startupMs));
      if (Number.isNaN(base)) base = ms;
      rows.push(
        `| ${config} | ${side.label} | ${ms} (${rs.map((r) => r.startupMs).join(', ')}) | ${(ms / base).toFixed(2)} | ${median(rs.map((r) => r.rssMB))} | ${median(rs.map((r) => r.anonMB))} | ${median(rs.map((r) => r.ringMB))} |`,
      );
    }
  }
  const withPhases = runs.filter((r) => r.phases);
  if (withPhases.length) {
    const names = [...new Set(withPhases.flatMap((r) => Object.keys(r.phases!)))];
    rows.push('', '| phase (this checkout, ms, median) | ' + [...new Set(withPhases.map((r) => `${r.label} ${r.config}`))].join(' | ') + ' |');
    const groups = [...new Set(withPhases.map((r) => `${r.label} ${r.config}`))];
    rows.push(`|---|${groups.map(() => '---').join('|')}|`);
    for (const n of names)
      rows.push(`| ${n} | ${groups.map((g) => median(withPhases.filter((r) => `${r.label} ${r.config}` === g).map((r) => r.phases![n] ?? 0))).join(' | ')} |`);
    const objs = [...new Set(withPhases.flatMap((r) => (r.objects ?? []).map((o) => o.object)))].filter((o) => !o.startsWith('('));
    for (const o of objs)
      rows.push(
        `| load ${o} (on the pool) | ${groups.map((g) => median(withPhases.filter((r) => `${r.label} ${r.config}` === g).map((r) => r.objects?.find((x) => x.object === o)?.loadMs ?? 0))).join(' | ')} |`,
      );
  }
  process.stdout.write(`${rows.join('\n')}\n`);
}

await main();
