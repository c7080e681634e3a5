// Per-process verdicts on the real kernel (driver/linux/verdict.bpf.h): a bash process connects
// over loopback (/dev/tcp) while the config drops its NetworkConnect events unless the port is
// a watched one. Once user space has written its verdict (LiveVerdicts, from the exec record
// this test reads off the ring) those connections never reach the ring and are counted as
// dropped in the kernel; connections to the watched port still arrive; an exec into an image
// the config keeps resets the verdict in the kernel at once; a verdict for another exec of the
// pid, or of an older config generation, is ignored; and a reload keep -> drop -> keep loses
// nothing the current config keeps.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/index.js';
import { compileKernelFilter, encodeTable } from '../../src/config/kernel-filter/index.js';
import { compileProcessVerdicts, verdictBits, type VerdictPlan } from '../../src/config/kernel-filter/process-verdicts.js';
import { LiveVerdicts } from '../../src/config/kernel-filter/live-verdicts.js';
import { decodeRecord } from '../../src/families/decode.js';
import { Driver } from '../../src/kernel/loader.js';
import type { KernelFilterMaps } from '../../src/kernel/kernel-filter-maps.js';
import { STRUCTS } from '../../src/kernel/generated/events-h.js';
import { DRIVER_OBJECTS } from '../../src/driver-objects.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

const missing = missingKernelPrereq();
const JUDGED = 1 << 14;
const GEN_ODD = 1 << 15;
const N = 40;

interface Exec {
  tgid: number;
  image: string;
  bootNs: bigint;
  startNs: bigint;
}
interface Conn {
  tgid: number;
  remotePort: number;
  initiated: boolean;
  flags: number;
}

function config(keepImageSuffix: string, keepPort: number): string {
  return `<Sysmon schemaversion="4.90"><EventFiltering>
  <RuleGroup groupRelation="or"><NetworkConnect onmatch="include">
    <Image condition="end with">${keepImageSuffix}</Image>
    <DestinationPort condition="is">${keepPort}</DestinationPort>
  </NetworkConnect></RuleGroup>
</EventFiltering></Sysmon>`;
}

