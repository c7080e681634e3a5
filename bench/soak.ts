// `npm run bench -- --soak MINUTES [--no-write] [--keep] [--no-setup] [--sabotage copytruncate]`: the live agent
// (compiled dist/, as `npm start` runs it, real kernel) under a mixed storm for MINUTES, with
// the things a host does to it: the syslog receiver (a real rsyslogd over TCP) stopped for
// 20 s every 5 minutes, a logrotate-style JSONL rotation + SIGHUP every minute, a config
// reload (`sysmon-ts -c FILE`, alternating two configs) every 2 minutes and one kill -9 +
// restart. Then: events generated (by the storm's own markers) vs delivered per sink, RSS and
// FD count (sampled every 10 s), the agent's own events (255, 16, 4). Appends the report to
// bench/RESULTS.md (unless --no-write). See bench/README.md.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ROOT, sleep } from './live.js';
import { CLI, SoakAgent, type Sample } from './soak/agent.js';
import { analyzeSink, slopePerHour, type SinkResult, type Window } from './soak/analyze.js';
import { readJsonlSink, readSyslogReceiver } from './soak/collect.js';
import { Storm, type StormRates } from './soak/storm.js';
import { Rsyslog, rsyslogMissing } from '../test/sinks/rsyslog.js';

/** ms before a kill -9 whose operations may still sit in the kernel ring: the agent's longest poll (32 ms) and a batch's journal write, with room */
const KILL_MARGIN_MS = 100;

export interface SoakOptions {
  minutes: number;
  write: boolean;
  keep: boolean;
  setup: boolean;
  command: string;
  sabotage?: 'copytruncate';
}

const RATES: StormRates = { exec: 10, file: 20, connect: 10 };
const OUTAGE_MS = 20_000;

function configXml(variant: string, storm: Storm): string {
  const rule = (what: string) => `soak-${variant}-${what}`;
  return `<Sysmon schemaversion="4.90">
  <EventFiltering>
    <!-- an empty include logs none: without it every process end on the (shared) machine is logged -->
    <RuleGroup name="" groupRelation="or">
      <ProcessTerminate onmatch="include"/>
    </RuleGroup>
    <RuleGroup name="" groupRelation="or">
      <ProcessCreate onmatch="include"><CommandLine name="${rule('exec')}" condition="contains">${storm.execMarker}</CommandLine></ProcessCreate>
    </RuleGroup>
    <RuleGroup name="" groupRelation="or">
      <FileCreate onmatch="include"><TargetFilename name="${rule('create')}" condition="begin with">${storm.filePrefix}</TargetFilename></FileCreate>
    </RuleGroup>
    <RuleGroup name="" groupRelation="or">
      <FileDelete onmatch="include"><TargetFilename name="${rule('delete')}" condition="begin with">${storm.filePrefix}</TargetFilename></FileDelete>
    </RuleGroup>
    <RuleGroup name="" groupRelation="or">
      <FileDeleteDetected onmatch="include"><TargetFilename name="${rule('delete')}" condition="begin with">${storm.filePrefix}</TargetFilename></FileDeleteDetected>
    </RuleGroup>
    <RuleGroup name="" groupRelation="or">
      <NetworkConnect onmatch="include"><DestinationPort name="${rule('connect')}" condition="is">${storm.listenPort}</DestinationPort></NetworkConnect>
    </RuleGroup>
  </EventFiltering>
</Sysmon>
`;
}

interface Action {
  atS: number;
  name: string;
  run: () => Promise<string>;
}

