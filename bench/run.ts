// `npm run bench` (about 10 minutes) / `npm run bench -- --long` (adds 5 reps per storm and
// a 10-minute RSS run). Needs root (eBPF, apt for the peers). Prints a markdown table and
// appends it, with machine, date, commit and command, to bench/RESULTS.md.
// Options: --long, --rss-minutes N (RSS run alone, or its length with --long), --no-peers, --no-apt, --skip cost,pipeline,ring,storms,latency
//          --only cost (the cost-per-operation table alone, 5-15 minutes), --cost-reps N (default 3), --cost-kinds exec,file,connect
//          --records FILE (reuse a recording), --no-write (do not touch RESULTS.md)
//          --soak MINUTES: the soak run instead (bench/soak.ts; --keep, --no-setup)
//          --evtx-fuzz [--seed N] [--minutes M | --iterations N]: only the EVTX reader fuzzing (bench/evtx-fuzz.ts)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { record } from '../src/commands/record.js';
import { DRIVER_OBJECTS } from '../src/driver-objects.js';
import { costTable } from './cost.js';
import { runSoak } from './soak.js';
import {
  ALL_CONFIG,
  BIG_CONFIG,
  DEFAULT_CONFIG,
  JsonlTail,
  ROOT,
  buildWorkloads,
  makeWorkDir,
  peerMonitors,
  percentile,
  restoreAudit,
  rssMB,
  runWorkload,
  sleep,
  stormRun,
  sysmonMonitor,
  sysmonMatch,
  type Monitor,
  type StormRow,
  type Workload,
  type WorkloadSpec,
} from './live.js';

