// The syslog sink against a real syslog-ng (the second receiver beside rsyslogd): RFC 5424 and
// RFC 3164 headers over plain TCP and TLS, octet-counted, with the hostile values, a value that
// tries to forge a frame, a 100 KB command line and a daemon restart in the middle of a stream.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createSyslogSink, type SyslogSinkOptions } from '../../sinks/syslog/index.js';
import { eventFromJson } from '../../sinks/shared/jsonl-encode.js';
import { unescapeXmlValue } from '../../sinks/shared/xml-render.js';
import { eventDef } from '../../src/events/schema.js';
import type { SysmonEvent } from '../../src/events/event.js';
import { errorEvent, hostileEvents, IDENTITY, processCreate } from './fixtures.js';
import { parseWithPython } from './xmlparse.js';
import { sleep, type Received } from './rsyslogd-process.js';
import { SyslogNg, syslogNgMissing } from './syslog-ng.js';

const PROC_ID = 4242;
// a value shaped like the next octet-counted frame and like a second record of each header
// form: if a writer let it through raw, the receiver would log a record we never sent
const FORGE = 'x\n97 <11>1 2022-11-24T08:30:01Z evil sysmon 1 - - <Event>forged</Event>\n<11>Nov 24 08:30:01 evil sysmon[1]: forged\r\n0 ';

