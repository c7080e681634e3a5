// The syslog sink against a real rsyslogd (UDP, TCP, TLS, unix socket), with hostile values.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createSyslogSink, parseSyslogUrl, type SyslogSinkOptions } from '../../sinks/syslog/index.js';
import { SyslogEncoder, cutUtf8 } from '../../sinks/shared/syslog-encode.js';
import { resolveSyslogOptions } from '../../sinks/shared/syslog-config.js';
import { eventFromJson } from '../../sinks/shared/jsonl-encode.js';
import { unescapeXmlValue } from '../../sinks/shared/xml-render.js';
import { eventDef } from '../../src/events/schema.js';
import type { SysmonEvent } from '../../src/events/event.js';
import { errorEvent, hostileEvents, IDENTITY, processCreate } from './fixtures.js';
import { parseWithPython } from './xmlparse.js';
import { Rsyslog, rsyslogMissing, type Received } from './rsyslog.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('URL parsing and option defaults', () => {
  const a = parseSyslogUrl('tcp://logs.example:1514?format=json&facility=local3');
  assert.deepEqual(a.target, { transport: 'tcp', host: 'logs.example', port: 1514, path: '' });
  assert.equal(a.query.format, 'json');
  const u = parseSyslogUrl('unix:///dev/log');
  assert.equal(u.target.path, '/dev/log');
  assert.equal(parseSyslogUrl('tls://[::1]').target.port, 6514);
  assert.equal(parseSyslogUrl('udp://h').target.port, 514);
  assert.throws(() => parseSyslogUrl('http://x'), /unsupported scheme/);
  assert.throws(() => parseSyslogUrl('tcp://x:1?bogus=1'), /unknown URL parameter/);
  const o = resolveSyslogOptions(u.target, {}, {}, IDENTITY);
  assert.equal(o.framing, 'rfc3164');
  assert.equal(o.maxMessageSize, 8192);
  const t = resolveSyslogOptions(a.target, a.query, { facility: 'daemon' }, IDENTITY);
  assert.equal(t.facilityCode, 3, 'explicit option wins over the URL');
  assert.equal(t.maxMessageSize, 0);
  assert.equal(createSyslogSink('tls://h:6514?ca=/dev/null').name, 'syslog:tls://h:6514');
  assert.equal(createSyslogSink('unix:///dev/log').name, 'syslog:unix:///dev/log');
  assert.equal(createSyslogSink('udp://h', { name: 'siem' }).name, 'siem');
});

test('headers: RFC 5424 and RFC 3164 (glibc local form without hostname)', () => {
  const base = resolveSyslogOptions(parseSyslogUrl('tcp://h:1').target, {}, { procId: 42 }, IDENTITY);
  const e5424 = new SyslogEncoder(base, false);
  assert.equal(e5424.header(processCreate(1)), '<14>1 2022-11-24T08:30:01.467399Z ip-172-31-60-25 sysmon 42 - - ');
  // Sysmon for Linux writes every event, errors included, as user.info
  assert.equal(e5424.pri(errorEvent(1, 'x')), 14);
  assert.equal(new SyslogEncoder({ ...base, errorsAsErr: true }, false).pri(errorEvent(1, 'x')), 11, 'err255=1');
  assert.equal(resolveSyslogOptions(parseSyslogUrl('tcp://h:1?err255=1').target, parseSyslogUrl('tcp://h:1?err255=1').query, {}, IDENTITY).errorsAsErr, true);
  // the TAG is `sysmon:` without [PID] (SFL's openlog has no LOG_PID)
  const e3164 = new SyslogEncoder({ ...base, framing: 'rfc3164' }, true);
  assert.match(e3164.header(processCreate(1)), /^<14>Nov 2[45] \d\d:\d\d:01 sysmon: $/);
  const net3164 = new SyslogEncoder({ ...base, framing: 'rfc3164' }, false);
  assert.match(net3164.header(processCreate(1)), /^<14>Nov 2[45] \d\d:\d\d:01 ip-172-31-60-25 sysmon: $/);
});