const argv = process.argv.slice(2);
const flag = (f: string) => argv.includes(`--${f}`);
const opt = (f: string) => {
  const i = argv.indexOf(`--${f}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const LONG = flag('long');
const skip = new Set((opt('skip') ?? '').split(',').filter(Boolean));
if (opt('only')) for (const s of ['cost', 'pipeline', 'ring', 'storms', 'latency', 'rss']) if (!opt('only')!.split(',').includes(s)) skip.add(s);
const t0 = Date.now();
const out: string[] = [];
const say = (s: string) => {
  process.stderr.write(`bench [${((Date.now() - t0) / 1000).toFixed(0)}s]: ${s}\n`);
};
const emit = (s = '') => {
  out.push(s);
  process.stdout.write(`${s}\n`);
};
const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function setup(work: string): { bins: ReturnType<typeof buildWorkloads>; ringObj: string; consumer: string } {
  if (process.getuid?.() !== 0) throw new Error('the bench needs root (eBPF programs, apt for the peers)');
  say('building the driver (make -C driver/linux)');
  execFileSync('make', ['-s', '-C', join(ROOT, 'driver/linux')], { stdio: 'inherit' });
  if (!flag('no-apt')) {
    // bpftrace is the cost table's yardstick; the other peers only for section 3
    const pk = flag('no-peers') || skip.has('storms') ? ['bpftrace'] : ['auditd', 'laurel', 'bpftrace', 'fatrace', 'libbpf-tools'];
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own ${Status} format
    const missing = pk.filter((p) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout.indexOf('install ok installed') < 0);
    if (missing.length) {
      say(`installing peers with apt: ${missing.join(' ')}`);
      spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      // services are not started by apt here (policy-rc.d); the bench starts and stops them per run
      spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    }
  }
  say('compiling workloads and the ring-fill program');
  const bins = buildWorkloads(work);
  const ringObj = join(work, 'ringfill.bpf.o');
  execFileSync('clang', [
    '-g',
    '-O2',
    '-target',
    'bpf',
    '-D__TARGET_ARCH_x86',
    `-I${join(ROOT, 'driver/linux')}`,
    '-c',
    join(ROOT, 'bench/ringfill/ringfill.bpf.c'),
    '-o',
    ringObj,
  ]);
  const consumer = join(work, 'consumer');
  execFileSync('cc', ['-O2', '-o', consumer, join(ROOT, 'bench/ringfill/consumer.c'), '-lbpf']);
  return { bins, ringObj, consumer };
}

function nodeJson(args: string[], cpu = '1'): Record<string, number | string | null> {
  const r = spawnSync('taskset', ['-c', cpu, process.execPath, '--import', 'tsx', ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr.slice(-1500)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const work = makeWorkDir();
  const commit = sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'])
    .split('\n')
    .some((l) => l.trim() && !l.endsWith('bench/RESULTS.md'));
  const fileDir = join(work, 'files');
  try {
    const { bins, ringObj, consumer } = setup(work);
    const presentFamilies = DRIVER_OBJECTS.filter((o) => existsSync(o)).map((o) => o.split('/').pop()!.replace('.bpf.o', ''));
    emit(
      `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}${dirty ? ' (+ uncommitted changes of the shared checkout)' : ''}, \`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\``,
    );
    emit('');
    emit(
      `Machine: ${hostname()}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, kernel ${sh('uname', ['-r'])}, Node ${process.version}. Driver families loaded: ${presentFamilies.join(', ')} (of ${DRIVER_OBJECTS.length} in src/driver-objects.ts, from the family descriptors).`,
    );
    emit('');

    // ---------------------------------------------------------- (0) cost per operation
    if (!skip.has('cost')) {
      if (!existsSync('/usr/bin/bpftrace')) throw new Error('the cost table needs bpftrace (apt-get install bpftrace; the bench installs it unless --no-apt)');
      const reps = Number(opt('cost-reps') ?? (LONG ? 5 : 3));
      const kinds = opt('cost-kinds')?.split(',') as Workload[] | undefined;
      const { lines } = await costTable({ work, bins, reps, kinds, say });
      emit(`### 0. Cost per operation: agent CPU per operation, sysmon-ts vs bpftrace (${reps} reps interleaved, order rotating)`);
      emit('');
      emit(
        'sysmon-ts = the compiled agent as `npm start` runs it (`node dist/src/cli.js run --jsonl FILE --journal DIR -c CONFIG`); bpftrace = one printf line per operation to a file (bench/live.ts BPFTRACE_SCRIPTS). Each monitor first sees two unmeasured warm-up storms of the same size (bench/cost.ts WARM_STORMS: V8 compiles the hot paths during them, and still recompiled ~10% of the agent\'s CPU in the storm after one). CPU = user+system of all the monitor\'s threads (/proc/PID/stat) from the end of the warm-up until its output stopped growing, divided by the storm\'s operations (a file = create+write+close+unlink = 2 events; a connect = 1 connect event, the default config also logs the accept side). captured = workload events found in the output / expected, warm-up included (sysmon-modular logs none of these storms by design; other jobs running the same storms can push it above 100%). The agent logs the whole machine: "events logged / expected" shows how much other activity it handled in the run, and CPU per event logged does not depend on it. Threads: per-thread CPU from /proc/PID/task of the median run ("node" = V8 and libuv pool threads). startup = spawn -> "monitoring;". docs/performance.md explains the method.',
      );
      emit('');
      for (const l of lines) emit(l);
      emit('');
    }

    // ---------------------------------------------------------- (1) pipeline replay
    let recFile = opt('records');
    if (!skip.has('pipeline')) {
      if (!recFile) {
        recFile = join(work, 'storm.rec');
        say('recording raw ring records from live storms (exec + file + connect)');
        let stop!: () => void;
        const stopP = new Promise<void>((r) => {
          stop = r;
        });
        let ready!: () => void;
        const readyP = new Promise<void>((r) => {
          ready = r;
        });
        const recP = record({ out: recFile, seconds: 120, objects: DRIVER_OBJECTS.filter((o) => existsSync(o)), onReady: ready, stop: stopP });
        await readyP;
        await Promise.all([
          runWorkload(bins, { kind: 'exec', n: 3000, fileDir }),
          runWorkload(bins, { kind: 'file', n: 100000, fileDir }),
          runWorkload(bins, { kind: 'connect', n: 30000, fileDir }),
        ]);
        await sleep(200);
        stop();
        const rr = await recP;
        say(`recorded ${rr.records} records (${rr.bytes} bytes, kernel drops ${rr.kernelDrops}), programs: ${rr.attached.join(',')}`);
      }
      const mix = recordMix(recFile);
      const P = ['bench/pipeline.ts', '--records', recFile, '--min-records', LONG ? '1000000' : '250000'];
      const rows: [string, string, Record<string, number | string | null>][] = [];
      const scen: [string, string[]][] = [
        ['decode', ['--stage', 'decode']],
        ['decode + normalize', ['--stage', 'capture']],
        ['rules: default config', ['--stage', 'rules', '--config', 'default']],
        ['rules: sysmon-modular (big)', ['--stage', 'rules', '--config', 'big']],
        ['+ journal (big config)', ['--stage', 'journal', '--config', 'big']],
        ['end to end -> JSONL, no rules', ['--stage', 'e2e', '--config', 'none', '--sink', 'jsonl']],
        ['end to end -> JSONL, default config', ['--stage', 'e2e', '--config', 'default', '--sink', 'jsonl']],
        ['end to end -> JSONL, big config', ['--stage', 'e2e', '--config', 'big', '--sink', 'jsonl']],
        ['end to end -> EVTX, no rules', ['--stage', 'e2e', '--config', 'none', '--sink', 'evtx']],
        ['end to end -> syslog TCP, no rules', ['--stage', 'e2e', '--config', 'none', '--sink', 'syslog']],
      ];
      const reps = LONG ? 3 : 2;
      // quick mode: the headline (end to end -> JSONL, big config) and decode+normalize get
      // 2 interleaved reps, the rest one (the whole bench has to fit in ~10 minutes)
      const repeated = new Set(['decode + normalize', 'end to end -> JSONL, big config', 'end to end -> JSONL, no rules']);
      for (let rep = 0; rep < reps; rep++) {
        for (const [name, a] of scen) {
          if (!LONG && rep > 0 && !repeated.has(name)) continue;
          say(`pipeline: ${name} (rep ${rep + 1}/${reps})`);
          let recv: ReturnType<typeof spawn> | null = null;
          const extra: string[] = [];
          try {
            if (a.includes('syslog')) {
              // a local TCP receiver on the other core that counts bytes
              recv = spawn(
                'taskset',
                [
                  '-c',
                  '0',
                  process.execPath,
                  '-e',
                  "const s=require('net').createServer(c=>{c.on('data',()=>{})}).listen(0,'127.0.0.1',()=>console.log(s.address().port))",
                ],
                { stdio: ['ignore', 'pipe', 'inherit'] },
              );
              const port = await new Promise<string>((r) => recv!.stdout!.once('data', (d) => r(String(d).trim())));
              extra.push('--syslog-port', port);
            }
            rows.push([name, String(rep), nodeJson([...P, ...a, ...extra])]);
          } catch (e) {
            rows.push([name, String(rep), { error: (e as Error).message.split('\n').slice(-3).join(' ') }]);
          } finally {
            recv?.kill();
          }
        }
      }
      emit(`### 1. Pipeline throughput, replayed records, one core (taskset -c 1)`);
      emit('');
      emit(
        `Recording: ${mix}. Each scenario in its own process (its peak RSS includes the whole recording and, for the rules rows, every event held in memory); ${LONG ? reps : '1 (2 for the rows marked *)'} interleaved reps, best and worst shown; "events/s" counts the events the pipeline produced (before rules), "kept" the ones the config logged. Other engineers' jobs shared the machine.`,
      );
      emit('');
      emit('| stage | records/s | events/s (best / worst) | kept | peak RSS MB |');
      emit('|---|---|---|---|---|');
      for (const [name] of scen) {
        const rs = rows.filter((r) => r[0] === name).map((r) => r[2]);
        const err = rs.find((r) => r.error);
        if (err) {
          emit(`| ${name} | error: ${String(err.error).slice(0, 120)} | | | |`);
          continue;
        }
        const ev = rs.map((r) => Number(r.eventsPerSec ?? r.recordsPerSec));
        const rec = rs.map((r) => Number(r.recordsPerSec ?? NaN));
        const kept = rs[0]!.kept ?? rs[0]!.events ?? '';
        const evs = rs[0]!.events ?? '';
        emit(
          `| ${name}${!LONG && repeated.has(name) ? ' *' : ''} | ${fmt(Math.max(...rec))} | ${fmt(Math.max(...ev))} / ${fmt(Math.min(...ev))} | ${kept === '' ? '' : `${fmt(Number(kept))} of ${fmt(Number(evs))}`} | ${Math.max(...rs.map((r) => Number(r.peakRssMB)))} |`,
        );
      }
      emit('');
      // issue 17's two replay targets, with the figure that other jobs' load moves least (events
      // per CPU-second of the scenario's process) next to the wall-clock rate on one core
      const targets: [string, string, number][] = [
        ['replay end to end (decode, enrich, sysmon-modular rules, journal, JSONL)', 'end to end -> JSONL, big config', 300_000],
        ['replay with no rules -> JSONL', 'end to end -> JSONL, no rules', 150_000],
      ];
      emit('Targets (issue 17), one core:');
      emit('');
      emit('| target | events/s, best of reps (wall clock) | events per CPU-second, best | target | verdict |');
      emit('|---|---|---|---|---|');
      for (const [what, name, target] of targets) {
        const rs = rows.filter((r) => r[0] === name && !r[2].error).map((r) => r[2]);
        if (!rs.length) {
          emit(`| ${what} | error | | >= ${fmt(target)} | - |`);
          continue;
        }
        const wall = Math.max(...rs.map((r) => Number(r.eventsPerSec)));
        const cpu = Math.max(...rs.map((r) => Number(r.eventsPerCpuSec)));
        const verdict = cpu >= target ? 'met' : `**missed**, ${(target / cpu).toFixed(2)}x short`;
        emit(`| ${what} | ${fmt(wall)} | ${fmt(cpu)} | >= ${fmt(target)} | ${verdict} |`);
      }
      const ceiling = rows.filter((r) => r[0] === 'decode + normalize' && !r[2].error).map((r) => Number(r[2].eventsPerCpuSec));
      if (ceiling.length)
        emit(`\nCeiling of both: decode + normalize alone (before any rule, journal or sink) ran at ${fmt(Math.max(...ceiling))} events per CPU-second.`);
      emit('');
    }

    // ---------------------------------------------------------- (2) reader ceiling
    if (!skip.has('ring')) {
      say('reader ceiling: RingReader vs libbpf ring_buffer (A/B/A/B)');
      const ts: number[] = [];
      const c: number[] = [];
      for (let i = 0; i < 3; i++) {
        ts.push(Number(nodeJson(['bench/ringfill/drain.ts', ringObj, '20']).recordsPerSec));
        const r = spawnSync('taskset', ['-c', '1', consumer, ringObj, '20'], { encoding: 'utf8' });
        c.push(Number(JSON.parse(r.stdout.trim()).recordsPerSec));
      }
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      emit('### 2. Reader ceiling: draining a full 16 MiB ring (56-byte records, bpf_loop fill), one core');
      emit('');
      emit('| reader | records/s (median of 3, A/B/A/B) | runs |');
      emit('|---|---|---|');
      emit(`| sysmon-ts RingReader (TS, zero-copy mmap, walk + read type) | ${fmt(med(ts))} | ${ts.map((x) => fmt(x / 1e6, 1)).join(' / ')} M |`);
      emit(`| libbpf ring_buffer__consume (C, same walk) | ${fmt(med(c))} | ${c.map((x) => fmt(x / 1e6, 1)).join(' / ')} M |`);
      emit(`| ratio ours / C | ${(med(ts) / med(c)).toFixed(3)} | |`);
      emit('');
    }

    // ---------------------------------------------------------- (3) live storms
    let rssSamples: number[] = [];
    if (!skip.has('storms')) {
      const reps = LONG ? 5 : 2;
      const sizes: Record<Workload, number> = LONG ? { exec: 5000, file: 200000, connect: 20000 } : { exec: 1000, file: 40000, connect: 10000 };
      const rows: StormRow[] = [];
      for (const kind of ['exec', 'file', 'connect'] as Workload[]) {
        const w: WorkloadSpec = { kind, n: sizes[kind], fileDir };
        const mons: (Monitor | null)[] = [
          null,
          sysmonMonitor('sysmon-ts default config', DEFAULT_CONFIG),
          sysmonMonitor('sysmon-ts sysmon-modular', BIG_CONFIG),
        ];
        if (!flag('no-peers')) mons.push(...peerMonitors(kind));
        for (let rep = 0; rep < reps; rep++) {
          for (const m of mons) {
            say(`storm ${kind} x${w.n}: ${m?.name ?? 'no monitor'} (rep ${rep + 1}/${reps})`);
            const r = await stormRun(bins, w, m, work, rep);
            if (r.error) say(`  error: ${r.error}`);
            rows.push(r);
          }
        }
      }
      emit(
        `### 3. Live storms (${sizes.exec} exec, ${sizes.file} files = ${2 * sizes.file} create+delete events, ${sizes.connect} loopback connects), ${reps} reps interleaved A/B/A/B`,
      );
      emit('');
      emit(
        'Slowdown = median workload time with the monitor / median with none. CPU = monitor process user+sys from workload start until its output stopped growing (kernel-side BPF time is charged to the workload, so it shows in the slowdown). captured = events of the workload found in the output / expected. bytes = output written per expected event.',
      );
      emit('');
      emit('| workload | monitor | time s (median) | slowdown | monitor CPU s / 1000 events | captured | bytes/event |');
      emit('|---|---|---|---|---|---|---|');
      const med = (xs: number[]) => {
        const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
        return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
      };
      for (const kind of ['exec', 'file', 'connect'] as Workload[]) {
        const base = med(rows.filter((r) => r.workload === kind && r.monitor === 'none').map((r) => r.seconds));
        const names = [...new Set(rows.filter((r) => r.workload === kind).map((r) => r.monitor))];
        for (const n of names) {
          const rs = rows.filter((r) => r.workload === kind && r.monitor === n);
          const ok = rs.filter((r) => !r.error);
          if (!ok.length) {
            emit(`| ${kind} | ${n} | failed: ${rs[0]?.error?.slice(0, 100)} | | | | |`);
            continue;
          }
          const t = med(ok.map((r) => r.seconds));
          const exp = ok[0]!.expected;
          const cpu = med(ok.map((r) => r.cpu));
          const cap = ok.map((r) => r.captured).filter((x): x is number => x !== null);
          const capStr =
            n === 'none'
              ? '-'
              : n.includes('sysmon-modular') && Math.max(...cap) === 0
                ? '0 (the config excludes them)'
                : `${((100 * Math.min(...cap)) / exp).toFixed(2)}%${Math.min(...cap) !== Math.max(...cap) ? ` - ${((100 * Math.max(...cap)) / exp).toFixed(2)}%` : ''}`;
          emit(
            `| ${kind} | ${n} | ${t.toFixed(3)} (${ok.map((r) => r.seconds.toFixed(2)).join(', ')}) | ${n === 'none' ? '-' : `${(100 * (t / base - 1)).toFixed(1)}%`} | ${n === 'none' ? '-' : (cpu / (exp / 1000)).toFixed(3)} | ${capStr} | ${n === 'none' ? '-' : fmt(med(ok.map((r) => r.bytes)) / exp)} |`,
          );
        }
      }
      const idle = rows.map((r) => r.idle);
      emit('');
      emit(
        `Idle CPU fraction before each run: min ${(100 * Math.min(...idle)).toFixed(0)}%, median ${(100 * med(idle)).toFixed(0)}% (the bench waits up to 2 s (4 s with --long) for > 80% idle, then runs anyway).`,
      );
      emit('');
    }

    // ---------------------------------------------------------- (4) latency + (5) RSS
    if (!skip.has('latency')) {
      emit('### 4. Latency kernel timestamp -> line readable in the JSONL file (sysmon-ts, bench/configs/all.xml logs everything)');
      emit('');
      emit(
        'Connect storm paced on loopback (each connect = 2 events: the connect and the accept; only the storm events are timed); the bench tails the JSONL file every 1 ms and compares with TimeCreated.',
      );
      emit('');
      emit('| target events/s | events seen | p50 ms | p99 ms | max ms | agent RSS MB (max) |');
      emit('|---|---|---|---|---|---|');
      for (const [rate, secs] of [
        [500, 10],
        [5000, 10],
      ] as const) {
        const mon = sysmonMonitor('sysmon-ts all', ALL_CONFIG);
        const w: WorkloadSpec = { kind: 'connect', n: rate * secs, rate, fileDir };
        try {
          await mon.start(work);
          const tail = new JsonlTail(mon.jsonl, (l) => l.startsWith('{"EventID":3,') && l.includes('connect_storm'));
          tail.start(1);
          const pid = mon.pids()[0]!;
          const samples: number[] = [];
          const sampler = setInterval(() => samples.push(rssMB(pid)), 1000);
          await runWorkload(bins, w);
          await mon.settle();
          await sleep(300);
          clearInterval(sampler);
          tail.stop();
          rssSamples = rssSamples.concat(samples);
          await mon.stop(w);
          const l = tail.lat;
          emit(
            `| ~${fmt(rate * 2)} | ${fmt(l.length)} | ${percentile(l, 50).toFixed(1)} | ${percentile(l, 99).toFixed(1)} | ${Math.max(...l).toFixed(1)} | ${fmt(Math.max(...samples))} |`,
          );
        } catch (e) {
          emit(`| ~${fmt(rate * 2)} | failed: ${(e as Error).message.split('\n')[0]} | | | | |`);
          try {
            await mon.stop(w);
          } catch {
            /* ignore */
          }
        }
      }
      emit('');
    }

    const rssMinutes = Number(opt('rss-minutes') ?? 10);
    if ((LONG || opt('rss-minutes')) && !skip.has('rss')) {
      say(`RSS over ${rssMinutes} minutes, mixed workload (big config)`);
      // the agent users run: compiled, with `npm start`'s node flags (through tsx it holds
      // ~20-35 MB more: the TypeScript transform and its source maps)
      const mon = sysmonMonitor('sysmon-ts big', BIG_CONFIG, [], { compiled: true });
      await mon.start(work);
      const pid = mon.pids()[0]!;
      const samples: [number, number][] = [];
      const startMs = Date.now();
      const sampler = setInterval(() => samples.push([(Date.now() - startMs) / 1000, rssMB(pid)]), rssMinutes >= 5 ? 10_000 : 2_000);
      while (Date.now() - startMs < rssMinutes * 60_000) {
        await Promise.all([
          runWorkload(bins, { kind: 'exec', n: 200, rate: 200, fileDir }),
          runWorkload(bins, { kind: 'file', n: 20000, rate: 20000, fileDir }),
          runWorkload(bins, { kind: 'connect', n: 2000, rate: 2000, fileDir }),
        ]);
      }
      clearInterval(sampler);
      await mon.settle();
      await mon.stop({ kind: 'exec', n: 0, fileDir });
      emit(
        `### 5. RSS over ${rssMinutes} minutes (mixed: 200 exec/s + 20k files/s + 2k connects/s, sysmon-modular config; the compiled agent as \`npm start\` runs it)`,
      );
      emit('');
      emit(
        '| t s | ' +
          samples
            .filter((_, i) => i % 6 === 0)
            .map(([t]) => fmt(t))
            .join(' | ') +
          ' |',
      );
      emit(
        '|---|' +
          samples
            .filter((_, i) => i % 6 === 0)
            .map(() => '---')
            .join('|') +
          '|',
      );
      emit(
        '| RSS MB | ' +
          samples
            .filter((_, i) => i % 6 === 0)
            .map(([, r]) => fmt(r))
            .join(' | ') +
          ' |',
      );
      emit('');
    } else if (rssSamples.length) {
      emit(
        `### 5. RSS (short mode): agent RSS sampled every second during the latency runs: min ${fmt(Math.min(...rssSamples))} MB, max ${fmt(Math.max(...rssSamples))} MB over ${rssSamples.length} s; the 10-minute run is \`npm run bench -- --long\`.`,
      );
      emit('');
    }
    emit(`Bench wall time: ${((Date.now() - t0) / 60000).toFixed(1)} min.`);
    emit('');
    if (!flag('no-write')) appendFileSync(join(ROOT, 'bench/RESULTS.md'), `\n${out.join('\n')}\n`);
  } finally {
    restoreAudit();
    rmSync(work, { recursive: true, force: true });
  }
}

