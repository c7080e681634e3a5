// Pipeline throughput without the kernel: replays raw ring records saved by
// `sysmon-ts record` through the same stages as src/agent.ts, one scenario per process
// (bench/run.ts starts it under `taskset -c 1`, so peak RSS and CPU are this scenario's).
//
//   node --import tsx bench/pipeline.ts --records FILE --stage STAGE --config none|default|big
//        [--sink jsonl|evtx|syslog --syslog-port N] [--min-records N] [--max-batch N] [--batch N --gap-ms M]
// STAGE: decode | capture | rules | journal | e2e. Prints one JSON line.
import { mkdtempSync, rmSync, readFileSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../src/capture.js';
import { defaultConfig, loadConfigFile, type Config } from '../src/config/index.js';
import type { SysmonEvent } from '../src/events/event.js';
import { makeIdentity } from '../src/events/event.js';
import { computerName } from '../src/events/host.js';
import { GuidMaker } from '../src/events/guid.js';
import { bootEpochNs, bootTimeSeconds, machineId, UserNames } from '../src/events/host.js';
import { ProcessTable } from '../src/events/processes.js';
import { Fanout, Journal } from '../src/journal/index.js';
import { decodeRecord } from '../src/families/decode.js';
import { readRecordFile } from '../src/commands/record.js';
import { createJsonlFileSink } from '../sinks/jsonl/index.js';
import { createEvtxSink } from '../sinks/evtx/writer.js';
import { createSyslogSink } from '../sinks/syslog/index.js';
import type { Sink } from '../sinks/sink.js';

const ROOT = join(import.meta.dirname, '..');
export const BIG_CONFIG = join(ROOT, 'test/fixtures/configs/sysmon-modular-sysmonconfig.xml');

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1]!;
  if (def === undefined) throw new Error(`--${name} is required`);
  return def;
}

const recordsFile = arg('records');
const stage = arg('stage');
const configName = arg('config', 'big');
const sinkKind = arg('sink', 'jsonl');
const minRecords = Number(arg('min-records', '400000'));
/** events per sink write (the Fanout's maxBatch; default: the Fanout's own default) */
const maxBatch = arg('max-batch', '') === '' ? undefined : Number(arg('max-batch', ''));
const IDENTITY = makeIdentity(false, computerName());
// records per ring read: Agent.drainRing takes up to 16384 per poll; a live storm gives far
// fewer per read (--batch 64 --gap-ms 2 replays like that: every batch pays the journal write,
// the sink write and the cursor save, as live; compare CPU per event then, not wall time)
const BATCH = Number(arg('batch', '16384'));
const GAP_MS = Number(arg('gap-ms', '0'));

const base = readRecordFile(readFileSync(recordsFile));
if (base.length === 0) throw new Error(`${recordsFile} holds no records`);
// the recorded set, repeated until there is enough to time (each pass a fresh Capture, so
// fork/exec/exit pairs meet the same process state they met live)
const passes = Math.max(1, Math.ceil(minRecords / base.length));

function loadConfig(): Config | null {
  if (configName === 'none') return null;
  if (configName === 'default') return defaultConfig();
  if (configName === 'big') return loadConfigFile(BIG_CONFIG);
  return loadConfigFile(configName);
}

function newCapture(): Capture {
  return new Capture(new ProcessTable(new GuidMaker(machineId(), bootTimeSeconds()), new UserNames()), bootEpochNs());
}

/** decode + normalize every pass; returns the events (kept in memory for the rules stage) */
function captureAll(keep: boolean): { events: SysmonEvent[]; n: number } {
  const events: SysmonEvent[] = [];
  let n = 0;
  for (let p = 0; p < passes; p++) {
    const cap = newCapture();
    const out: SysmonEvent[] = [];
    for (const r of base) cap.onRecord(r, out);
    n += out.length;
    if (keep) for (const e of out) events.push(e);
  }
  return { events, n };
}

