// Live DnsQuery (event 22) from the real kernel. A dnsmasq the test starts answers on port 53
// of a random loopback address (127.53.x.y: the wire capture watches port 53, so the server
// must be on it; any 127/8 address is local). Real clients: dig (its own UDP resolver),
// Node's dns.Resolver (c-ares), dig +tcp, getent ahosts / getent hosts (libc getaddrinfo /
// gethostbyname2 answered from /etc/hosts), and getent in a private mount namespace whose
// /etc/resolv.conf points at the test's dnsmasq (libc getaddrinfo that goes to the DNS
// server: one event, not one per A/AAAA datagram). Negative cases: a DNS query and answer
// exchanged over a non-53 port (no event), NXDOMAIN (QueryStatus 9003). Plus the pure
// message parser and formatters.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertProcessFields } from '../helpers/event-asserts.js';
import { AgentProcess, runCommand, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, missingTool, requirePrereq } from '../helpers/prereq.js';
import { formatResults, libcResults, libcStatus, parseDnsMessage, wireStatus } from '../../src/families/dns/events.js';

const FIELDS = ['RuleName', 'UtcTime', 'ProcessGuid', 'ProcessId', 'QueryName', 'QueryStatus', 'QueryResults', 'Image', 'User'];
const CONFIG =
  '<Sysmon schemaversion="4.91"><EventFiltering><RuleGroup groupRelation="or">' + '<DnsQuery onmatch="exclude"/></RuleGroup></EventFiltering></Sysmon>';
const NODE = realpathSync(process.execPath);
const missing = missingKernelPrereq() ?? missingTool('dnsmasq', 'dig', 'getent', 'unshare');
const which = (tool: string) => {
  try {
    return realpathSync(`/usr/bin/${tool}`);
  } catch {
    return tool;
  }
};

/** A DNS query message for `name` (type A unless given). */
function query(id: number, name: string, qtype = 1): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2); // RD
  head.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([head, ...labels, Buffer.from([0]), tail]);
}

/** The response to `q` with answers (name compressed to the question, offset 12). */
function response(q: Buffer, rcode: number, answers: { type: number; rdata: Buffer }[]): Buffer {
  const r = Buffer.from(q);
  r.writeUInt16BE(0x8180 | rcode, 2);
  r.writeUInt16BE(answers.length, 6);
  const rrs = answers.map((a) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(0xc00c, 0);
    h.writeUInt16BE(a.type, 2);
    h.writeUInt16BE(1, 4);
    h.writeUInt32BE(60, 6);
    h.writeUInt16BE(a.rdata.length, 10);
    return Buffer.concat([h, a.rdata]);
  });
  return Buffer.concat([r, ...rrs]);
}

// A DNS exchange over a port that is not 53: a responder and a client in one node process.
const OFF_PORT_EXCHANGE = `
const dgram = require('dgram');
const [q, a] = process.argv.slice(1).map((h) => Buffer.from(h, 'hex'));
const srv = dgram.createSocket('udp4');
srv.on('message', (m, r) => srv.send(a, r.port, r.address));
srv.bind(0, '127.0.0.1', () => {
  const c = dgram.createSocket('udp4');
  c.on('message', (m) => { console.log(JSON.stringify({ got: m.length })); c.close(); srv.close(); });
  c.send(q, srv.address().port, '127.0.0.1');
});
`;

const RESOLVE = `
const { Resolver } = require('dns');
const [server, name] = process.argv.slice(1);
const r = new Resolver();
r.setServers([server]);
r.resolve4(name, (err, addrs) => console.log(JSON.stringify({ err: err && err.code, addrs })));
`;

function runNode(script: string, args: string[]): Promise<{ pid: number; code: number | null; stdout: string }> {
  return runCommand(NODE, ['-e', script, ...args]);
}

