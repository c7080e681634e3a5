// The RELP sink: framing and URL units, protocol failures against scripted servers, and
// delivery against a real rsyslogd with imrelp (hostile values, TLS, outages).
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createRelpSink, parseRelpUrl, type RelpSinkOptions } from '../../sinks/relp/index.js';
import { resolveRelpOptions } from '../../sinks/relp/config.js';
import { encodeFrame, FrameParser, parseOffers, parseResponse, RelpProtocolError, type RelpFrame } from '../../sinks/relp/frame.js';
import { RelpSession } from '../../sinks/relp/session.js';
import { sinkFromSpec } from '../../sinks/index.js';
import { eventFromJson } from '../../sinks/shared/jsonl-encode.js';
import { unescapeXmlValue } from '../../sinks/shared/xml-render.js';
import { eventDef } from '../../src/events/schema.js';
import type { SysmonEvent } from '../../src/events/event.js';
import { errorEvent, hostileEvents, IDENTITY, processCreate } from './fixtures.js';
import { parseWithPython } from './xmlparse.js';
import { freeTcpPort, RelpServer, relpServerMissing, type RelpReceived } from './relp-server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('URL parsing: relp:// and relps://, RELP and syslog parameters, clear errors', () => {
  const a = parseRelpUrl('relp://logs.example:2514?format=json&window=16');
  assert.deepEqual(a.target, { tls: false, host: 'logs.example', port: 2514 });
  assert.equal(a.query.format, 'json');
  assert.equal(a.query.window, 16);
  const o = resolveRelpOptions(a.target, a.query, { facility: 'local3' }, IDENTITY);
  assert.equal(o.window, 16);
  assert.equal(o.syslog.facilityCode, 19);
  assert.equal(o.syslog.framing, 'rfc5424');
  assert.equal(o.syslog.maxMessageSize, 0, 'RELP frames carry any size: no truncation unless maxsize is set');
  assert.deepEqual(parseRelpUrl('relps://[::1]:2515?ca=/dev/null').target, { tls: true, host: '::1', port: 2515 });
  assert.throws(() => parseRelpUrl('relp://host'), /needs a port/);
  assert.throws(() => parseRelpUrl('tcp://host:1'), /not a RELP URL/);
  assert.throws(() => parseRelpUrl('relp://h:1?ca=/dev/null'), /TLS parameters need relps/);
  assert.throws(() => parseRelpUrl('relp://h:1?framing=rfc3164'), /not valid/);
  assert.throws(() => parseRelpUrl('relp://h:1?bogus=1'), /^Error: relp: unknown URL parameter bogus/);
  assert.throws(() => resolveRelpOptions(a.target, { window: 0 }, {}, IDENTITY), /window must be/);
  assert.equal(createRelpSink('relp://h:2514').name, 'relp:relp://h:2514');
  assert.equal(createRelpSink('relp://h:2514', { name: 'siem' }).name, 'siem');
  // --syslog relp://... and replay --sink syslog:relp://... build this sink
  assert.equal(sinkFromSpec('syslog:relp://h:2514?format=json', { identity: IDENTITY }).name, 'relp:relp://h:2514');
  assert.equal(sinkFromSpec('syslog:tcp://h:2514', { identity: IDENTITY }).name, 'syslog:tcp://h:2514');
});

