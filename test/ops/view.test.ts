// `sysmon-ts view`: the same events written as JSONL, EVTX and syslog lines of Event XML are
// shown the same way, and every filter (event ID, record range, time range, Field=value,
// Field~substring, fields to show) works on each format; colour only when asked; --follow
// picks up lines appended later; stdin ("-") works.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { LINUX_IDENTITY, type FieldValue, type SysmonEvent } from '../../src/events/event.js';
import { eventDef } from '../../src/events/schema.js';
import { runConvert } from '../../src/commands/convert.js';
import { parseLine, parseTime, runView, type ViewOptions } from '../../src/commands/view.js';
import { encodeJsonl } from '../../sinks/shared/jsonl-encode.js';
import { renderEventXml } from '../../sinks/shared/xml-render.js';

const who = { ...LINUX_IDENTITY, computer: 'viewhost' };
const T0 = Date.parse('2026-11-29T18:00:00Z');

function ev(id: number, recordId: number, secs: number, data: Record<string, FieldValue>): SysmonEvent {
  const full: Record<string, FieldValue> = {};
  for (const f of eventDef(id).fields) {
    full[f.name] =
      f.type === 'UInt16' || f.type === 'UInt32' ? 0 : f.type === 'Boolean' ? false : f.type === 'GUID' ? '{00000000-0000-0000-0000-000000000000}' : '-';
  }
  const ms = T0 + secs * 1000;
  full.UtcTime = new Date(ms).toISOString().replace('T', ' ').slice(0, 23);
  return { id, recordId, timeNs: BigInt(ms) * 1_000_000n, data: { ...full, ...data } };
}

const EVENTS: SysmonEvent[] = [
  ev(1, 1, 0, { ProcessId: 100, Image: '/usr/bin/curl', CommandLine: 'curl http://x/a "q" <b> & c\nforged: line', User: 'root' }),
  ev(5, 2, 10, { ProcessId: 100, Image: '/usr/bin/curl', User: 'root' }),
  ev(3, 3, 20, { ProcessId: 200, Image: '/usr/bin/wget', Protocol: 'tcp', Initiated: true, DestinationIp: '10.1.2.3', DestinationPort: 443 }),
  ev(1, 4, 30, { ProcessId: 300, Image: '/usr/bin/ls', CommandLine: 'ls -l', User: 'alice' }),
  ev(255, 5, 40, { ID: 'KernelDrop', Description: 'lost 3 records' }),
];

const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-view-'));
const jsonl = join(dir, 'events.jsonl');
const syslog = join(dir, 'syslog');
const evtx = join(dir, 'events.evtx');
writeFileSync(jsonl, EVENTS.map((e) => encodeJsonl(e, who)).join(''));
// what rsyslog writes for Sysmon for Linux / our syslog sink: a prefix, then the XML; other programs' lines in between
writeFileSync(
  syslog,
  EVENTS.map(
    (e, i) =>
      `Nov 29 18:00:0${i} viewhost sysmon-ts[42]: ${renderEventXml(e, who, { dialect: 'linux' })}\nNov 29 18:00:0${i} viewhost cron[7]: (root) CMD (true)\n`,
  ).join(''),
);

async function view(path: string, o: ViewOptions = {}, stdin?: Readable): Promise<{ n: number; text: string }> {
  let text = '';
  const n = await runView(
    path,
    {
      write: (s: string) => {
        text += s;
      },
    },
    o,
    stdin,
  );
  return { n, text };
}