/** A bash that runs each line it reads (connect loops, exec) and says "ok" after each. */
class Client {
  readonly child: ChildProcessWithoutNullStreams;
  private out = '';
  constructor(bash = '/usr/bin/bash') {
    this.child = spawn(bash, ['-c', 'while read -r line; do eval "$line"; echo ok; done'], { stdio: 'pipe' });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.out += d;
    });
  }
  get pid(): number {
    return this.child.pid!;
  }
  /** Runs `line` in the bash and waits for its "ok". */
  async run(line: string): Promise<void> {
    const want = (this.out.match(/ok\n/g)?.length ?? 0) + 1;
    this.child.stdin.write(`${line}\n`);
    const deadline = Date.now() + 15_000;
    while ((this.out.match(/ok\n/g)?.length ?? 0) < want) {
      if (Date.now() > deadline) throw new Error(`bash did not finish: ${line}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  connect(port: number, n = N): Promise<void> {
    return this.run(`for i in $(seq ${n}); do exec 3<>/dev/tcp/127.0.0.1/${port}; exec 3>&-; done`);
  }
  close(): void {
    this.child.kill('SIGKILL');
  }
}

describe('per-process verdicts in the kernel', () => {
  let driver: Driver;
  let maps: KernelFilterMaps;
  let dir: string;
  let keepBash: string;
  const servers: Server[] = [];
  let dropPort = 0;
  let keepPort = 0;
  const execs: Exec[] = [];
  const conns: Conn[] = [];
  let gen = 0;
  /** a bash started before the driver was loaded: the kernel never saw its exec */
  let early: Client;

  function drain(): void {
    driver.ring.drain((raw) => {
      const r = decodeRecord(raw);
      if (r.type === 1) execs.push({ tgid: r.tgid, image: r.exe, bootNs: r.bootNs, startNs: r.startBootNs });
      else if (r.type === 10 && r.protocol === 6) conns.push({ tgid: r.tgid, remotePort: r.remotePort, initiated: r.initiated, flags: r.flags });
    }, 1 << 20);
  }

  /** Installs a config (the next generation); returns its verdict plan. */
  function install(xml: string): VerdictPlan {
    const parsed = loadConfigText(xml).parsed;
    const plan = compileProcessVerdicts(parsed);
    maps.install(encodeTable(compileKernelFilter(parsed), ++gen, plan.ports));
    return plan;
  }

  /** The exec record of `pid` (of that image when given), waiting for it to reach the ring. */
  async function execOf(pid: number, image?: string): Promise<Exec> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      drain();
      const e = execs.filter((x) => x.tgid === pid && (image === undefined || x.image === image)).at(-1);
      if (e) return e;
      if (Date.now() > deadline) throw new Error(`no exec record for ${pid}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Connections of `pid` to `port` that reached the ring since the last call (initiated side). */
  function taken(pid: number, port: number): Conn[] {
    drain();
    const mine = conns.filter((c) => c.tgid === pid && c.initiated && c.remotePort === port);
    for (const c of mine) conns.splice(conns.indexOf(c), 1);
    return mine;
  }

  before(async () => {
    if (missing) return;
    early = new Client();
    await early.run('true');
    const obj = (name: string) => DRIVER_OBJECTS.find((o) => o.endsWith(`/${name}`))!;
    driver = new Driver({
      objects: [DRIVER_OBJECTS[0]!, obj('network.bpf.o')],
      wanted: (p) => p.startsWith('process_') || p === 'net_tcp_state',
    });
    maps = driver.kernelFilter()!;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-pv-')));
    keepBash = join(dir, 'kf-keep-bash');
    copyFileSync('/usr/bin/bash', keepBash);
    for (let i = 0; i < 2; i++) {
      const s = createServer((c) => c.destroy());
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
    }
    dropPort = (servers[0]!.address() as { port: number }).port;
    keepPort = (servers[1]!.address() as { port: number }).port;
  });

  after(() => {
    early?.close();
    for (const s of servers) s.close();
    if (driver) driver.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("drops a process's connections the config drops before the ring, keeps the watched port, and an exec into a kept image resets it", async (t) => {
    if (!requirePrereq(t, missing)) return;
    const plan = install(config('/kf-keep-bash', keepPort));
    const verdicts = new LiveVerdicts();
    verdicts.configure(plan, gen, maps);
    const c = new Client();
    try {
      const e = await execOf(c.pid);
      assert.equal(e.image, '/usr/bin/bash');
      // before any verdict: everything arrives, marked with the table's generation
      await c.connect(dropPort, 5);
      const first = taken(c.pid, dropPort);
      assert.equal(first.length, 5);
      for (const x of first) assert.equal(x.flags & (JUDGED | GEN_ODD), JUDGED | GEN_ODD, 'judged by generation 1');

      verdicts.onExec({ guid: '{t}', pid: c.pid, image: e.image, user: 'root' }, e.bootNs, e.startNs);
      verdicts.flush();
      assert.equal(verdicts.written, 1);
      const before = maps.read().processDropped;
      await c.connect(dropPort);
      await c.connect(keepPort);
      assert.equal(taken(c.pid, dropPort).length, 0, 'connections the config drops reached the ring');
      assert.equal(taken(c.pid, keepPort).length, N, 'connections to the watched port must arrive');
      assert.ok(maps.read().processDropped - before >= BigInt(N), 'counted as dropped in the kernel');

      // exec into an image the config keeps: no new verdict is written, the kernel forgets the old one
      c.child.stdin.write(`exec ${keepBash} -c 'while read -r line; do eval "$line"; echo ok; done'\n`);
      await execOf(c.pid, keepBash);
      await c.connect(dropPort);
      assert.equal(taken(c.pid, dropPort).length, N, "after exec the old image's verdict must not apply");
    } finally {
      c.close();
    }
  });

  it('ignores a verdict for another exec of the pid and one of an older generation; reload keep -> drop -> keep', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const dropPlan = install(config('/kf-keep-bash', keepPort));
    const c = new Client();
    try {
      const e = await execOf(c.pid);
      const facts = { guid: '{t}', pid: c.pid, image: e.image, user: 'root' };
      const bits = verdictBits(dropPlan, facts);
      assert.notEqual(bits, 0);
      // a verdict naming another exec (an earlier image of this pid): ignored
      const V = STRUCTS.pv_verdict;
      const raw = Buffer.alloc(V.size);
      raw.writeBigUInt64LE(e.bootNs - 1n, V.fields.exec_ns[0]);
      raw.writeBigUInt64LE(e.startNs, V.fields.start_ns[0]);
      raw.writeUInt32LE(gen, V.fields.gen[0]);
      raw.writeUInt32LE(bits, V.fields.bits[0]);
      assert.ok(maps.writeVerdict(c.pid, raw));
      await c.connect(dropPort);
      assert.equal(taken(c.pid, dropPort).length, N, 'a verdict for another exec applied');
      // ... and one for another process that had this pid (its start time)
      raw.writeBigUInt64LE(e.bootNs, V.fields.exec_ns[0]);
      raw.writeBigUInt64LE(e.startNs + 1n, V.fields.start_ns[0]);
      assert.ok(maps.writeVerdict(c.pid, raw));
      await c.connect(dropPort);
      assert.equal(taken(c.pid, dropPort).length, N, 'a verdict for another process applied');

      // keep -> drop -> keep, the process living on across the reloads
      const verdicts = new LiveVerdicts();
      const keep = () => config('bash', keepPort); // /usr/bin/bash ends with "bash": kept
      const keep1 = install(keep());
      verdicts.configure(keep1, gen, maps);
      verdicts.onExec(facts, e.bootNs, e.startNs);
      verdicts.flush();
      // (ImageLoad has no rules, so it is dropped for every process: that bit is written)
      assert.equal(verdictBits(keep1, facts) & 3, 0, 'no NetworkConnect verdict under the keep config');
      await c.connect(dropPort);
      assert.equal(taken(c.pid, dropPort).length, N);

      verdicts.configure(install(config('/kf-keep-bash', keepPort)), gen, maps);
      verdicts.flush();
      await c.connect(dropPort);
      assert.equal(taken(c.pid, dropPort).length, 0, "the drop config's verdict did not apply");

      // the next generation's tables alone (before its verdicts are written): the old verdict is void
      const keepPlan = install(keep());
      await c.connect(dropPort);
      const passed = taken(c.pid, dropPort);
      assert.equal(passed.length, N, "an older generation's verdict dropped under the new config");
      for (const x of passed) assert.equal(x.flags & (JUDGED | GEN_ODD), gen & 1 ? JUDGED | GEN_ODD : JUDGED, `judged by generation ${gen}`);
      verdicts.configure(keepPlan, gen, maps);
      verdicts.flush();
      await c.connect(dropPort);
      assert.equal(taken(c.pid, dropPort).length, N);
    } finally {
      c.close();
    }
  });

  it('a process running before the driver loaded (seeded from /proc) gets a verdict too, checked by its start tick', async (t) => {
    if (!requirePrereq(t, missing)) return;
    const plan = install(config('/kf-keep-bash', keepPort));
    const stat = readFileSync(`/proc/${early.pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const facts = { guid: '{t}', pid: early.pid, image: '/usr/bin/bash', user: 'root', ticks };
    // its start tick wrong (another process that had the pid): ignored
    const wrong = new LiveVerdicts();
    wrong.seed({ get: (pid) => (pid === early.pid ? { ...facts, ticks: ticks + 1 } : undefined) });
    wrong.configure(plan, gen, maps);
    wrong.flush();
    assert.equal(wrong.written, 1);
    await early.connect(dropPort);
    assert.equal(taken(early.pid, dropPort).length, N, 'a verdict for another start time applied');

    const verdicts = new LiveVerdicts();
    verdicts.seed({ get: (pid) => (pid === early.pid ? facts : undefined) });
    verdicts.configure(plan, gen, maps);
    verdicts.flush();
    assert.equal(verdicts.written, 1);
    const before = maps.read().processDropped;
    await early.connect(dropPort);
    assert.equal(taken(early.pid, dropPort).length, 0, "the seeded process's verdict did not apply");
    assert.ok(maps.read().processDropped - before >= BigInt(N));

    // a process the kernel saw exec: no seeded verdict (its exec record brings one)
    const c = new Client();
    try {
      await execOf(c.pid);
      const late = new LiveVerdicts();
      late.seed({ get: (pid) => (pid === c.pid ? { ...facts, pid, ticks: 0 } : undefined) });
      late.configure(plan, gen, maps);
      late.flush();
      assert.equal(late.written, 0, 'a seeded verdict for a process whose exec the kernel recorded');
    } finally {
      c.close();
    }
  });
});