export async function runSoak(o: SoakOptions): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the soak needs root (eBPF programs)');
  if (!Number.isFinite(o.minutes) || o.minutes < 2) throw new Error('--soak MINUTES: at least 2');
  const missing = rsyslogMissing();
  if (missing) throw new Error(`the soak needs ${missing}`);
  const t0 = Date.now();
  // the commit measured is the one at the start (the tree may move during a long run)
  const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' })
    .split('\n')
    .some((l) => l.trim() && !l.endsWith('bench/RESULTS.md'));
  const say = (s: string) => process.stderr.write(`soak [${((Date.now() - t0) / 1000).toFixed(0)}s]: ${s}\n`);
  if (o.setup) {
    say('bash driver/setup.sh (dist/ and the BPF objects, as npm start does)');
    execFileSync('bash', ['driver/setup.sh'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run bash driver/setup.sh`);
  const work = mkdtempSync('/tmp/sysmon-soak-');
  const paths = {
    dir: join(work, 'agent'),
    jsonl: join(work, 'agent/events.jsonl'),
    journal: join(work, 'agent/journal'),
    runDir: join(work, 'run'),
    root: join(work, 'root'),
  };
  for (const d of [paths.dir, paths.runDir, paths.root, join(work, 'files')]) mkdirSync(d, { recursive: true, mode: 0o700 });
  const storm = new Storm(randomBytes(4).toString('hex'), join(work, 'files'), RATES);
  const rs = await Rsyslog.create();
  const timeline: string[] = [];
  let agent: SoakAgent | null = null;
  try {
    await rs.start();
    await storm.listen();
    const configs = ['A', 'B'].map((v) => {
      const f = join(work, `config-${v}.xml`);
      writeFileSync(f, configXml(v, storm), { mode: 0o600 });
      return f;
    });
    agent = new SoakAgent(paths, `tcp://127.0.0.1:${rs.tcpPort}`, configs[0]!);
    say(`starting the agent (${CLI}), syslog -> rsyslogd tcp ${rs.tcpPort}, work dir ${work}`);
    await agent.start();
    const up: Window[] = [{ fromMs: Date.now(), toMs: Infinity }];
    const startMs = Date.now();
    storm.start();
    const sampler = setInterval(() => agent!.sample(), 10_000);
    agent.sample();

    const total = o.minutes * 60;
    const actions: Action[] = [];
    const a = agent;
    for (let t = 60; t < total; t += 60)
      actions.push({
        atS: t,
        name: 'JSONL rotation + SIGHUP',
        run: async () => {
          await a.rotate(o.sabotage ?? 'rename');
          return `-> events.jsonl.1 (rotation ${a.rotations}${o.sabotage ? `, ${o.sabotage}: negative control` : ''})`;
        },
      });
    let nextConfig = 1;
    for (let t = 90; t < total; t += 120) {
      actions.push({
        atS: t,
        name: 'sysmon-ts -c',
        run: async () => {
          const f = configs[nextConfig % 2]!;
          nextConfig++;
          return a.reload(f);
        },
      });
    }
    const outages = o.minutes >= 5 ? Array.from({ length: Math.floor((total - 190) / 300) + 1 }, (_, k) => 150 + 300 * k) : [Math.round(total * 0.3)];
    for (const t of outages) {
      actions.push({
        atS: t,
        name: 'rsyslogd stop',
        run: async () => {
          await rs.stop();
          return 'down';
        },
      });
      actions.push({
        atS: t + OUTAGE_MS / 1000,
        name: 'rsyslogd start',
        run: async () => {
          await rs.start();
          return 'up';
        },
      });
    }
    let killMs: number | null = null;
    let restart: Awaited<ReturnType<SoakAgent['killAndRestart']>> | null = null;
    // the kill, past the middle, 10 s or more away from the receiver's outages
    let killAt = Math.round(total * 0.55) + 5;
    while (outages.some((t) => killAt > t - 10 && killAt < t + OUTAGE_MS / 1000 + 10)) killAt += 10;
    actions.push({
      atS: killAt,
      name: 'kill -9 + restart',
      run: async () => {
        restart = await a.killAndRestart();
        killMs = restart.killMs;
        // what the killed agent had not read from the kernel ring yet (it reads every 20-32 ms)
        // dies with it: operations that ended that close to the kill count with the gap
        up[0]!.toMs = restart.killMs - KILL_MARGIN_MS;
        up.push({ fromMs: restart.readyMs, toMs: Infinity });
        return `pid ${restart.killedPid} killed (gone after ${restart.exitedAfterMs} ms); restarted at once, monitoring again as pid ${a.proc?.pid} after ${restart.readyMs - restart.killMs} ms, ${restart.attempts} start attempt(s)${restart.refusedMs ? `, refused ${restart.attempts - 1} times during ${restart.refusedMs} ms: ${restart.refusals[0]}` : ', never refused'}`;
      },
    });
    actions.sort((x, y) => x.atS - y.atS);
    for (const act of actions) {
      const wait = startMs + act.atS * 1000 - Date.now();
      if (wait > 0) await sleep(wait);
      const at = ((Date.now() - startMs) / 1000).toFixed(1);
      const what = await act.run();
      timeline.push(`${at} s: ${act.name}: ${what}`);
      say(`${act.name}: ${what}`);
    }
    const rest = startMs + total * 1000 - Date.now();
    if (rest > 0) await sleep(rest);
    say('storm stops; waiting for the sinks to catch up');
    await storm.stop();
    const stormEnd = Date.now();
    up[up.length - 1]!.toMs = stormEnd;
    // drained: every sink's lag 0 in two snapshots written after the storm ended
    let zero = 0;
    const drainDeadline = Date.now() + 180_000;
    while (Date.now() < drainDeadline) {
      await sleep(2000);
      const s = agent.stats() as { timeMs: number; sinks: { lagRecords: number }[] } | null;
      if (s && s.timeMs > stormEnd + 2000 && s.sinks.every((x) => x.lagRecords === 0)) {
        if (++zero >= 2) break;
      } else zero = 0;
    }
    const drainMs = Date.now() - stormEnd;
    clearInterval(sampler);
    agent.sample();
    const exitCode = await agent.stop();
    await rs.waitFor(() => false, 3000); // rsyslogd writes what it queued
    await rs.stop();
    say(`agent stopped (exit ${exitCode}); reading the sinks`);

    const j = readJsonlSink(paths.dir);
    const sy = await readSyslogReceiver(rs.out);
    const results = [
      analyzeSink('JSONL (exactly once)', j.events, j.bad, storm, up, startMs, killMs),
      analyzeSink('syslog TCP -> rsyslogd (at-least-once)', sy.events, sy.bad, storm, up, startMs, killMs),
    ];
    const failures = verdict(results, [true, false]);
    const report = renderReport({
      o,
      commit: `${commit}${dirty ? ' (+ uncommitted changes)' : ''}`,
      failures,
      storm,
      results,
      jsonlFiles: j.files,
      timeline,
      samples: agent.samples,
      lastStats: agent.lastStats,
      problems: agent.problems(),
      drainMs,
      exitCode,
      restart,
      startMs,
      stormEnd,
      receiverBytes: statSync(rs.out).size,
    });
    process.stdout.write(`${report}\n`);
    if (o.write) appendFileSync(join(ROOT, 'bench/RESULTS.md'), `\n${report}\n`);
    if (failures.length) throw new Error(`the soak found what the sinks' contracts exclude: ${failures.join('; ')}`);
  } finally {
    await storm.close();
    if (agent?.proc) await agent.stop();
    await rs.cleanup();
    if (o.keep) say(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

/** what the sinks' contracts (sinks/README.md) exclude: losses, a capture-side duplicate, a
 *  repeated EventRecordID with other content, and any repeat where delivery is exactly-once */
function verdict(results: SinkResult[], exactlyOnce: boolean[]): string[] {
  const out: string[] = [];
  results.forEach((s, i) => {
    const lost = s.kinds.reduce((a, x) => a + x.lost, 0);
    const doubled = s.kinds.reduce((a, x) => a + x.doubled, 0);
    if (lost) out.push(`${s.sink}: ${lost} lost`);
    if (doubled) out.push(`${s.sink}: ${doubled} operations under two EventRecordIDs`);
    if (s.conflicting) out.push(`${s.sink}: ${s.conflicting} EventRecordIDs repeated with other content`);
    if (exactlyOnce[i] && s.duplicateRows) out.push(`${s.sink}: ${s.duplicateRows} duplicate rows`);
    if (s.bad.length) out.push(`${s.sink}: ${s.bad.length} unreadable lines`);
  });
  return out;
}

interface ReportInput {
  o: SoakOptions;
  commit: string;
  failures: string[];
  storm: Storm;
  results: SinkResult[];
  jsonlFiles: number;
  timeline: string[];
  samples: Sample[];
  lastStats: Map<number, Record<string, unknown>>;
  problems: string[];
  drainMs: number;
  exitCode: number | null;
  restart: { attempts: number; refusedMs: number; killMs: number; readyMs: number } | null;
  startMs: number;
  stormEnd: number;
  receiverBytes: number;
}

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-');

function renderReport(r: ReportInput): string {
  const out: string[] = [];
  const ok = r.storm.ops.filter((x) => x.ok);
  const count = (k: string) => ok.filter((x) => x.kind === k).length;
  out.push(`## ${new Date(r.startMs).toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${r.commit}, \`${r.o.command}\``);
  out.push('');
  out.push(`### Soak: ${r.o.minutes} minutes, live agent (dist/src/cli.js run), real kernel`);
  out.push('');
  out.push(
    `Machine: ${hostname()}, ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB, kernel ${execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim()}, Node ${process.version}; shared with other engineers' jobs.`,
  );
  out.push(
    `Storm (${r.storm.rates.exec} exec/s, ${r.storm.rates.file} file create+delete/s, ${r.storm.rates.connect} loopback connects/s for ${((r.stormEnd - r.startMs) / 60000).toFixed(1)} min): ${fmt(count('exec'))} execs, ${fmt(count('file'))} files, ${fmt(count('connect'))} connects; ${r.storm.errors.length} failed operations${r.storm.errors.length ? ` (${r.storm.errors.slice(0, 3).join('; ')})` : ''}.`,
  );
  out.push(
    `Sinks: JSONL file (rotated by rename + SIGHUP ${r.timeline.filter((l) => l.includes('rotation')).length} times, ${r.jsonlFiles} files read back) and syslog RFC 5424 over TCP to a real rsyslogd (stopped ${OUTAGE_MS / 1000} s ${r.timeline.filter((l) => l.includes('rsyslogd stop')).length} times; ${fmt(r.receiverBytes / 1048576, 1)} MiB received). Config: two include configs matching only the storm's markers, swapped by \`sysmon-ts -c\` every 2 minutes (RuleName soak-A-*/soak-B-*). Sinks drained ${fmt(r.drainMs / 1000, 1)} s after the storm stopped; agent exit code on SIGTERM ${r.exitCode}.`,
  );
  out.push('');
  out.push(
    `Expected = operations that started and ended while an agent was running; the operations overlapping the kill -9 -> restarted gap, from ${KILL_MARGIN_MS} ms before the kill, are counted apart (no agent, nothing to capture; what the killed agent had not read from the kernel ring yet died with it). Lost = expected and not delivered; duplicate rows = an EventRecordID delivered again (deduplicated before counting); doubled = one operation delivered under two EventRecordIDs.`,
  );
  out.push('');
  out.push(
    '| sink | rows | unique EventRecordIDs | duplicate rows | exec (event 1) | file create (11) | file delete (23/26) | connect (3) | lost | doubled | in the kill gap: ops / delivered |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of r.results) {
    const k = (name: string) => s.kinds.find((x) => x.kind === name)!;
    const cell = (name: string) => `${fmt(k(name).found)} / ${fmt(k(name).expected)}`;
    const lost = s.kinds.reduce((a, x) => a + x.lost, 0);
    const doubled = s.kinds.reduce((a, x) => a + x.doubled, 0);
    const gap = s.kinds.reduce((a, x) => a + x.outage, 0);
    const gapFound = s.kinds.reduce((a, x) => a + x.outageFound, 0);
    out.push(
      `| ${s.sink} | ${fmt(s.rows)} | ${fmt(s.uniqueRecords)} | ${fmt(s.duplicateRows)}${s.conflicting ? ` (${s.conflicting} with different content!)` : ''} | ${cell('exec')} | ${cell('file create')} | ${cell('file delete')} | ${cell('connect')} | **${fmt(lost)}** | ${fmt(doubled)} | ${fmt(gap)} / ${fmt(gapFound)} |`,
    );
  }
  out.push('');
  out.push(
    r.failures.length
      ? `**Verdict: FAIL** (${r.failures.join('; ')}).`
      : '**Verdict: pass**: 0 lost in every sink; repeats only where the contract allows them (syslog TCP, counted once after deduplication by EventRecordID); no operation logged twice.',
  );
  out.push('');
  for (const s of r.results) {
    const lost = s.kinds.filter((x) => x.lost);
    if (lost.length) out.push(`Lost in ${s.sink}: ${lost.map((x) => `${x.kind} ${x.lost} (${x.lostSamples.join(', ')})`).join('; ')}.`);
    if (s.bad.length) out.push(`Unreadable in ${s.sink}: ${s.bad.length} (${s.bad.slice(0, 3).join(' | ')}).`);
    if (s.unmatched)
      out.push(
        `${s.sink}: ${fmt(s.unmatched)} other events (${[...s.unmatchedById].map(([id, n]) => `${n} x event ${id}`).join(', ')}; event 3 with Initiated false is the accept side of the storm's connects).`,
      );
  }
  const rules = [...r.results[0]!.ruleNames]
    .sort()
    .map(([n, c]) => `${n} ${fmt(c)}`)
    .join(', ');
  out.push(`RuleName in the JSONL (the reloads took effect): ${rules}.`);
  out.push('');
  // the agent's own events
  const self = r.results[0]!.selfEvents;
  const by = (id: number) => self.filter((e) => e.eventId === id);
  const e255 = new Map<string, number>();
  for (const e of by(255)) {
    const d = e.description.replace(/\d+/g, 'N').slice(0, 140);
    e255.set(d, (e255.get(d) ?? 0) + 1);
  }
  out.push(
    `Agent's own events (JSONL): ${by(4).length} x event 4 (service state), ${by(16).length} x event 16 (config change), ${by(255).length} x event 255${e255.size ? `: ${[...e255].map(([d, n]) => `${n} x "${d}"`).join('; ')}` : ''}.`,
  );
  const stats = [...r.lastStats.entries()].map(([pid, s]) => {
    const sinks = (s.sinks as { name: string; delivered: number; retried: number; lost: number }[])
      .map((x) => `${x.name} delivered ${x.delivered}, retried ${x.retried}, lost ${x.lost}`)
      .join('; ');
    return `pid ${pid}: records ${s.records}, kernel drops ${s.kernelDrops}, rejected ${s.rejected}; ${sinks}`;
  });
  out.push(`Agent stats (last stats.json of each process): ${stats.join(' | ')}.`);
  out.push('');
  // RSS and FDs per agent process
  out.push(
    '| agent process | samples (every 10 s) | RSS MB min / max | RSS slope MB/h (after 2 min) | anonymous RSS MB min / max | anon slope MB/h (after 2 min) | FDs min / max | FD slope /h (after 2 min) |',
  );
  out.push('|---|---|---|---|---|---|---|---|');
  for (const pid of [...new Set(r.samples.map((x) => x.pid))]) {
    const s = r.samples.filter((x) => x.pid === pid);
    const late = s.filter((x) => x.tMs - s[0]!.tMs >= 120_000);
    out.push(
      `| ${pid} (${fmt((s[s.length - 1]!.tMs - s[0]!.tMs) / 60000, 1)} min) | ${s.length} | ${fmt(Math.min(...s.map((x) => x.rssMB)), 1)} / ${fmt(Math.max(...s.map((x) => x.rssMB)), 1)} | ${fmt(
        slopePerHour(
          late.map((x) => x.tMs),
          late.map((x) => x.rssMB),
        ),
        1,
      )} | ${fmt(Math.min(...s.map((x) => x.anonMB)), 1)} / ${fmt(Math.max(...s.map((x) => x.anonMB)), 1)} | ${fmt(
        slopePerHour(
          late.map((x) => x.tMs),
          late.map((x) => x.anonMB),
        ),
        1,
      )} | ${Math.min(...s.map((x) => x.fds))} / ${Math.max(...s.map((x) => x.fds))} | ${fmt(
        slopePerHour(
          late.map((x) => x.tMs),
          late.map((x) => x.fds),
        ),
        1,
      )} |`,
    );
  }
  out.push('');
  out.push(
    `RSS series (MB, every 10 s; "/" = kill -9 + restart): ${r.samples.map((x, i) => `${i && x.pid !== r.samples[i - 1]!.pid ? '/ ' : ''}${fmt(x.rssMB, 0)}`).join(' ')}.`,
  );
  out.push('');
  out.push(`FD series: ${r.samples.map((x, i) => `${i && x.pid !== r.samples[i - 1]!.pid ? '/ ' : ''}${x.fds}`).join(' ')}.`);
  out.push('');
  out.push('Timeline (seconds after the storm started):');
  out.push('');
  for (const l of r.timeline) out.push(`- ${l}`);
  out.push('');
  const distinct = [
    ...new Set(
      r.problems.map((p) => {
        try {
          const j = JSON.parse(p) as { msg?: string; sink?: string };
          return `${j.sink ? `${j.sink}: ` : ''}${j.msg ?? p}`;
        } catch {
          return p;
        }
      }),
    ),
  ];
  out.push(
    `Agent log: ${r.problems.length} warning/error lines${
      distinct.length
        ? `; distinct: ${distinct
            .slice(0, 8)
            .map((d) => `"${d.slice(0, 160)}"`)
            .join(', ')}`
        : ''
    }.`,
  );
  return out.join('\n');
}