const missing = syslogNgMissing();
if (missing && process.env.CI === 'true') {
  test('syslog-ng integration prerequisites', () => assert.fail(`missing in CI: ${missing}`));
} else if (missing) {
  console.log(`# SKIP syslog-ng integration tests: missing ${missing}`);
  test(`syslog-ng integration (SKIPPED: missing ${missing})`, { skip: `missing ${missing}` }, () => {});
} else {
  describe('against a real syslog-ng', () => {
    let ng: SyslogNg;
    before(async () => {
      ng = await SyslogNg.create();
      await ng.start();
    });
    after(async () => {
      await ng?.cleanup();
    });

    const url = (t: string) => (t === 'tcp' ? `tcp://127.0.0.1:${ng.tcpPort}` : `tls://127.0.0.1:${ng.tlsPort}?ca=${encodeURIComponent(ng.ca)}`);
    const SOURCE: Record<string, string> = { tcp: 's_tcp', tls: 's_tls' };

    async function send(u: string, events: SysmonEvent[], opts: SyslogSinkOptions = {}): Promise<void> {
      const s = createSyslogSink(u, { identity: IDENTITY, procId: PROC_ID, ...opts });
      await s.open();
      await s.write(events);
      await s.close();
    }

    /** the received Event XML documents by EventRecordID; each must arrive exactly once, whole */
    function byRecord(lines: Received[]): Map<number, { rx: Received; data: Record<string, string>; system: Record<string, string> }> {
      for (const l of lines) assert.ok(l.msg.startsWith('<Event>') && l.msg.endsWith('</Event>'), `one whole document per record: ${l.msg.slice(0, 100)}`);
      const parsed = parseWithPython(lines.map((l) => l.msg));
      const out = new Map<number, { rx: Received; data: Record<string, string>; system: Record<string, string> }>();
      parsed.forEach((p, i) => {
        const id = Number(p.system.EventRecordID);
        assert.ok(!out.has(id), `record ${id} arrived more than once`);
        out.set(id, { rx: lines[i]!, data: Object.fromEntries(p.data.map(([k, v]) => [k, unescapeXmlValue(v)])), system: p.system });
      });
      return out;
    }

    for (const t of ['tcp', 'tls']) {
      for (const framing of ['rfc5424', 'rfc3164'] as const) {
        test(`${t} ${framing}: hostile values, a forged frame and a 100 KB command line arrive exactly, once, nothing else`, async () => {
          await ng.reset();
          const big = `python3 -c '${'x<&>"\n'.repeat(17_000)}'`;
          const events = [
            ...hostileEvents(1000),
            processCreate(1100, { CommandLine: FORGE, CurrentDirectory: '/tmp/forge', ParentCommandLine: FORGE }),
            processCreate(1101, { CommandLine: big }),
            errorEvent(1102, 'sink "jsonl" lost 3 events\nretrying <now>'),
          ];
          // event 255 is user.info like every event (Sysmon for Linux); err255 makes it user.err
          const errorsAsErr = framing === 'rfc3164';
          await send(url(t), events, { framing, errorsAsErr });
          // settle: a forged record would arrive after the real ones
          const lines = await ng.waitFor((l) => l.length >= events.length);
          await sleep(300);
          const all = await ng.lines();
          assert.equal(all.length, events.length, `exactly ${events.length} records on ${t} ${framing}, got ${all.length}`);
          assert.ok(
            all.every((l) => l.input === SOURCE[t]),
            'all through the expected source',
          );
          assert.ok(!all.some((l) => l.host === 'evil' || l.msg.startsWith('forged')), 'no forged record');
          const got = byRecord(lines);
          for (const ev of events) {
            const g = got.get(ev.recordId);
            assert.ok(g, `record ${ev.recordId} arrived`);
            // the header as syslog-ng parsed it: PRI, APP-NAME/TAG, PROCID, HOSTNAME
            assert.equal(g.rx.pri, ev.id === 255 && errorsAsErr ? 11 : 14);
            assert.equal(g.rx.app, 'sysmon');
            // RFC 3164: TAG "sysmon:" without [pid], as Sysmon for Linux's syslog(3) line
            assert.equal(g.rx.procid, framing === 'rfc5424' ? String(PROC_ID) : '');
            assert.equal(g.rx.host, IDENTITY.computer);
            assert.equal(g.system.EventID, String(ev.id));
            assert.equal(g.system.EventRecordID, String(ev.recordId));
            for (const f of eventDef(ev.id).fields) assert.equal(g.data[f.name], String(ev.data[f.name]), `${t} ${framing} ${ev.recordId} ${f.name}`);
          }
          assert.equal(got.get(1101)!.data.CommandLine!.length, big.length, '100 KB command line whole');
        });
      }
    }

    test('tcp rfc3164: JSON payload round-trips every value', async () => {
      await ng.reset();
      const events = [...hostileEvents(4000), processCreate(4100, { CommandLine: FORGE })];
      await send(url('tcp'), events, { format: 'json', framing: 'rfc3164', facility: 'local3' });
      const lines = await ng.waitFor((l) => l.length >= events.length);
      await sleep(300);
      assert.equal((await ng.lines()).length, events.length);
      lines.forEach((l, i) => {
        assert.equal(l.app, 'sysmon');
        assert.equal(l.pri, 19 * 8 + 6);
        assert.deepEqual(eventFromJson(JSON.parse(l.msg)), events[i]);
      });
    });

    for (const t of ['tcp', 'tls']) {
      test(`${t}: syslog-ng restarted during a stream: no event lost`, async () => {
        await ng.reset();
        const s = createSyslogSink(url(t), { identity: IDENTITY, backoffInitialMs: 20, backoffMaxMs: 200 });
        await s.open();
        const BATCH = 50;
        let rejects = 0;
        let restarted = false;
        const restart = (async () => {
          await sleep(150);
          await ng.stop();
          await sleep(700);
          await ng.start();
          restarted = true;
        })();
        // the journal fan-out: retry the same batch until write() resolves; a steady stream
        // that spans the restart whatever the sink's pace, and goes on for 10 batches after it
        let sent = 0;
        let after = 0;
        while (!restarted || after < 10) {
          const batch = Array.from({ length: BATCH }, (_, i) => processCreate(200_001 + sent + i));
          for (;;) {
            try {
              await s.write(batch);
              break;
            } catch {
              rejects++;
              await sleep(20);
            }
          }
          sent += BATCH;
          if (restarted) after++;
          await sleep(10);
        }
        const N = sent;
        await restart;
        await s.close();
        const ids = (l: Received[]) => new Set(l.map((x) => x.msg.match(/<EventRecordID>(\d+)</)?.[1]));
        const lines = await ng.waitFor((l) => ids(l).size >= N, 15_000);
        const seen = ids(lines);
        const lost: number[] = [];
        for (let i = 1; i <= N; i++) if (!seen.has(String(200_000 + i))) lost.push(200_000 + i);
        console.log(
          `# ${t} stream into syslog-ng: ${N} events, ${rejects} rejected writes, ${lines.length - seen.size} duplicates (at-least-once), ${lost.length} lost`,
        );
        assert.ok(rejects > 0, 'the restart was noticed');
        assert.deepEqual(lost, [], 'no event lost');
      });
    }
  });
}
