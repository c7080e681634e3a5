// The real agent with its journal on a full file system (a 64 MiB tmpfs, filled up by a
// filler file) under a file-creation storm: events wait in memory up to the journal's
// high-water mark, then capture pauses and the kernel counts what it drops; memory stays flat
// however long the storm goes on. When space returns: every loss is reported as event 255
// (RingDrops, whose counts add up to the driver's counter), the outage itself is reported
// (JournalWriteError), what was journaled before is intact, and the JSONL sink (on another
// file system) resumes with contiguous EventRecordIDs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { readJournal } from '../../src/journal/index.js';
import { AgentProcess, type JsonEvent } from '../helpers/agent.js';
import { missingKernelPrereq, requirePrereq } from '../helpers/prereq.js';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** writes 64 KiB blocks to `path` until the file system says ENOSPC */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 0x5a);
  try {
    for (;;) {
      try {
        writeSync(fd, block);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') return;
        throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** creates (and removes) `count` files whose names carry the marker: one FileCreate each */
function storm(dir: string, marker: string, from: number, count: number): void {
  for (let i = from; i < from + count; i++) {
    const p = join(dir, `${marker}-${i}`);
    closeSync(openSync(p, 'wx'));
    unlinkSync(p);
  }
}

it('full disk under the journal: bounded memory, drops counted and reported, nothing journaled damaged, sinks resume', { timeout: 300_000 }, async (t) => {
  if (!requirePrereq(t, missingKernelPrereq())) return;
  const marker = `fulldisk${process.hrtime.bigint()}`;
  const dir = mkdtempSync(join(tmpdir(), 'sysmon-ts-fulldisk-'));
  const config = join(dir, 'config.xml');
  writeFileSync(
    config,
    `<Sysmon schemaversion="4.90"><EventFiltering>
    <RuleGroup name="" groupRelation="or"><FileCreate onmatch="include"><TargetFilename condition="contains">${marker}</TargetFilename></FileCreate></RuleGroup>
    <RuleGroup name="" groupRelation="or"><ProcessCreate onmatch="include"><CommandLine condition="contains">${marker}</CommandLine></ProcessCreate></RuleGroup>
  </EventFiltering></Sysmon>\n`,
    { mode: 0o600 },
  );
  // a 1 MiB ring: once the journal's backlog is full, the kernel drops (and counts) at once
  const agent = new AgentProcess(['-c', config, '--ring-mb', '1'], dir);
  const journal = agent.journal;
  mkdirSync(journal, { mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', journal]);
  const work = join(dir, 'work');
  mkdirSync(work);
  process.env.SYSMON_TS_STATS_FILE_MS = '300';
  const filler = join(journal, 'filler');
  try {
    await agent.start();
    const pid = agent.child.pid!;
    storm(work, marker, 0, 100);
    await agent.waitFor((e) => e.EventID === 11 && String(e.EventData.TargetFilename).includes(`${marker}-99`), 20_000, 'storm reaches the sink');
    const baseline = rssMiB(pid);

    fillUp(filler);
    // storm in rounds of 40,000 files until capture has paused (the kernel starts dropping),
    // then two more rounds: memory must not grow any further
    // paused = the journal's backlog is full, so the ring is no longer read (kernel drops alone can
    // also come from a burst that outruns a 1 MiB ring while the backlog still grows)
    const agentStats = () => JSON.parse(readFileSync(join(dir, 'run', 'stats.json'), 'utf8')) as { kernelDrops: string; capturePaused?: boolean };
    let total = 0;
    const rss: number[] = [];
    let pausedAt = -1;
    for (let round = 0; round < 10 && (pausedAt < 0 || round < pausedAt + 3); round++) {
      storm(work, marker, 100 + total, 40_000);
      total += 40_000;
      await new Promise((r) => setTimeout(r, 1500)); // let the agent read, journal (fail), pause
      rss.push(rssMiB(pid));
      const now = agentStats();
      if (pausedAt < 0 && now.capturePaused === true && Number(now.kernelDrops) > 0) pausedAt = round;
    }
    assert.ok(pausedAt >= 0, 'capture paused once the backlog was full (the kernel counted drops)');
    const deliveredWhileFull = agent.events().filter((e) => e.EventID === 11).length;
    assert.ok(deliveredWhileFull < 100 + total, 'sinks only get journaled events: most wait');
    const afterPause = rss.slice(pausedAt);
    const rssText = `${rss.map((x) => x.toFixed(0)).join(' -> ')} MiB (baseline ${baseline.toFixed(0)}, paused after round ${pausedAt})`;
    // bounded: the journal's backlog stops at its high-water mark (32 MiB encoded); what comes
    // after is dropped (and counted) in the kernel, so more storm adds nothing
    assert.ok(Math.max(...afterPause) - Math.min(...afterPause) < 16, `RSS flat once capture paused: ${rssText}`);
    assert.ok(Math.max(...rss) - baseline < 400, `RSS bounded: ${rssText}`);

    rmSync(filler); // space returns
    const [outage] = await agent.waitFor((e) => e.EventID === 255 && e.EventData.ID === 'JournalWriteError', 60_000, 'the outage is reported');
    assert.match(String(outage!.EventData.Description), /ENOSPC/);
    await agent.waitFor((e) => e.EventID === 255 && e.EventData.ID === 'RingDrops', 30_000, 'kernel drops are reported');
    // let everything that waited reach the sink, then stop (which flushes)
    const runDir = join(agent.dir, 'run');
    const stats = () => JSON.parse(readFileSync(join(runDir, 'stats.json'), 'utf8')) as { kernelDrops: string; journal: { lastId: number } };
    const deadline = Date.now() + 120_000;
    for (;;) {
      const s = stats();
      const last = agent.events().at(-1)?.EventRecordID ?? 0;
      if (last >= s.journal.lastId && s.journal.lastId > 0) break;
      assert.ok(Date.now() < deadline, `sink catches up: ${last} of ${s.journal.lastId}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const kernelDrops = Number(stats().kernelDrops);
    assert.equal(await agent.stop(), 0, agent.stderr);

    const evs: JsonEvent[] = agent.events();
    const ids = evs.map((e) => e.EventRecordID);
    assert.deepEqual(
      ids,
      Array.from({ length: ids.length }, (_, i) => i + 1),
      'the sink has every journaled event once, in order',
    );
    const drops = evs.filter((e) => e.EventID === 255 && e.EventData.ID === 'RingDrops').map((e) => String(e.EventData.Description));
    const reported = drops.reduce((s, d) => s + Number(/^(\d+) kernel records lost/.exec(d)![1]), 0);
    const sinceStart = Number(/\((\d+) since start\)/.exec(drops.at(-1)!)![1]);
    assert.equal(reported, sinceStart, 'the RingDrops events add up to the running total');
    assert.ok(reported >= kernelDrops, `every drop the driver counted is reported (${reported} reported, ${kernelDrops} counted)`);
    const creates = new Set(evs.filter((e) => e.EventID === 11).map((e) => String(e.EventData.TargetFilename)));
    assert.ok(
      creates.size + reported >= 100 + total,
      `each storm file is either delivered or counted as lost: ${creates.size} delivered + ${reported} dropped vs ${100 + total}`,
    );
    // nothing already journaled was damaged: the journal reads back whole (CRC32C per record)
    let n = 0;
    for await (const e of readJournal(journal)) {
      n++;
      assert.equal(e.recordId, n);
    }
    assert.equal(n, ids.length);
    t.diagnostic(`storm ${100 + total} files; delivered ${creates.size}; kernel drops ${reported}; RSS ${rssText}`);
  } finally {
    await agent.stop('SIGKILL');
    rmSync(filler, { force: true });
    try {
      execFileSync('umount', ['-l', journal]);
    } catch {
      /* not mounted */
    }
    rmSync(agent.dir, { recursive: true, force: true });
  }
});