function rss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const totalRecords = base.length * passes;
  const result: Record<string, unknown> = { stage, config: configName, records: totalRecords, recordsInFile: base.length };
  // CPU time of the timed part too: on a shared machine wall time includes other jobs' turns
  let cpu0 = process.cpuUsage();
  const cpuSince = () => {
    const c = process.cpuUsage(cpu0);
    return (c.user + c.system) / 1e6;
  };
  let cpuEnd = 0;
  const config = loadConfig();
  // warm-up pass (JIT), not timed
  {
    const cap = newCapture();
    const out: SysmonEvent[] = [];
    for (const r of base) cap.onRecord(r, out);
    if (config) for (const e of out) config.engine.apply(e);
  }

  cpu0 = process.cpuUsage();
  if (stage === 'decode') {
    const t0 = process.hrtime.bigint();
    let sum = 0;
    for (let p = 0; p < passes; p++) for (const r of base) sum += decodeRecord(r).type;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    cpuEnd = cpuSince();
    Object.assign(result, { seconds: s, recordsPerSec: totalRecords / s, check: sum > 0 });
  } else if (stage === 'capture') {
    const t0 = process.hrtime.bigint();
    const { n } = captureAll(false);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    cpuEnd = cpuSince();
    Object.assign(result, { seconds: s, recordsPerSec: totalRecords / s, events: n, eventsPerSec: n / s });
  } else if (stage === 'rules') {
    const { events } = captureAll(true);
    cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let kept = 0;
    if (config) {
      for (const e of events) if (config.engine.apply(e)) kept++;
    } else kept = events.length;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    cpuEnd = cpuSince();
    Object.assign(result, { seconds: s, events: events.length, kept, eventsPerSec: events.length / s });
  } else if (stage === 'journal' || stage === 'e2e') {
    const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-bench-pipe-'));
    try {
      const journal = await Journal.open({ dir: join(dir, 'journal'), fsync: 'group', retention: { maxBytes: 0 } });
      let fanout: Fanout | null = null;
      let sink: Sink | null = null;
      if (stage === 'e2e') {
        fanout = new Fanout(journal, maxBatch ? { maxBatch } : {});
        if (sinkKind === 'jsonl') sink = createJsonlFileSink(join(dir, 'events.jsonl'), { identity: IDENTITY });
        else if (sinkKind === 'evtx') sink = createEvtxSink(join(dir, 'events.evtx'), { identity: IDENTITY, maxBytes: 1 << 30 });
        else if (sinkKind === 'syslog')
          sink = createSyslogSink(`tcp://127.0.0.1:${arg('syslog-port')}`, { identity: IDENTITY, format: 'xml', dialect: 'linux' });
        else throw new Error(`unknown sink ${sinkKind}`);
        const runner = await fanout.add(sink);
        // the sink opens in the background (mkdir, open, reading its last line: several
        // thread-pool round trips); a live agent opens its sinks before events flow, so wait
        // for that here too: otherwise the first ~100k events left the in-memory tail before
        // the sink could take them and were all read back from disk
        while (runner.stats().health !== 'ok') await new Promise<void>((r) => setTimeout(r, 2));
      }
      cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      let events = 0;
      let kept = 0;
      let pauses = 0;
      for (let p = 0; p < passes; p++) {
        const cap = newCapture();
        for (let i = 0; i < base.length; i += BATCH) {
          const out: SysmonEvent[] = [];
          const end = Math.min(base.length, i + BATCH);
          for (let j = i; j < end; j++) cap.onRecord(base[j]!, out);
          events += out.length;
          const k = config ? out.filter((e) => config.engine.apply(e)) : out;
          kept += k.length;
          if (k.length && !journal.append(k)) {
            pauses++;
            await journal.drain();
          }
          // the agent yields to the event loop between polls; so do we
          if (GAP_MS > 0) await new Promise<void>((r) => setTimeout(r, GAP_MS));
          else await new Promise<void>((r) => setImmediate(r));
        }
      }
      // everything appended is written and visible to sinks (drain() only waits for the backlog
      // to fall below the high-water mark; the sink's target must be the last event)
      await journal.flush();
      const tJournal = Number(process.hrtime.bigint() - t0) / 1e9;
      cpuEnd = cpuSince();
      let tSink = tJournal;
      let delivered = 0;
      if (fanout) {
        const ok = await fanout.list()[0]!.waitCaughtUp(Date.now() + 600_000);
        tSink = Number(process.hrtime.bigint() - t0) / 1e9;
        cpuEnd = cpuSince();
        delivered = fanout.stats().sinks[0]!.delivered;
        if (!ok) result.error = 'sink did not catch up';
        await journal.flush();
        await fanout.close(5000);
      }
      await journal.close();
      const s = stage === 'e2e' ? tSink : tJournal;
      const outBytes = stage === 'e2e' && sinkKind !== 'syslog' ? dirBytes(dir, (f) => !f.includes('journal') && !f.includes('cursor')) : 0;
      Object.assign(result, {
        sink: stage === 'e2e' ? sinkKind : null,
        seconds: s,
        journalSeconds: tJournal,
        events,
        kept,
        delivered,
        pauses,
        eventsPerSec: events / s,
        recordsPerSec: totalRecords / s,
        keptPerSec: kept / s,
        journalBytes: dirBytes(join(dir, 'journal'), (f) => f.endsWith('.log') || !f.includes('cursor')),
        outBytes,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    throw new Error(`unknown stage ${stage}`);
  }
  result.cpuSeconds = cpuEnd;
  result.eventsPerCpuSec = Number(result.events ?? result.records) / cpuEnd;
  result.peakRssMB = Math.round(rss() / 1048576);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function dirBytes(dir: string, want: (name: string) => boolean): number {
  let total = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (want(p)) total += statSync(p).size;
    }
  };
  try {
    walk(dir);
  } catch {
    /* gone */
  }
  return total;
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
