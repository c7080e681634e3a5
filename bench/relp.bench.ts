// RELP sink throughput against a real rsyslogd (imrelp), side by side with the syslog TCP sink
// (imptcp) into the same daemon and output file: batches of 512 (the fan-out's default),
// write() awaited as the fan-out does. Reps are interleaved (tcp, relp, relp without quick ACKs,
// relp w16, relp w1024, tcp, ...) so machine noise hits every row alike; read the ratios.
// Run (root not needed; rsyslog + rsyslog-relp installed): npx tsx bench/relp.bench.ts [events] [reps]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SysmonEvent } from '../src/events/event.js';
import { createRelpSink } from '../sinks/relp/index.js';
import { createSyslogSink } from '../sinks/syslog/index.js';
import type { Sink } from '../sinks/sink.js';
import { IDENTITY, processCreate } from '../test/sinks/fixtures.js';
import { freeTcpPort } from '../test/sinks/relp-server.js';

const N = Number(process.argv[2] ?? 50_000);
const REPS = Number(process.argv[3] ?? 3);
const BATCH = 512;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function startRsyslog(dir: string, tcpPort: number, relpPort: number): Promise<ChildProcess> {
  await writeFile(
    join(dir, 'r.conf'),
    `
global(workDirectory="${dir}" net.enableDNS="off" maxMessageSize="256k")
module(load="imptcp")
input(type="imptcp" address="127.0.0.1" port="${tcpPort}")
module(load="imrelp")
input(type="imrelp" address="127.0.0.1" port="${relpPort}")
*.* action(type="omfile" file="${join(dir, 'out.log')}")
`,
  );
  const child = spawn('/usr/sbin/rsyslogd', ['-n', '-f', join(dir, 'r.conf'), '-i', join(dir, 'pid')], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !((await canConnect(tcpPort)) && (await canConnect(relpPort))); i++) await sleep(50);
  return child;
}

async function timeSink(sink: Sink, events: SysmonEvent[]): Promise<number> {
  await sink.open();
  await sink.write(events.slice(0, 10)); // connect outside the timing
  const t0 = process.hrtime.bigint();
  for (let i = 10; i < events.length; i += BATCH) await sink.write(events.slice(i, i + BATCH));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await sink.close();
  return (events.length - 10) / secs;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'relp-bench-'));
  const tcpPort = await freeTcpPort();
  const relpPort = await freeTcpPort();
  const child = await startRsyslog(dir, tcpPort, relpPort);
  try {
    const events = Array.from({ length: N }, (_, i) => processCreate(i + 1));
    const rows: [string, () => Sink][] = [
      ['syslog tcp:// (settleMs 20)', () => createSyslogSink(`tcp://127.0.0.1:${tcpPort}`, { identity: IDENTITY })],
      ['relp:// window 128 (default)', () => createRelpSink(`relp://127.0.0.1:${relpPort}`, { identity: IDENTITY })],
      ['relp:// window 128, no TCP_QUICKACK', () => createRelpSink(`relp://127.0.0.1:${relpPort}`, { identity: IDENTITY, quickAck: false })],
      ['relp:// window 16', () => createRelpSink(`relp://127.0.0.1:${relpPort}?window=16`, { identity: IDENTITY })],
      ['relp:// window 1024', () => createRelpSink(`relp://127.0.0.1:${relpPort}?window=1024`, { identity: IDENTITY })],
    ];
    const results = new Map<string, number[]>(rows.map(([n]) => [n, []]));
    for (let rep = 0; rep < REPS; rep++) {
      for (const [name, make] of rows) results.get(name)!.push(await timeSink(make(), events));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const base = median(results.get(rows[0]![0])!);
    console.log(`${N} ProcessCreate events (~1.5 KB Event XML each), batches of ${BATCH}, ${REPS} interleaved reps, rsyslogd on loopback\n`);
    console.log('| sink | events/s (median) | min .. max | vs tcp |');
    console.log('|---|---|---|---|');
    for (const [name] of rows) {
      const xs = results.get(name)!;
      console.log(
        `| ${name} | ${Math.round(median(xs)).toLocaleString('en')} | ${Math.round(Math.min(...xs)).toLocaleString('en')} .. ${Math.round(Math.max(...xs)).toLocaleString('en')} | ${(median(xs) / base).toFixed(2)}x |`,
      );
    }
  } finally {
    child.kill('SIGTERM');
    await sleep(300);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