describe('DnsQuery (22) from the kernel', () => {
  let agent: AgentProcess;
  let dnsmasq: ChildProcess | undefined;
  let server = '';
  let dir = '';

  before(async () => {
    if (missing) return;
    dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-dns-'));
    server = `127.53.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    dnsmasq = spawn(
      'dnsmasq',
      [
        '--keep-in-foreground',
        '--no-resolv',
        '--no-hosts',
        '--conf-file=/dev/null',
        `--listen-address=${server}`,
        '--bind-interfaces',
        '--port=53',
        `--pid-file=${join(dir, 'dnsmasq.pid')}`,
        '--address=/test.sysmon-ts.example/10.1.2.3',
        '--address=/nx.sysmon-ts.example/',
        '--host-record=target.sysmon-ts.example,10.1.2.4,fd00::4',
        '--cname=alias.sysmon-ts.example,target.sysmon-ts.example',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    dnsmasq.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    // dnsmasq is ready when it answers
    for (let i = 0; ; i++) {
      const r = await runCommand('dig', [`@${server}`, '+short', '+time=1', '+tries=1', 'test.sysmon-ts.example']);
      if (r.stdout.trim() === '10.1.2.3') break;
      if (i > 20 || dnsmasq.exitCode !== null) throw new Error(`dnsmasq on ${server}:53 did not answer: ${err}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    const cfg = join(dir, 'dns.xml');
    writeFileSync(cfg, CONFIG);
    agent = new AgentProcess(['-c', cfg], dir);
    await agent.start();
  });

  after(async () => {
    if (dnsmasq && dnsmasq.exitCode === null) dnsmasq.kill('SIGTERM');
    if (!agent) return;
    const code = await agent.stop();
    assert.equal(code, 0, `agent exit code, stderr:\n${agent.stderr}`);
    const errors = agent.events().filter((e) => e.EventID === 255);
    assert.deepEqual(
      errors.map((e) => e.EventData.Description),
      [],
      'no event 255 (drops, bad records)',
    );
  });

  const dnsOf = (pid: number) => (e: JsonEvent) => e.EventID === 22 && e.EventData.ProcessId === pid;

  const checkCommon = (e: JsonEvent, pid: number, image: string) => assertProcessFields(e, { name: 'DnsQuery', version: 5, fields: FIELDS, pid, image });

  /** Waits for the pid's events, then a little longer to see that no more come. */
  async function eventsOf(pid: number, what: string, count = 1): Promise<JsonEvent[]> {
    await agent.waitFor(dnsOf(pid), 15_000, what, count);
    await new Promise((res) => setTimeout(res, 400));
    return agent.events().filter(dnsOf(pid));
  }

  it('dig (its own UDP resolver): name, status 0, results in Sysmon format, one event', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = await runCommand('dig', [`@${server}`, '+short', 'test.sysmon-ts.example']);
    assert.equal(r.stdout.trim(), '10.1.2.3');
    const evs = await eventsOf(r.pid, 'dig event');
    assert.equal(evs.length, 1, 'one event for one query');
    checkCommon(evs[0]!, r.pid, which('dig'));
    assert.equal(evs[0]!.EventData.QueryName, 'test.sysmon-ts.example');
    assert.equal(evs[0]!.EventData.QueryStatus, '0');
    assert.equal(evs[0]!.EventData.QueryResults, '::ffff:10.1.2.3;');
  });

  it('CNAME chains and AAAA answers: "type:  5 target;" then the address', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const a = await runCommand('dig', [`@${server}`, '+short', 'alias.sysmon-ts.example']);
    assert.match(a.stdout, /10\.1\.2\.4/);
    const [ea] = await eventsOf(a.pid, 'dig CNAME event');
    assert.equal(ea!.EventData.QueryName, 'alias.sysmon-ts.example');
    assert.equal(ea!.EventData.QueryResults, 'type:  5 target.sysmon-ts.example;::ffff:10.1.2.4;');
    const aaaa = await runCommand('dig', [`@${server}`, '+short', 'AAAA', 'alias.sysmon-ts.example']);
    assert.match(aaaa.stdout, /fd00::4/);
    const [e6] = await eventsOf(aaaa.pid, 'dig AAAA event');
    assert.equal(e6!.EventData.QueryResults, 'type:  5 target.sysmon-ts.example;fd00::4;');
    assert.equal(e6!.EventData.QueryStatus, '0');
  });

  it('DNS over TCP (dig +tcp): the response read from the connection to port 53', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = await runCommand('dig', [`@${server}`, '+tcp', '+short', 'alias.sysmon-ts.example']);
    assert.match(r.stdout, /10\.1\.2\.4/);
    const evs = await eventsOf(r.pid, 'dig +tcp event');
    assert.equal(evs.length, 1);
    checkCommon(evs[0]!, r.pid, which('dig'));
    assert.equal(evs[0]!.EventData.QueryName, 'alias.sysmon-ts.example');
    assert.equal(evs[0]!.EventData.QueryStatus, '0');
    assert.equal(evs[0]!.EventData.QueryResults, 'type:  5 target.sysmon-ts.example;::ffff:10.1.2.4;');
  });

  it('NXDOMAIN: QueryStatus 9003 (DNS_ERROR_RCODE_NAME_ERROR), QueryResults -', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = await runCommand('dig', [`@${server}`, 'missing.nx.sysmon-ts.example']);
    assert.match(r.stdout, /status: NXDOMAIN/);
    const [e] = await eventsOf(r.pid, 'NXDOMAIN event');
    checkCommon(e!, r.pid, which('dig'));
    assert.equal(e!.EventData.QueryName, 'missing.nx.sysmon-ts.example');
    assert.equal(e!.EventData.QueryStatus, '9003');
    assert.equal(e!.EventData.QueryResults, '-');
  });

  it("Node's dns.Resolver (c-ares) pointed at the server", async (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = await runNode(RESOLVE, [server, 'test.sysmon-ts.example']);
    assert.deepEqual(JSON.parse(r.stdout), { err: null, addrs: ['10.1.2.3'] });
    const evs = await eventsOf(r.pid, 'c-ares event');
    assert.equal(evs.length, 1);
    checkCommon(evs[0]!, r.pid, NODE);
    assert.equal(evs[0]!.EventData.QueryName, 'test.sysmon-ts.example');
    assert.equal(evs[0]!.EventData.QueryResults, '::ffff:10.1.2.3;');
  });

  it('libc getaddrinfo (getent ahosts localhost, answered from /etc/hosts)', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = await runCommand('getent', ['ahostsv4', 'localhost']);
    assert.match(r.stdout, /127\.0\.0\.1/);
    const evs = await eventsOf(r.pid, 'getaddrinfo event');
    assert.equal(evs.length, 1);
    checkCommon(evs[0]!, r.pid, which('getent'));
    assert.equal(evs[0]!.EventData.QueryName, 'localhost');
    assert.equal(evs[0]!.EventData.QueryStatus, '0');
    assert.equal(evs[0]!.EventData.QueryResults, '::ffff:127.0.0.1;', 'one address although getaddrinfo lists it per socket type');
  });

  it('libc gethostbyname2 (getent hosts localhost)', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const r = await runCommand('getent', ['hosts', 'localhost']);
    assert.match(r.stdout, /localhost/);
    // getent asks for AF_INET6 first, then AF_INET when that fails: one event per call
    const evs = await eventsOf(r.pid, 'gethostbyname2 event');
    for (const e of evs) {
      checkCommon(e, r.pid, which('getent'));
      assert.equal(e.EventData.QueryName, 'localhost');
    }
    const ok = evs.filter((e) => e.EventData.QueryStatus === '0');
    assert.equal(ok.length, 1, 'the call that succeeded');
    assert.match(String(ok[0]!.EventData.QueryResults), /(::ffff:127\.0\.0\.1|::1);/);
  });

  it('libc getaddrinfo that goes to the DNS server: one event (libc), not one per A/AAAA datagram', async (t) => {
    if (!requirePrereq(t, missing)) return;
    // a private mount namespace whose /etc/resolv.conf names the test's server
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(resolv, `nameserver ${server}\noptions timeout:2 attempts:1\n`);
    const r = await runCommand('unshare', ['-m', 'sh', '-c', `mount --bind ${resolv} /etc/resolv.conf && exec getent ahosts test.sysmon-ts.example`]);
    assert.match(r.stdout, /10\.1\.2\.3/, `getent through ${server}: ${r.stdout}`);
    const evs = await eventsOf(r.pid, 'getaddrinfo over DNS event');
    assert.equal(evs.length, 1, `one event, got ${JSON.stringify(evs.map((e) => e.EventData))}`);
    checkCommon(evs[0]!, r.pid, which('getent'));
    assert.equal(evs[0]!.EventData.QueryName, 'test.sysmon-ts.example');
    assert.equal(evs[0]!.EventData.QueryStatus, '0');
    assert.equal(evs[0]!.EventData.QueryResults, '::ffff:10.1.2.3;');
  });

  it('a DNS query and answer over a port other than 53 give no event', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const q = query(0x4242, 'offport.sysmon-ts.example');
    const a = response(q, 0, [{ type: 1, rdata: Buffer.from([10, 9, 9, 9]) }]);
    const r = await runNode(OFF_PORT_EXCHANGE, [q.toString('hex'), a.toString('hex')]);
    assert.deepEqual(JSON.parse(r.stdout), { got: a.length });
    // a later query's event proves the agent read past the exchange
    const later = await runCommand('dig', [`@${server}`, '+short', 'test.sysmon-ts.example']);
    await eventsOf(later.pid, 'later dig event');
    const stray = agent.events().filter((e) => e.EventID === 22 && (e.EventData.ProcessId === r.pid || e.EventData.QueryName === 'offport.sysmon-ts.example'));
    assert.deepEqual(stray, [], 'no event 22 for the off-port exchange');
  });
});