test('oversize policy: longest fields cut at a character boundary with a marker; XML stays well-formed', () => {
  const o = resolveSyslogOptions(parseSyslogUrl('udp://h:1').target, {}, { maxMessageSize: 4096 }, IDENTITY);
  const enc = new SyslogEncoder(o, false);
  const ev = processCreate(1, { CommandLine: '日本'.repeat(20_000) + '<&>', ParentCommandLine: 'p'.repeat(3000) });
  const { message, truncated } = enc.encode(ev);
  assert.ok(truncated);
  assert.ok(message.length <= 4096, `${message.length}`);
  const text = message.toString('utf8');
  assert.equal(Buffer.from(text, 'utf8').length, message.length, 'valid UTF-8');
  const [p] = parseWithPython([text.slice(text.indexOf('<Event>'))]);
  const got = Object.fromEntries(p!.data);
  assert.match(got.CommandLine!, /^(日本)+日?\.\.\.\[truncated \d+ bytes\]$/);
  const jo = new SyslogEncoder({ ...o, format: 'json', maxMessageSize: 2048 }, false);
  const j = jo.encode(processCreate(2, { CommandLine: '"\n\udcff'.repeat(5000) }));
  assert.ok(j.truncated && j.message.length <= 2048);
  const body = j.message.toString('utf8');
  const rec = JSON.parse(body.slice(body.indexOf('{'))) as { EventData: Record<string, string> };
  assert.match(rec.EventData.CommandLine!, /^("\n\udcff)+.*\.\.\.\[truncated \d+ bytes\]$/s);
  assert.equal(cutUtf8('a😀b', 2), 'a');
  assert.equal(cutUtf8('a😀b', 5), 'a😀');
});

const missing = rsyslogMissing();
if (missing && process.env.CI === 'true') {
  test('rsyslog integration prerequisites', () => assert.fail(`missing in CI: ${missing}`));
} else if (missing) {
  console.log(`# SKIP rsyslog integration tests: missing ${missing}`);
  test(`rsyslog integration (SKIPPED: missing ${missing})`, { skip: `missing ${missing}` }, () => {});
} else {
  describe('against a real rsyslogd', () => {
    let rs: Rsyslog;
    before(async () => {
      rs = await Rsyslog.create();
      await rs.start();
    });
    after(async () => {
      await rs?.cleanup();
    });

    const urls = (): Record<string, string> => ({
      udp: `udp://127.0.0.1:${rs.udpPort}`,
      tcp: `tcp://127.0.0.1:${rs.tcpPort}`,
      tls: `tls://127.0.0.1:${rs.tlsPort}?ca=${encodeURIComponent(rs.ca)}`,
      unix: `unix://${rs.sock}`,
    });
    const INPUT: Record<string, string> = { udp: 'imudp', tcp: 'imptcp', tls: 'imtcp', unix: 'imuxsock' };

    async function send(url: string, events: SysmonEvent[], opts: SyslogSinkOptions = {}): Promise<void> {
      const s = createSyslogSink(url, { identity: IDENTITY, ...opts });
      await s.open();
      await s.write(events);
      await s.close();
    }

    /** received XML payloads by EventRecordID, checking each arrived exactly once */
    function byRecord(lines: Received[], input: string): Map<number, { rx: Received; data: Record<string, string>; system: Record<string, string> }> {
      const mine = lines.filter((l) => l.input === input);
      for (const l of mine) assert.ok(l.msg.startsWith('<Event>') && l.msg.endsWith('</Event>'), `whole document on one line: ${l.msg.slice(0, 100)}`);
      const parsed = parseWithPython(mine.map((l) => l.msg));
      const out = new Map<number, { rx: Received; data: Record<string, string>; system: Record<string, string> }>();
      parsed.forEach((p, i) => {
        const id = Number(p.system.EventRecordID);
        assert.ok(!out.has(id), `record ${id} arrived more than once on ${input}`);
        out.set(id, { rx: mine[i]!, data: Object.fromEntries(p.data.map(([k, v]) => [k, unescapeXmlValue(v)])), system: p.system });
      });
      return out;
    }

    for (const t of ['udp', 'tcp', 'tls', 'unix']) {
      test(`${t}: hostile values arrive once, on one line, parseable, every field equal`, async () => {
        await rs.reset();
        const events = [...hostileEvents(1000), processCreate(1100), errorEvent(1101, 'sink "jsonl" lost 3 events\nretrying')];
        await send(urls()[t]!, events);
        const lines = await rs.waitFor((l) => l.filter((x) => x.input === INPUT[t]).length >= events.length);
        const got = byRecord(lines, INPUT[t]!);
        assert.equal(got.size, events.length, `all ${events.length} arrived on ${t}`);
        for (const ev of events) {
          const g = got.get(ev.recordId)!;
          assert.ok(g, `record ${ev.recordId}`);
          assert.equal(g.rx.app, 'sysmon');
          assert.equal(g.rx.pri, 14, 'user.info for every event, 255 included (Sysmon for Linux)');
          assert.equal(g.system.EventID, String(ev.id));
          assert.equal(g.system['Provider@Name'], 'Linux-Sysmon');
          assert.equal(g.system['Security@UserId'], String(process.geteuid!()));
          for (const f of eventDef(ev.id).fields) assert.equal(g.data[f.name], String(ev.data[f.name]), `${t} ${ev.recordId} ${f.name}`);
        }
      });
    }

    for (const t of ['tcp', 'tls']) {
      test(`${t}: a 100 KB command line is delivered whole`, async () => {
        await rs.reset();
        const big = `python3 -c '${'x<&>"\n'.repeat(17_000)}'`;
        const ev = processCreate(2000, { CommandLine: big });
        await send(urls()[t]!, [ev, processCreate(2001)]);
        const lines = await rs.waitFor((l) => l.filter((x) => x.input === INPUT[t]).length >= 2);
        const got = byRecord(lines, INPUT[t]!);
        assert.equal(got.get(2000)?.data.CommandLine, big);
        assert.equal(got.get(2001)?.data.Image, '/usr/bin/wget');
      });
    }

    for (const t of ['udp', 'unix']) {
      test(`${t}: a 100 KB command line is truncated to the datagram limit with a marker, still parseable`, async () => {
        await rs.reset();
        const big = 'A'.repeat(100_000);
        await send(urls()[t]!, [processCreate(3000, { CommandLine: big })], { maxMessageSize: 16_384 });
        const lines = await rs.waitFor((l) => l.some((x) => x.input === INPUT[t]));
        const got = byRecord(lines, INPUT[t]!);
        const cl = got.get(3000)!.data.CommandLine!;
        assert.match(cl, /^A+\.\.\.\[truncated \d+ bytes\]$/);
        assert.ok(cl.length > 10_000 && cl.length < 16_384, `${cl.length}`);
        assert.equal(got.get(3000)!.data.ParentImage, '/bin/bash');
      });
    }

    test('unix: the file line is `host sysmon: <Event>...`, which the published Wazuh decoder regex matches', async () => {
      await rs.reset();
      const trad = join(rs.dir, 'traditional.log');
      const before = existsSync(trad) ? readFileSync(trad, 'utf8').length : 0;
      await send(urls().unix!, [processCreate(6000), errorEvent(6001, 'boom')]);
      await rs.waitFor((l) => l.filter((x) => x.input === 'imuxsock').length >= 2);
      let text = '';
      for (let i = 0; i < 100 && text.split('\n').filter(Boolean).length < 2; i++) {
        await sleep(50);
        text = readFileSync(trad, 'utf8').slice(before);
      }
      const lines = text.split('\n').filter(Boolean);
      assert.equal(lines.length, 2, text);
      // the prematch of Wazuh's Sysmon for Linux decoder (wazuh/wazuh ruleset, 0880-sysmon_decoders.xml)
      const WAZUH = /\S+\ssysmon:\s/;
      for (const l of lines) {
        assert.match(l, WAZUH, l.slice(0, 120));
        assert.match(l, /^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ sysmon: <Event><System>/);
      }
      // the old form with a PID is what the regex does not match
      assert.doesNotMatch('Nov 24 08:30:01 host sysmon[42]: <Event>', WAZUH);
    });

    test('tcp: JSON payload and RFC 3164 framing', async () => {
      await rs.reset();
      const events = hostileEvents(4000);
      await send(urls().tcp!, events, { format: 'json', framing: 'rfc3164', facility: 'local3' });
      const lines = await rs.waitFor((l) => l.length >= events.length);
      assert.equal(lines.length, events.length);
      lines.forEach((l, i) => {
        assert.equal(l.app, 'sysmon');
        assert.equal(l.pri, 19 * 8 + 6);
        const ev = eventFromJson(JSON.parse(l.msg));
        assert.deepEqual(ev, events[i]);
      });
    });

    test('tls: a server certificate from an unknown CA is refused', async () => {
      const s = createSyslogSink(`tls://127.0.0.1:${rs.tlsPort}`, { identity: IDENTITY });
      await s.open();
      await assert.rejects(s.write([processCreate(1)]), /self[- ]signed|unable to verify|certificate/i);
      await s.close();
    });

    test('tcp: rsyslog down -> write rejects; back up -> write succeeds after reconnect', async () => {
      await rs.reset();
      // reconnect mechanics only: replayMs 0, so 5000 is not sent again after the restart
      // (the replay of a lost connection's last batches: syslog-reset.test.ts)
      const s = createSyslogSink(urls().tcp!, { identity: IDENTITY, backoffInitialMs: 50, backoffMaxMs: 200, replayMs: 0 });
      await s.open();
      await s.write([processCreate(5000)]);
      await rs.stop();
      await sleep(100);
      await assert.rejects(s.write([processCreate(5001)]));
      assert.equal(s.connected, false);
      await rs.start();
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        try {
          await s.write([processCreate(5001)]);
          ok = true;
        } catch {
          await sleep(50);
        }
      }
      assert.ok(ok, 'reconnected');
      await s.close();
      const lines = await rs.waitFor((l) => l.length >= 2);
      const ids = [...byRecord(lines, 'imptcp').keys()].sort();
      assert.deepEqual(ids, [5000, 5001]);
    });

    test('tcp: an idle connection closed by a daemon restart reconnects on the next write without a reject', async () => {
      await rs.reset();
      const s = createSyslogSink(urls().tcp!, { identity: IDENTITY, replayMs: 0 }); // as above
      await s.open();
      await s.write([processCreate(7000)]);
      // idle means delivered: a TCP write is settled before rsyslogd has read it, and a
      // daemon stopped with it unread loses it (the RELP sink is the acknowledged transport)
      await rs.waitFor((l) => l.length >= 1);
      await rs.stop();
      await rs.start();
      await sleep(100); // the close has been seen while idle
      await s.write([processCreate(7001)]);
      await s.close();
      const lines = await rs.waitFor((l) => l.length >= 2);
      assert.deepEqual([...byRecord(lines, 'imptcp').keys()].sort(), [7000, 7001]);
    });

    test('unix: an idle socket whose daemon restarted reconnects on the next write without a reject', async () => {
      await rs.reset();
      const s = createSyslogSink(urls().unix!, { identity: IDENTITY });
      await s.open();
      await s.write([processCreate(8000)]);
      await rs.stop();
      await rs.start();
      await s.write([processCreate(8001)]);
      await s.close();
      const lines = await rs.waitFor((l) => l.length >= 2);
      assert.deepEqual([...byRecord(lines, 'imuxsock').keys()].sort(), [8000, 8001]);
    });

    test('unix: daemon gone -> write rejects; daemon back (new socket) -> write succeeds', async () => {
      await rs.reset();
      const s = createSyslogSink(urls().unix!, { identity: IDENTITY, backoffInitialMs: 20, backoffMaxMs: 100 });
      await s.open();
      await s.write([processCreate(6000)]);
      await rs.stop();
      await assert.rejects(s.write([processCreate(6001)]), /unix datagram/);
      await rs.start();
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        try {
          await s.write([processCreate(6001)]);
          ok = true;
        } catch {
          await sleep(30);
        }
      }
      assert.ok(ok, 'reconnected to the new socket');
      await s.close();
      const lines = await rs.waitFor((l) => l.length >= 2);
      assert.deepEqual([...byRecord(lines, 'imuxsock').keys()].sort(), [6000, 6001]);
    });

    for (const t of ['tcp', 'tls', 'unix']) {
      test(`${t}: rsyslog stopped for a while during a stream: no event lost`, async () => {
        await rs.reset();
        const s = createSyslogSink(urls()[t]!, {
          identity: IDENTITY,
          backoffInitialMs: 20,
          backoffMaxMs: 200,
          settleMs: Number(process.env.SETTLE ?? 20),
          confirmUnix: process.env.CONFIRM_UNIX !== '0',
        });
        await s.open();
        const N = 3000;
        const BATCH = 50;
        let rejects = 0;
        const stopper = (async () => {
          await sleep(150);
          await rs.stop();
          await sleep(700);
          await rs.start();
        })();
        // the journal fan-out: retry the same batch until write() resolves
        for (let next = 1; next <= N; next += BATCH) {
          const batch = Array.from({ length: Math.min(BATCH, N - next + 1) }, (_, i) => processCreate(100_000 + next + i));
          for (;;) {
            try {
              await s.write(batch);
              break;
            } catch {
              rejects++;
              await sleep(20);
            }
          }
          await sleep(2); // a steady stream rather than a burst
        }
        await stopper;
        await s.close();
        const lines = await rs.waitFor((l) => new Set(l.map((x) => x.msg.match(/<EventRecordID>(\d+)</)?.[1])).size >= N, 15_000);
        const seen = new Map<number, number>();
        for (const l of lines) {
          const id = Number(l.msg.match(/<EventRecordID>(\d+)</)?.[1]);
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
        const lost = [];
        for (let i = 1; i <= N; i++) if (!seen.has(100_000 + i)) lost.push(100_000 + i);
        const dups = [...seen.values()].filter((c) => c > 1).length;
        console.log(`# ${t} stream: ${N} events, ${rejects} rejected writes while down, ${dups} duplicates (at-least-once), ${lost.length} lost`);
        assert.ok(rejects > 0, 'the outage was noticed');
        assert.deepEqual(lost, [], 'no event lost');
      });
    }
  });
}
