// Field values exactly as Sysmon for Linux writes them (issue 15, items 1-4), through the real
// normalizers; `--windows` (conventions 'windows') keeps Windows Sysmon's. The expected values
// are the ones shared/reference/sysmon-for-linux-differences.md measured on Sysmon for Linux.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { processCreate } from '../../src/events/process-events.js';
import { ProcessTable, type ProcessInfo } from '../../src/events/processes.js';
import { GuidMaker } from '../../src/events/guid.js';
import { UserNames, lookupUserName } from '../../src/events/host.js';
import { setConventions } from '../../src/events/conventions.js';
import { fileDelete } from '../../src/events/file-events.js';
import { networkConnect, PortNames, setNetworkOptions } from '../../src/events/network-events.js';
import { FileInfo, type FileRecord } from '../../src/kernel/records/file.js';
import type { NetConnectRecord } from '../../src/kernel/records/network.js';
import { utcTime } from '../../src/events/time.js';

after(() => setConventions('linux'));

const UNSET = 0xffffffff;
const MACHINE = 0x277d2fec;
const table = new ProcessTable(new GuidMaker(MACHINE, 1_700_000_000), new UserNames(() => null));

function proc(p: Partial<ProcessInfo>): ProcessInfo {
  return {
    pid: 4242, ppid: 1, guid: '{277d2fec-0000-0000-0000-000000000000}', ticks: 100, image: '/usr/bin/id', commandLine: 'id',
    cwd: '/', uid: 0, user: 'root', loginUid: UNSET, session: UNSET, ...p,
  };
}

function create(p: Partial<ProcessInfo>) {
  return processCreate(table, proc(p), undefined, '{00000000-0000-0000-0000-000000000000}', 2_000_000_000_000_000_000n, 1_999_999_999_000_000_000n).data;
}

test('LogonId: decimal real uid & 0xffff (0, 1000), not hex of the login uid; --windows keeps hex', () => {
  setConventions('linux');
  assert.equal(create({ uid: 0 }).LogonId, '0');
  assert.equal(create({ uid: 1000, loginUid: 1000, session: 79 }).LogonId, '1000');
  // a root shell opened with sudo by uid 1000: Sysmon for Linux writes the real uid, 0
  assert.equal(create({ uid: 0, loginUid: 1000, session: 79 }).LogonId, '0');
  assert.equal(create({ uid: 0x12345 }).LogonId, String(0x2345));
  setConventions('windows');
  assert.equal(create({ uid: 0, loginUid: 1000, session: 79 }).LogonId, '0x3e8');
  setConventions('linux');
});

test('LogonGuid as Sysmon for Linux builds it: machine id, logon time, uid, tty (no tty: zeros)', () => {
  setConventions('linux');
  assert.equal(create({ uid: 0, loginUid: 0, session: 79 }).LogonGuid, '{277d2fec-0000-0000-0000-000000000000}');
  assert.equal(create({ uid: 1000, loginUid: 1000, session: 79 }).LogonGuid, '{277d2fec-0000-0000-e803-000000000000}');
  setConventions('windows');
  assert.equal(create({ uid: 0, loginUid: 0, session: 79 }).LogonGuid, '{277d2fec-0000-0000-0000-00004f000000}');
  setConventions('linux');
});

test('TerminalSessionId: 4294967295 when the audit session is unset (daemons); --windows 0', () => {
  setConventions('linux');
  assert.equal(create({ session: UNSET }).TerminalSessionId, 4294967295);
  assert.equal(create({ session: 3 }).TerminalSessionId, 3);
  setConventions('windows');
  assert.equal(create({ session: UNSET }).TerminalSessionId, 0);
  setConventions('linux');
});

test('ProcessCreate UtcTime is the task start time, TimeCreated the exec', () => {
  const ev = processCreate(table, proc({}), undefined, '-', 2_000_000_000_000_000_000n, 1_999_999_999_000_000_000n);
  assert.equal(ev.data.UtcTime, utcTime(1_999_999_999_000_000_000n));
  assert.equal(ev.timeNs, 2_000_000_000_000_000_000n);
});

test('users: NSS getpwuid_r (what getent says), "-" when there is no entry, cached', () => {
  for (const uid of [0, 65534]) {
    const getent = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8' }).split(':')[0];
    assert.equal(lookupUserName(uid), getent);
  }
  // a uid no NSS source knows
  let free = 4242;
  while (spawnOk('getent', ['passwd', String(free)])) free++;
  assert.equal(lookupUserName(free), null);
  assert.equal(new UserNames().name(free), '-');
  let calls = 0;
  const names = new UserNames((uid) => { calls++; return uid === 7 ? 'svc' : null; });
  assert.equal(names.name(7), 'svc');
  assert.equal(names.name(7), 'svc');
  assert.equal(names.name(8), '-');
  assert.equal(names.name(8), '-');
  assert.equal(calls, 2, 'one NSS query per uid (negative answers too, for RETRY_MS)');
});

function spawnOk(cmd: string, args: string[]): boolean {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); return true; } catch { return false; }
}

const deleted: FileRecord = {
  type: 23, flags: 0, bootNs: 0n, tgid: 10, tid: 10, op: 0, info: FileInfo.Inode, mode: 0o100755, dev: 0, ino: 1n, size: 5n,
  nlink: 0, rdev: 0, mtimeNs: 0n, newTimeNs: 0n, path: '/tmp/x',
};

test('FileDelete (23): Hashes, IsExecutable and Archived "-" as Sysmon for Linux writes them', () => {
  setConventions('linux');
  const d = fileDelete(23, deleted, undefined, 1n, 'SHA256=AB').data;
  assert.equal(d.Hashes, '-');
  assert.equal(d.IsExecutable, '-');
  assert.equal(d.Archived, '-');
  // FileDeleteDetected (26), which SFL never writes, keeps what we know
  const d26 = fileDelete(26, deleted, undefined, 1n, 'SHA256=AB').data;
  assert.equal(d26.Hashes, 'SHA256=AB');
  assert.equal(d26.IsExecutable, true);
  setConventions('windows');
  const w = fileDelete(23, deleted, undefined, 1n, 'SHA256=AB').data;
  assert.deepEqual([w.Hashes, w.IsExecutable, w.Archived], ['SHA256=AB', true, 'false']);
  setConventions('linux');
});

const conn: NetConnectRecord = {
  type: 10, flags: 0, bootNs: 0n, tgid: 10, tid: 10, ownerStartBootNs: 0n, uid: 0, family: 2, protocol: 6, initiated: true,
  localPort: 40000, remotePort: 443, localAddr: Buffer.from([127, 0, 0, 1]), remoteAddr: Buffer.from([127, 0, 0, 1]),
};

test('NetworkConnect port names: "-" as Sysmon for Linux writes them; --windows names them', () => {
  setNetworkOptions({ dnsLookup: null });
  const d = networkConnect(conn, undefined, 1n).data;
  assert.equal(d.DestinationPortName, '-');
  assert.equal(d.SourcePortName, '-');
  setNetworkOptions({ dnsLookup: null }, 'windows');
  const named = new PortNames().name(443, 'tcp');
  assert.notEqual(named, '-', '/etc/services names 443');
  assert.equal(networkConnect(conn, undefined, 1n).data.DestinationPortName, named);
  setNetworkOptions({ dnsLookup: null });
});