test('frames: encoded as librelp writes them, parsed across any split, malformed input named', () => {
  assert.equal(encodeFrame(7, 'syslog', Buffer.from('<14>1 x')).toString(), '7 syslog 7 <14>1 x\n');
  assert.equal(encodeFrame(3, 'close').toString(), '3 close 0\n');
  const openRsp = '200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog';
  const stream = Buffer.concat([Buffer.from(`1 rsp ${openRsp.length} ${openRsp}\n`), Buffer.from('2 rsp 6 200 OK\n'), Buffer.from('0 serverclose 0\n')]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const p = new FrameParser(1024);
    const frames: RelpFrame[] = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
    assert.deepEqual(
      frames.map((f) => [f.txnr, f.command, f.data.toString()]),
      [
        [1, 'rsp', openRsp],
        [2, 'rsp', '200 OK'],
        [0, 'serverclose', ''],
      ],
      `split at ${cut}`,
    );
  }
  const bad: [string, RegExp][] = [
    ['x rsp 0\n', /digit of the transaction number, got 'x'/],
    ['1234567890 rsp 0\n', /longer than 9 digits/],
    ['1 rs9 0\n', /letter of the command, got '9'/],
    ['1 rsp\n', /letter of the command, got 0x0a/],
    ['1 rsp 6 200 OKX', /expected LF at the end of the frame, got 'X'/],
    ['1 rsp 999999999 ', /above the 1024 bytes/],
    ['1 rsp -1\n', /expected the data length, got '-'/],
  ];
  for (const [input, re] of bad) {
    const p = new FrameParser(1024);
    assert.throws(
      () => p.push(Buffer.from(input)),
      (e: Error) => e instanceof RelpProtocolError && re.test(e.message),
      input,
    );
    assert.throws(() => p.push(Buffer.from('1 rsp 0\n')), RelpProtocolError, 'a failed parser stays failed');
  }
  assert.deepEqual(parseResponse(Buffer.from('200 OK')), { code: 200, text: 'OK', body: '' });
  assert.deepEqual(parseResponse(Buffer.from('500 error 3 on connect\nx=1')), { code: 500, text: 'error 3 on connect', body: 'x=1' });
  assert.throws(() => parseResponse(Buffer.from('OK')), /expected a 3-digit code/);
  assert.deepEqual(
    [...parseOffers('relp_version=0\ncommands=syslog,other\nflag')],
    [
      ['relp_version', ['0']],
      ['commands', ['syslog', 'other']],
      ['flag', []],
    ],
  );
});

// ---- scripted servers: what rsyslog never does, but a broken or hostile peer might ----

interface Script {
  /** answer to one client frame; return null to stay silent */
  answer(f: RelpFrame, conn: number): string | Buffer | null;
}

class ScriptedServer {
  port = 0;
  connections = 0;
  readonly received: { conn: number; frame: RelpFrame }[] = [];
  private readonly server: net.Server;
  private readonly socks = new Set<net.Socket>();
  constructor(private readonly script: Script) {
    this.server = net.createServer((sock) => {
      const conn = ++this.connections;
      this.socks.add(sock);
      sock.on('close', () => this.socks.delete(sock));
      sock.on('error', () => {});
      const parser = new FrameParser(16 << 20);
      sock.on('data', (b: Buffer) => {
        for (const f of parser.push(b)) {
          this.received.push({ conn, frame: f });
          const a = this.script.answer(f, conn);
          if (a !== null && !sock.destroyed) sock.write(a);
        }
      });
    });
  }
  async listen(port = 0): Promise<this> {
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }
  dropAll(): void {
    for (const s of this.socks) s.destroy();
  }
  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
  /** EventRecordIDs of the syslog frames a connection carried */
  ids(conn: number): number[] {
    return this.received
      .filter((r) => r.conn === conn && r.frame.command === 'syslog')
      .map((r) => Number(/<EventRecordID>(\d+)</.exec(r.frame.data.toString())![1]));
  }
}

const OPEN_OK = (txnr: number) => {
  const body = '200 OK\nrelp_version=0\nrelp_software=scripted\ncommands=syslog';
  return `${txnr} rsp ${body.length} ${body}\n`;
};
const RSP_OK = (txnr: number) => `${txnr} rsp 6 200 OK\n`;

async function failureOf(script: Script, opts: RelpSinkOptions = {}): Promise<{ err: Error; server: ScriptedServer }> {
  const server = await new ScriptedServer(script).listen();
  const s = createRelpSink(`relp://127.0.0.1:${server.port}`, { identity: IDENTITY, ...opts });
  await s.open();
  try {
    await s.write([processCreate(1), processCreate(2)]);
  } catch (err) {
    assert.equal(s.stats.failures, 1);
    assert.equal(s.connected, false);
    await s.close();
    await server.close();
    return { err: err as Error, server };
  }
  await s.close();
  await server.close();
  throw new Error('write() resolved although the server never acknowledged properly');
}

