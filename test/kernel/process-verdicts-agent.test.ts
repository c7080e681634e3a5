// The running agent with per-process verdicts, end to end: a long-lived bash connects over
// loopback while the config is reloaded keep -> drop -> keep. Under the drop config its
// connections are dropped in the kernel (the agent's kernelFiltered count grows by them) and
// none is logged; under each keep config every one of them is logged, none lost to a verdict
// of the previous config.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AgentProcess, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

const missing = missingKernelPrereq();
const N = 50;

/**
 * NetworkConnect kept for images the Image filter matches or to port `watched`; bash's
 * ProcessCreate logged. The drop config keeps every image but /usr/bin/bash, so that only this
 * test's bash gets a verdict (the kernel's counter is machine-wide).
 */
function config(image: string, watched: number): string {
  return `<Sysmon schemaversion="4.90"><EventFiltering>
  <RuleGroup groupRelation="or"><ProcessCreate onmatch="include"><Image condition="end with">bash</Image></ProcessCreate></RuleGroup>
  <RuleGroup groupRelation="or"><NetworkConnect onmatch="include">
    ${image}
    <DestinationPort condition="is">${watched}</DestinationPort>
  </NetworkConnect></RuleGroup>
</EventFiltering></Sysmon>
`;
}
const KEEP = '<Image condition="end with">/bash</Image>';
const DROP = '<Image condition="is not">/usr/bin/bash</Image>';

describe('agent with per-process verdicts', () => {
  let agent: AgentProcess;
  let dir: string;
  let cfg: string;
  const servers: Server[] = [];
  let port = 0;
  let marker = 0;
  let bash: ChildProcessWithoutNullStreams;
  let out = '';

  async function run(line: string): Promise<void> {
    const want = (out.match(/ok\n/g)?.length ?? 0) + 1;
    bash.stdin.write(`${line}\n`);
    const deadline = Date.now() + 15_000;
    while ((out.match(/ok\n/g)?.length ?? 0) < want) {
      if (Date.now() > deadline) throw new Error(`bash did not finish: ${line}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const connects = (p: number) => (e: JsonEvent) =>
    e.EventID === 3 && e.EventData.ProcessId === bash.pid && e.EventData.DestinationPort === p && e.EventData.Initiated === true;

  /** The last count of records dropped by per-process verdicts the agent's stats lines reported (machine-wide). */
  function kernelFiltered(): bigint {
    let last = -1n;
    for (const line of agent.stderr.split('\n')) {
      if (!line.includes('"kernelFilteredByProcess"')) continue;
      last = BigInt((JSON.parse(line) as { agent: { kernelFilteredByProcess: string } }).agent.kernelFilteredByProcess);
    }
    return last;
  }
  async function nextStats(): Promise<bigint> {
    const seen = agent.stderr.split('"kernelFilteredByProcess"').length;
    while (agent.stderr.split('"kernelFilteredByProcess"').length <= seen) await new Promise((r) => setTimeout(r, 50));
    return kernelFiltered();
  }

  /** Reloads `xml` and waits for its event 16 (the n-th reload). */
  async function reload(xml: string, n: number): Promise<void> {
    writeFileSync(cfg, xml);
    agent.child.kill('SIGHUP');
    await agent.waitFor((e) => e.EventID === 16 && e.EventData.Configuration === cfg, 15_000, 'event 16 (reload)', n + 1);
    // the verdicts of the live processes are rewritten on the next turn of the agent's loop
    await new Promise((r) => setTimeout(r, 300));
  }

  /** N connections to `port`, then one to the watched port as a marker; returns how many were logged. */
  async function burst(round: number): Promise<number> {
    await run(`for i in $(seq ${N}); do exec 3<>/dev/tcp/127.0.0.1/${port}; exec 3>&-; done; exec 3<>/dev/tcp/127.0.0.1/${marker}; exec 3>&-`);
    await agent.waitFor(connects(marker), 15_000, `marker ${round}`, round);
    await new Promise((r) => setTimeout(r, 300));
    return agent.events().filter(connects(port)).length;
  }

  before(async () => {
    if (missing) return;
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'sysmon-ts-pva-')));
    for (let i = 0; i < 2; i++) {
      const s = createServer((c) => c.destroy());
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
    }
    port = (servers[0]!.address() as { port: number }).port;
    marker = (servers[1]!.address() as { port: number }).port;
    cfg = join(dir, 'config.xml');
    writeFileSync(cfg, config(KEEP, marker));
    agent = new AgentProcess(['-c', cfg], dir);
    agent.statsEverySeconds = 0.2;
    await agent.start();
  });

  after(async () => {
    bash?.kill('SIGKILL');
    for (const s of servers) s.close();
    if (agent) assert.equal(await agent.stop(), 0, agent.stderr);
  });

  it('reload keep -> drop -> keep: dropped in the kernel under the drop config, nothing lost under the keep ones', async (t) => {
    if (!requirePrereq(t, missing)) return;
    bash = spawn('/usr/bin/bash', ['-c', 'while read -r line; do eval "$line"; echo ok; done'], { stdio: 'pipe' });
    bash.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    await agent.waitFor((e) => e.EventID === 1 && e.EventData.ProcessId === bash.pid, 15_000, 'bash ProcessCreate');
    await new Promise((r) => setTimeout(r, 300));

    assert.equal(await burst(1), N, 'keep: every connection logged');
    await reload(config(DROP, marker), 1);
    const before = await nextStats();
    assert.equal(await burst(2), N, 'drop: none of the new connections logged');
    const filtered = (await nextStats()) - before;
    assert.ok(filtered >= BigInt(N), `dropped in the kernel: ${filtered} of ${N}`);
    await reload(config(KEEP, marker), 2);
    assert.equal(await burst(3), 2 * N, 'keep again: every new connection logged');
  });
});