function recordMix(file: string): string {
  const buf = readFileSync(file);
  const counts = new Map<number, number>();
  let at = 8;
  while (at + 4 <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len >= 2) counts.set(buf.readUInt16LE(at + 4), (counts.get(buf.readUInt16LE(at + 4)) ?? 0) + 1);
    at += 4 + len;
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  return `${fmt(total)} records, ${fmt(statSync(file).size / 1048576, 1)} MiB, by record type ${[...counts]
    .sort((a, b) => a[0] - b[0])
    .map(([t, n]) => `${t}: ${fmt(n)}`)
    .join(', ')}`;
}

void sysmonMatch;
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    restoreAudit();
    process.exit(130);
  });
const soak = opt('soak');
if (flag('evtx-fuzz')) {
  // `npm run bench -- --evtx-fuzz [--seed N] [--minutes M | --iterations N]`: the EVTX reader fuzzing alone (bench/evtx-fuzz.ts)
  import('./evtx-fuzz.js')
    .then((m) => m.main(argv.filter((a) => a !== '--evtx-fuzz')))
    .then(
      (code) => process.exit(code),
      (e) => {
        process.stderr.write(`bench failed: ${(e as Error).stack}\n`);
        process.exit(1);
      },
    );
} else
  (soak !== undefined
    ? runSoak({
        minutes: Number(soak),
        write: !flag('no-write'),
        keep: flag('keep'),
        setup: !flag('no-setup'),
        sabotage: opt('sabotage') === 'copytruncate' ? 'copytruncate' : undefined,
        command: `npm run bench -- ${argv.join(' ')}`,
      })
    : main()
  ).then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`bench failed: ${(e as Error).stack}\n`);
      process.exit(1);
    },
  );