describe('protocol failures are clear errors, never a crash, never an ack', () => {
  test('garbage instead of a response frame', async () => {
    const { err } = await failureOf({ answer: (f) => (f.command === 'open' ? OPEN_OK(f.txnr) : 'HTTP/1.1 400 Bad Request\r\n\r\n') });
    assert.match(err.message, /^relp relp:\/\/127\.0\.0\.1:\d+: malformed RELP frame from the server: expected a digit of the transaction number, got 'H'/);
  });
  test('a response with a bad status line', async () => {
    const { err } = await failureOf({ answer: (f) => (f.command === 'open' ? OPEN_OK(f.txnr) : `${f.txnr} rsp 2 OK\n`) });
    assert.match(err.message, /malformed RELP response: "OK" \(expected a 3-digit code\) \(transaction 2\)/);
  });
  test('a response to a transaction nobody sent', async () => {
    const { err } = await failureOf({ answer: (f) => (f.command === 'open' ? OPEN_OK(f.txnr) : RSP_OK(f.txnr + 100)) });
    assert.match(err.message, /response for transaction 102, which is not waiting for one/);
  });
  test('"open" refused', async () => {
    const { err } = await failureOf({ answer: (f) => `${f.txnr} rsp 22 500 error 3 on connect\n` });
    assert.match(err.message, /the server refused open: 500 error 3 on connect/);
  });
  test('a server that does not offer the syslog command', async () => {
    const body = '200 OK\nrelp_version=0\ncommands=other';
    const { err, server } = await failureOf({ answer: (f) => `${f.txnr} rsp ${body.length} ${body}\n` });
    assert.match(err.message, /does not accept the syslog command \(it offers commands=other\)/);
    assert.equal(server.ids(1).length, 0, 'no message was sent');
  });
  test('a message refused with 500', async () => {
    const { err } = await failureOf({ answer: (f) => (f.command === 'open' ? OPEN_OK(f.txnr) : `${f.txnr} rsp 14 500 queue full\n`) });
    assert.match(err.message, /the server refused EventRecordID 1: 500 queue full/);
  });
  test('an unexpected command from the server', async () => {
    const { err } = await failureOf({ answer: (f) => (f.command === 'open' ? OPEN_OK(f.txnr) : `${f.txnr} syslog 3 abc\n`) });
    assert.match(err.message, /unexpected command "syslog" from the server/);
  });
  test('a huge announced data length is refused before any allocation', async () => {
    const { err } = await failureOf({ answer: (f) => (f.command === 'open' ? OPEN_OK(f.txnr) : `${f.txnr} rsp 999999999 `) });
    assert.match(err.message, /data length 999999999 above the 65536 bytes a response may have/);
  });
  test('no answer at all: the ack timeout drops the session', async () => {
    const t0 = Date.now();
    const { err } = await failureOf({ answer: (f) => (f.command === 'open' ? OPEN_OK(f.txnr) : null) }, { ackTimeoutMs: 300 });
    assert.match(err.message, /no answer for 300 ms with 2 message\(s\) unacknowledged/);
    assert.ok(Date.now() - t0 >= 290);
  });
  test('serverclose: pending messages fail with the reason', async () => {
    const { err } = await failureOf({ answer: (f) => (f.command === 'open' ? OPEN_OK(f.txnr) : f.txnr === 2 ? '0 serverclose 0\n' : null) });
    assert.match(err.message, /the server closed the session \(serverclose\)/);
  });
});