describe('view', () => {
  it('reads the same events from JSONL, EVTX and syslog Event XML lines', async () => {
    const r = await runConvert(jsonl, evtx);
    assert.equal(r.events, EVENTS.length);
    const outs = [await view(jsonl), await view(evtx), await view(syslog)];
    for (const o of outs) assert.equal(o.n, EVENTS.length);
    assert.equal(outs[1]!.text, outs[0]!.text, 'EVTX shows as JSONL');
    assert.equal(outs[2]!.text, outs[0]!.text, 'syslog XML shows as JSONL');
    const t = outs[0]!.text;
    assert.match(t, /^Event 1: Process Create\n\tRuleName: -\n\tUtcTime: 2026-11-29 18:00:00.000\n/);
    // a newline in a value is shown escaped, never as a new "field" line
    assert.match(t, /\tCommandLine: curl http:\/\/x\/a "q" <b> & c\\nforged: line\n/);
    assert.doesNotMatch(t, /^forged/m);
    assert.match(t, /Event 255: Error report\n\tUtcTime: 2026-11-29 18:00:40.000\n\tID: KernelDrop\n/);
  });

  for (const [fmt, path] of [
    ['jsonl', jsonl],
    ['evtx', evtx],
    ['syslog', syslog],
  ] as const) {
    it(`filters ${fmt} by event ID, field, time and record, and shows chosen fields`, async () => {
      if (fmt === 'evtx') await runConvert(jsonl, evtx);
      assert.equal((await view(path, { ids: [1] })).n, 2);
      assert.equal((await view(path, { ids: [1, 3] })).n, 3);
      const alice = await view(path, { filters: ['user=ALICE'] });
      assert.equal(alice.n, 1);
      assert.match(alice.text, /Image: \/usr\/bin\/ls/);
      assert.equal((await view(path, { filters: ['Image~curl'] })).n, 2);
      assert.equal((await view(path, { filters: ['Image~curl', 'EventType=x'] })).n, 0, 'all filters must hold');
      assert.equal((await view(path, { ids: [1], filters: ['Image!=/usr/bin/ls'] })).n, 1);
      assert.equal((await view(path, { filters: ['DestinationPort=443'] })).n, 1);
      assert.equal((await view(path, { fromMs: parseTime('2026-11-29 18:00:10'), toMs: parseTime('2026-11-29 18:00:30') })).n, 3);
      assert.equal((await view(path, { fromMs: parseTime('2026-11-29T18:00:35Z') })).n, 1);
      assert.equal((await view(path, { minRecord: 2, maxRecord: 3 })).n, 2);
      const f = await view(path, { ids: [3], fields: ['image', 'DestinationIp'], system: true });
      assert.equal(
        f.text,
        'Event 3: Network connection detected\n\tEventRecordID: 3\n\tTimeCreated: 2026-11-29T18:00:20.000Z\n\tComputer: viewhost\n\tImage: /usr/bin/wget\n\tDestinationIp: 10.1.2.3\n\n',
      );
    });
  }

  it('colours only when asked, and never passes escape sequences from values', async () => {
    const hostile = join(dir, 'hostile.jsonl');
    writeFileSync(hostile, encodeJsonl(ev(1, 9, 0, { Image: '/tmp/\x1b[31mred', CommandLine: 'x' }), who));
    const plain = await view(hostile);
    assert.doesNotMatch(plain.text, /\x1b/);
    assert.match(plain.text, /Image: \/tmp\/\\x1b\[31mred/);
    const col = await view(hostile, { color: true });
    assert.match(col.text, /^\x1b\[1;36mEvent 1: Process Create\x1b\[0m\n\t\x1b\[33mRuleName\x1b\[0m: -/);
    assert.equal((col.text.match(/\x1b/g) ?? []).length, 2 + 2 * eventDef(1).fields.length, 'only our own colour codes');
  });

  it('reads stdin ("-") mixing JSONL and syslog lines', async () => {
    const input = `${encodeJsonl(EVENTS[0]!, who)}not an event\n${renderEventXml(EVENTS[2]!, who, { dialect: 'windows' })}\n`;
    const r = await view('-', {}, Readable.from([input]));
    assert.equal(r.n, 2);
    assert.match(r.text, /Event 3: Network connection detected/);
  });

  it('--follow shows events appended later, and after truncation', async () => {
    const live = join(dir, 'live.jsonl');
    writeFileSync(live, encodeJsonl(EVENTS[0]!, who));
    const ac = new AbortController();
    let text = '';
    const done = runView(
      live,
      {
        write: (s: string) => {
          text += s;
        },
      },
      { follow: true, signal: ac.signal, pollMs: 20 },
    );
    const waitFor = async (re: RegExp) => {
      const deadline = Date.now() + 5000;
      while (!re.test(text)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}; got:\n${text}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor(/Event 1:/);
    appendFileSync(live, encodeJsonl(EVENTS[1]!, who));
    await waitFor(/Event 5:/);
    writeFileSync(live, encodeJsonl(EVENTS[4]!, who)); // logrotate copytruncate
    await waitFor(/Event 255:/);
    ac.abort();
    assert.equal(await done, 3);
  });

  it('parses Event XML with and without the Windows namespace and entities', () => {
    const x = parseLine(`<13>1 - h sysmon - - - ${renderEventXml(EVENTS[0]!, who, { dialect: 'windows' })}`)!;
    assert.equal(x.event.id, 1);
    assert.equal(x.event.recordId, 1);
    assert.equal(x.computer, 'viewhost');
    assert.equal(x.event.data.CommandLine, EVENTS[0]!.data.CommandLine);
    assert.equal(parseLine('Nov 29 cron[1]: nothing'), null);
  });
});
