// The live monitor fanning out to every sink at once: JSONL, EVTX (read back by libevtx's
// evtxexport) and syslog over TCP to a real rsyslogd, and a syslog outage that loses nothing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, runCommand } from '../helpers/agent.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';
import { Rsyslog, rsyslogMissing } from '../sinks/rsyslog.js';
import { parseExportXml, run } from '../evtx/tools.js';

const missing = missingKernelPrereq() ?? rsyslogMissing() ?? missingTool('evtxexport', 'evtxinfo', 'evtx_info.py', 'evtx_dump.py');

describe('live monitor to JSONL, EVTX and syslog', () => {
  let agent: AgentProcess;
  let rsyslog: Rsyslog;
  let evtx: string;

  before(async () => {
    if (missing) return;
    rsyslog = await Rsyslog.create();
    await rsyslog.start();
    agent = new AgentProcess();
    evtx = join(agent.dir, 'events.evtx');
    agent = new AgentProcess(['--evtx', evtx, '--syslog', `tcp://127.0.0.1:${rsyslog.tcpPort}`], agent.dir);
    await agent.start();
  });

  after(async () => {
    if (rsyslog) await rsyslog.cleanup();
    if (!agent) return;
    assert.equal(await agent.stop(), 0, agent.stderr);
    // the live monitor's whole EVTX file, after a clean stop, by every independent parser
    const count = agent.events().length;
    const info = run('evtxinfo', [evtx]);
    assert.equal(info.status, 0, info.stderr);
    assert.doesNotMatch(info.stdout, /corrupted/i);
    assert.match(
      info.stdout,
      new RegExp(`Number of records\\s*:\\s*${count}\\n`),
      `every JSONL event (${count}) is in the EVTX file; agent log:\n${agent.stderr
        .split('\n')
        .filter((l) => /warn|error|sink/i.test(l))
        .join('\n')}`,
    );
    assert.match(info.stdout, /Number of recovered records\s*:\s*0\n/);
    const pinfo = run('evtx_info.py', [evtx]);
    assert.equal(pinfo.status, 0, pinfo.stderr);
    assert.doesNotMatch(pinfo.stdout, /fail/i);
    const dump = run('evtx_dump.py', [evtx]);
    assert.equal(dump.status, 0, dump.stderr);
    const byId = new Map(agent.events().map((e) => [e.EventRecordID, e]));
    const recs = parseExportXml(dump.stdout);
    assert.equal(recs.length, count);
    for (const r of recs) {
      const e = byId.get(r.recordId);
      assert.ok(e, `record ${r.recordId} is in the JSONL file too`);
      assert.equal(r.eventId, e.EventID);
      for (const [k, v] of Object.entries(e.EventData)) {
        const got = r.data.get(k);
        if (typeof v === 'string' && /^\{[0-9a-f-]{36}\}$/.test(v)) assert.equal(got?.toLowerCase(), v, `${r.recordId} ${k}`);
        // HexInt64 is binary in EVTX; parsers print it with their own zero padding
        else if (typeof v === 'string' && /^0x[0-9a-f]+$/.test(v)) assert.equal(BigInt(got ?? 'x'), BigInt(v), `${r.recordId} ${k}`);
        else if (typeof v === 'string' && v.length > 24_000)
          assert.ok(got !== undefined && v.startsWith(got.slice(0, 1000)), `${r.recordId} ${k} (long value)`);
        else if (typeof v === 'string') assert.equal(got, v, `${r.recordId} ${k}`);
      }
    }
  });

  it('delivers one process event to all three sinks, hostile text intact', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const marker = `fan${process.hrtime.bigint()}`;
    const r = await runCommand('/usr/bin/env', ['true', marker, 'two\nlines <x> & "q"']);
    const [ev] = await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === r.pid && e.EventData.Image === '/usr/bin/env', 15_000, 'JSONL event');
    const lines = await rsyslog.waitFor((ls) => ls.some((l) => l.msg.includes(marker)), 15_000);
    const mine = lines.filter(
      (l) => l.msg.includes(marker) && l.msg.includes('<EventID>1</EventID>') && l.msg.includes('<Data Name="Image">/usr/bin/env</Data>'),
    );
    assert.equal(mine.length, 1, 'exactly one syslog message for the exec');
    const msg = mine[0]!.msg;
    assert.equal(mine[0]!.app, 'sysmon');
    assert.match(msg, /^<Event><System><Provider Name="Linux-Sysmon"/);
    assert.ok(msg.endsWith('</Event>'));
    assert.ok(msg.includes(`<EventRecordID>${ev!.EventRecordID}</EventRecordID>`));
    assert.ok(!msg.includes('\n'), 'one line');
    assert.ok(msg.includes('&lt;x&gt; &amp;'), 'markup escaped');
    // EVTX: read by an independent parser
    const exp = run('evtxexport', ['-f', 'xml', evtx]);
    assert.equal(exp.status, 0, exp.stderr);
    const recs = parseExportXml(exp.stdout).filter((x) => x.recordId === ev!.EventRecordID);
    assert.equal(recs.length, 1, 'the record is in the EVTX file');
    assert.equal(recs[0]!.eventId, 1);
    assert.equal(recs[0]!.data.get('CommandLine'), ev!.EventData.CommandLine);
    // a binary GUID in EVTX; libevtx prints it upper case as Windows does
    assert.equal(recs[0]!.data.get('ProcessGuid')?.toLowerCase(), ev!.EventData.ProcessGuid);
  });

  it('keeps events for syslog while rsyslog is down and delivers them when it is back', async (t) => {
    if (!requirePrereq(t, missing)) return;
    await rsyslog.stop();
    const marker = `down${process.hrtime.bigint()}`;
    const pids: number[] = [];
    for (let i = 0; i < 20; i++) pids.push((await runCommand('/usr/bin/true', [marker, String(i)])).pid);
    // JSONL keeps flowing while syslog is failing
    await agent.waitFor((e) => e.EventID === 1 && String(e.EventData.CommandLine).startsWith(`/usr/bin/true ${marker}`), 15_000, 'JSONL during outage', 20);
    await new Promise((r) => setTimeout(r, 1000));
    await rsyslog.start();
    const lines = await rsyslog.waitFor(
      (ls) => new Set(ls.filter((l) => l.msg.includes(marker) && l.msg.includes('<EventID>1</EventID>')).map((l) => l.msg)).size >= 20,
      60_000,
    );
    const got = new Set(
      lines.filter((l) => l.msg.includes(marker) && l.msg.includes('<EventID>1</EventID>')).map((l) => /<Data Name="ProcessId">(\d+)</.exec(l.msg)?.[1]),
    );
    for (const pid of pids) assert.ok(got.has(String(pid)), `pid ${pid} reached syslog after the outage`);
  });
});