test('wrong port: write() rejects with the address and the cause, stays usable, delivers once a server listens there', async () => {
  const port = await freeTcpPort();
  const s = createRelpSink(`relp://127.0.0.1:${port}`, { identity: IDENTITY, connectTimeoutMs: 2000 });
  await s.open();
  await assert.rejects(s.write([processCreate(1)]), /^Error: relp relp:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  await assert.rejects(s.write([processCreate(1)]), /ECONNREFUSED/);
  assert.equal(s.stats.failures, 2);
  const server = await new ScriptedServer({ answer: (f) => (f.command === 'open' ? OPEN_OK(f.txnr) : RSP_OK(f.txnr)) }).listen(port);
  await s.write([processCreate(1)]);
  assert.equal(s.stats.acked, 1);
  await s.close();
  assert.deepEqual(server.ids(1), [1]);
  assert.equal(server.received.at(-1)!.frame.command, 'close', 'close() says goodbye with the close command');
  await server.close();
});

test('after a lost session only the unacknowledged messages are sent again, with fresh transaction numbers', async () => {
  // connection 1 acknowledges records 1-3, leaves 4-5 unanswered and drops; connection 2 acknowledges everything
  let dropped = false;
  const server = await new ScriptedServer({
    answer(f, conn) {
      if (f.command === 'open') return OPEN_OK(f.txnr);
      if (f.command !== 'syslog') return RSP_OK(f.txnr);
      if (conn > 1) return RSP_OK(f.txnr);
      if (f.txnr <= 4) return RSP_OK(f.txnr); // txnr 1 was "open": records 1-3
      if (f.txnr === 6 && !dropped) {
        dropped = true;
        setTimeout(() => server.dropAll(), 50);
      }
      return null;
    },
  }).listen();
  const acks: number[] = [];
  const s = createRelpSink(`relp://127.0.0.1:${server.port}`, { identity: IDENTITY, onAck: (id) => acks.push(id) });
  await s.open();
  const batch = [1, 2, 3, 4, 5].map((i) => processCreate(i));
  await assert.rejects(s.write(batch), /connection closed/);
  assert.deepEqual(acks, [1, 2, 3]);
  await s.write(batch); // the fan-out's retry of the same batch
  assert.deepEqual(server.ids(1), [1, 2, 3, 4, 5]);
  assert.deepEqual(server.ids(2), [4, 5], 'acknowledged records are never sent again');
  assert.deepEqual(
    server.received.filter((r) => r.conn === 2).map((r) => `${r.frame.txnr} ${r.frame.command}`),
    ['1 open', '2 syslog', '3 syslog'],
  );
  assert.deepEqual(acks, [1, 2, 3, 4, 5]);
  assert.equal(s.stats.resent, 2);
  assert.equal(s.stats.sessions, 2);
  await s.write([processCreate(6)]);
  assert.deepEqual(server.ids(2), [4, 5, 6]);
  await s.close();
  await server.close();
});

test('the window bounds the messages in flight', async () => {
  let maxInFlight = 0;
  const pending: number[] = [];
  let sock: net.Socket | null = null;
  const server = net.createServer((c) => {
    sock = c;
    const p = new FrameParser(1 << 20);
    c.on('data', (b: Buffer) => {
      for (const f of p.push(b)) {
        if (f.command === 'open') c.write(OPEN_OK(f.txnr));
        else if (f.command === 'syslog') {
          pending.push(f.txnr);
          maxInFlight = Math.max(maxInFlight, pending.length);
        } else c.write(RSP_OK(f.txnr));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  // answer in bursts, late, so the client runs into its window
  const pump = setInterval(() => {
    while (pending.length) sock?.write(RSP_OK(pending.shift()!));
  }, 30);
  const s = createRelpSink(`relp://127.0.0.1:${port}?window=8`, { identity: IDENTITY });
  await s.open();
  await s.write(Array.from({ length: 100 }, (_, i) => processCreate(i + 1)));
  clearInterval(pump);
  assert.equal(s.stats.acked, 100);
  assert.equal(maxInFlight, 8);
  await s.close();
  await new Promise<void>((r) => server.close(() => r()));
});

// ---- a real rsyslogd with imrelp ----

const missing = relpServerMissing();
if (missing && process.env.CI === 'true') {
  test('rsyslog imrelp prerequisites', () => assert.fail(`missing in CI: ${missing}`));
} else if (missing) {
  console.log(`# SKIP rsyslog imrelp tests: missing ${missing}`);
  test(`rsyslog imrelp integration (SKIPPED: missing ${missing})`, { skip: `missing ${missing}` }, () => {});
} else {
  describe('against a real rsyslogd with imrelp', () => {
    let rs: RelpServer;
    before(async () => {
      rs = await RelpServer.create();
      await rs.start();
    });
    after(async () => {
      await rs?.cleanup();
    });

    const url = () => `relp://127.0.0.1:${rs.port}`;
    const tlsUrl = (client = true) =>
      `relps://127.0.0.1:${rs.tlsPort}?ca=${encodeURIComponent(rs.ca)}${client ? `&cert=${encodeURIComponent(rs.ca)}&key=${encodeURIComponent(`${rs.dir}/key.pem`)}` : ''}`;

    async function send(u: string, events: SysmonEvent[], opts: RelpSinkOptions = {}): Promise<void> {
      const s = createRelpSink(u, { identity: IDENTITY, ...opts });
      await s.open();
      await s.write(events);
      assert.equal(s.stats.acked, events.length);
      await s.close();
    }

    function recordCounts(lines: RelpReceived[]): Map<number, number> {
      const seen = new Map<number, number>();
      for (const l of lines) {
        const id = Number(/<EventRecordID>(\d+)</.exec(l.msg)?.[1]);
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      return seen;
    }

    for (const [name, input, u] of [
      ['relp', 'relp', url],
      ['relps (mutual TLS)', 'relps', tlsUrl],
    ] as const) {
      test(`${name}: every event arrives once; hostile values and a 100 KB command line intact, on one line, every field equal`, async () => {
        await rs.reset();
        const big = `python3 -c '${'x<&>"\n\udcff'.repeat(15_000)}'`;
        const events = [...hostileEvents(1000), processCreate(1100, { CommandLine: big }), errorEvent(1101, 'sink "jsonl" lost 3 events\nretrying')];
        await send(u(), events);
        const lines = await rs.waitFor((l) => l.length >= events.length);
        assert.equal(lines.length, events.length, 'one record per event: nothing forged, nothing split');
        for (const l of lines) {
          assert.equal(l.input, input);
          assert.ok(l.msg.startsWith('<Event>') && l.msg.endsWith('</Event>'), `whole document on one line: ${l.msg.slice(0, 80)}`);
        }
        const parsed = parseWithPython(lines.map((l) => l.msg));
        const byId = new Map(parsed.map((p, i) => [Number(p.system.EventRecordID), { p, rx: lines[i]! }]));
        assert.equal(byId.size, events.length);
        for (const ev of events) {
          const g = byId.get(ev.recordId)!;
          assert.ok(g, `record ${ev.recordId}`);
          assert.equal(g.rx.app, 'sysmon');
          assert.equal(g.rx.pri, 14, 'user.info for every event, as Sysmon for Linux');
          assert.equal(g.rx.host, IDENTITY.computer);
          const data = Object.fromEntries(g.p.data.map(([k, v]) => [k, unescapeXmlValue(v)]));
          for (const f of eventDef(ev.id).fields) assert.equal(data[f.name], String(ev.data[f.name]), `${ev.recordId} ${f.name}`);
        }
      });
    }

    test('relp: JSON payload arrives as the JSONL record', async () => {
      await rs.reset();
      const events = hostileEvents(4000);
      await send(`${url()}?format=json`, events);
      const lines = await rs.waitFor((l) => l.length >= events.length);
      assert.equal(lines.length, events.length);
      for (const [i, l] of lines.entries()) assert.deepEqual(eventFromJson(JSON.parse(l.msg)), events[i]);
    });

    test('relp: a raw RELP frame inside a message cannot forge a second record (length framing)', async () => {
      await rs.reset();
      const o = resolveRelpOptions(parseRelpUrl(url()).target, {}, {}, IDENTITY);
      const s = await RelpSession.open(parseRelpUrl(url()).target, o);
      await s.send(Buffer.from('<14>1 2022-11-24T08:30:01.467399Z h sysmon 1 - - first\n3 syslog 22 <14>1 - h forged 1 - - x\n'), 'raw');
      await s.close();
      const lines = await rs.waitFor((l) => l.length >= 1);
      await sleep(200);
      const all = await rs.lines();
      assert.equal(all.length, 1, JSON.stringify(all));
      assert.equal(all[0]!.app, 'sysmon');
      assert.match(lines[0]!.msg, /^first.*3 syslog 22/);
    });

    test('relps: a server that wants a client certificate, and an unknown CA, are clear errors', async () => {
      const s = createRelpSink(tlsUrl(false), { identity: IDENTITY });
      await s.open();
      await assert.rejects(s.write([processCreate(1)]), /require a client certificate/);
      await s.close();
      const u = createRelpSink(`relps://127.0.0.1:${rs.tlsPort}`, { identity: IDENTITY });
      await u.open();
      await assert.rejects(u.write([processCreate(1)]), /self[- ]signed|unable to verify|certificate/i);
      await u.close();
    });

    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      test(`relp: rsyslogd ${signal === 'SIGKILL' ? 'killed (SIGKILL)' : 'stopped (SIGTERM, serverclose)'} mid-stream and restarted: nothing lost, acknowledged messages never resent`, async () => {
        const { Journal, Fanout } = await import('../../src/journal/index.js');
        const { mkdtemp, rm } = await import('node:fs/promises');
        const { tmpdir } = await import('node:os');
        const { join } = await import('node:path');
        await rs.reset();
        const dir = await mkdtemp(join(tmpdir(), 'relp-journal-'));
        const firstAck = new Map<number, number>();
        const WINDOW = 32;
        const sink = createRelpSink(`${url()}?window=${WINDOW}`, {
          identity: IDENTITY,
          onAck: (id) => {
            if (!firstAck.has(id)) firstAck.set(id, performance.now());
          },
        });
        const j = await Journal.open({ dir });
        const f = new Fanout(j, { retry: { initialMs: 20, maxMs: 200 }, maxBatch: 500, startAt: 'oldest' });
        const runner = await f.add(sink);
        try {
          let N = 0;
          let killedAt = Infinity;
          let restarted = false;
          const outage = (async () => {
            await sleep(250);
            killedAt = performance.now();
            await rs.stop(signal);
            await sleep(600);
            await rs.start();
            restarted = true;
          })();
          // batches (500) larger than the window (32): the outage hits a batch that is partly
          // acknowledged. Appending goes on until rsyslogd is back (at least 6,000 events), so
          // the stream spans the outage however fast the sink drains it
          while (!restarted || N < 6000) {
            j.append(Array.from({ length: 500 }, () => processCreate(0)));
            N += 500;
            await sleep(40);
          }
          await outage;
          await j.flush(); // every append visible to the fan-out
          assert.equal(j.visibleId, N);
          assert.ok(await runner.waitCaughtUp(Date.now() + 30_000), `caught up (${JSON.stringify(runner.stats())})`);
          assert.equal(runner.ackedId, N, 'the durable cursor reached the last event');
          const lines = await rs.waitFor((l) => recordCounts(l).size >= N, 10_000);
          const seen = recordCounts(lines);
          const lost: number[] = [];
          for (let id = 1; id <= N; id++) if (!seen.has(id)) lost.push(id);
          const dups = [...seen].filter(([, c]) => c > 1).map(([id]) => id);
          const resentAfterAck = dups.filter((id) => firstAck.get(id)! < killedAt);
          console.log(
            `# ${signal}: ${N} events, ${sink.stats.failures} failed writes, ${sink.stats.sessions} sessions, ${sink.stats.resent} resent, ${dups.length} duplicates, ${lost.length} lost`,
          );
          assert.ok(sink.stats.failures > 0 && sink.stats.sessions >= 2, 'the outage happened mid-stream');
          assert.deepEqual(lost, [], 'no event lost');
          assert.deepEqual(resentAfterAck, [], 'no message acknowledged before the outage was delivered again');
          assert.ok(dups.length <= WINDOW, `duplicates ${dups.length} within the window of ${WINDOW}`);
          assert.ok(sink.stats.resent <= WINDOW);
          for (const [id, c] of seen) assert.ok(c <= 2 && id >= 1 && id <= N, `record ${id} x${c}`);
        } finally {
          await f.close();
          await j.close();
          await rm(dir, { recursive: true, force: true });
          if (!rs.running) await rs.start();
        }
      });
    }
  });
}