describe('event 22 helpers', () => {
  it('parses questions and answers, compression included', () => {
    const q = query(7, 'www.example.org');
    const cname = Buffer.from([3, 0x63, 0x64, 0x6e, 0xc0, 16]); // "cdn" + pointer to "example.org"
    const m = parseDnsMessage(
      response(q, 0, [
        { type: 5, rdata: cname },
        { type: 1, rdata: Buffer.from([192, 0, 2, 1]) },
        { type: 28, rdata: Buffer.from('20010db8000000000000000000000001', 'hex') },
      ]),
    );
    assert.equal(m.id, 7);
    assert.equal(m.response, true);
    assert.equal(m.qname, 'www.example.org');
    assert.equal(m.qtype, 1);
    assert.equal(formatResults(m.answers), 'type:  5 cdn.example.org;::ffff:192.0.2.1;2001:db8::1;');
    assert.equal(wireStatus(m), '0');
    // cut in the middle of the last answer: the earlier ones are kept
    const cut = response(q, 0, [
      { type: 1, rdata: Buffer.from([192, 0, 2, 1]) },
      { type: 1, rdata: Buffer.from([192, 0, 2, 2]) },
    ]);
    assert.equal(formatResults(parseDnsMessage(cut.subarray(0, cut.length - 3)).answers), '::ffff:192.0.2.1;');
    assert.throws(() => parseDnsMessage(Buffer.alloc(5)));
  });

  it('maps statuses to Windows codes', () => {
    const q = query(1, 'a.example');
    assert.equal(wireStatus(parseDnsMessage(response(q, 3, []))), '9003');
    assert.equal(wireStatus(parseDnsMessage(response(q, 2, []))), '9002');
    assert.equal(wireStatus(parseDnsMessage(response(q, 0, []))), '9501');
    assert.equal(libcStatus(3, 0), '0');
    assert.equal(libcStatus(3, -2), '9003');
    assert.equal(libcStatus(3, -5), '9501');
    assert.equal(libcStatus(3, -3), '1460');
    assert.equal(libcStatus(3, -11), '-11');
    assert.equal(libcStatus(4, -1), '9003');
  });

  it('formats libc results: canonical name when it differs, distinct addresses', () => {
    const v4 = { family: 2, addr: Buffer.from([10, 0, 0, 1]) };
    const v6 = { family: 10, addr: Buffer.from('fd000000000000000000000000000004', 'hex') };
    assert.equal(libcResults({ name: 'www', canon: 'web.example', addrs: [v4, v4, v6] }), 'type:  5 web.example;::ffff:10.0.0.1;fd00::4;');
    assert.equal(libcResults({ name: 'Web.Example', canon: 'web.example', addrs: [v4] }), '::ffff:10.0.0.1;');
    assert.equal(libcResults({ name: 'x', canon: '', addrs: [] }), '-');
  });
});
