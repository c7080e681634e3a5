// Kernel process records -> Sysmon events 1 (ProcessCreate) and 5 (ProcessTerminate),
// filled as Sysmon for Linux fills them where Linux has no equivalent (IntegrityLevel
// "no level", PE version fields "-").
import type { ProcessInfo, ProcessTable } from '../../events/processes.js';
import type { HandlersFor } from '../descriptor.js';
import { execExeBytes, readExecCgroupId, readExecKeptFacts, type PROCESS_DECODERS } from './records.js';
import { utcTime } from '../../events/time.js';
import { NULL_GUID } from '../../events/guid.js';
import { hashes } from '../../events/hashes.js';
import { containers } from '../../events/containers.js';
import { earlyFilter } from '../../events/early-filter.js';
import { userDev } from '../file/records.js';
import { RecordFlag } from '../../kernel/records/common.js';
import { conventions } from '../../events/conventions.js';
import { builder, type Built } from '../../events/build.js';
import { processWatch } from '../../events/process-watch.js';
import { ImageHashMemo } from './image-hash-memo.js';

const imageHashes = new ImageHashMemo();

const UNSET = 0xffffffff;

/**
 * `timeNs` is the exec (TimeCreated); `startNs` the task's start time, which Sysmon for Linux
 * writes as UtcTime (task->start_time, set at fork), as Windows Sysmon writes the creation time.
 */
const build1 = builder(1);
const build5 = builder(5);

export function processCreate(
  table: ProcessTable,
  proc: ProcessInfo,
  parent: ProcessInfo | undefined,
  parentGuid: string,
  timeNs: bigint,
  startNs: bigint = timeNs,
): Built<1> {
  const linux = conventions.provider === 'linux';
  const logonUid = proc.loginUid === UNSET ? proc.uid : proc.loginUid;
  return build1(timeNs, proc, {
    UtcTime: utcTime(startNs),
    FileVersion: '-',
    Description: '-',
    Product: '-',
    Company: '-',
    OriginalFileName: '-',
    CommandLine: proc.commandLine,
    CurrentDirectory: proc.cwd,
    LogonGuid: table.logonGuid(proc),
    // Sysmon for Linux: the real uid's low 16 bits in decimal (LogonIdToString's Linux branch);
    // --windows: a hex logon id, the audit login uid standing in for Windows' LUID
    LogonId: linux ? String(proc.uid & 0xffff) : `0x${logonUid.toString(16)}`,
    // the audit session; unset (daemons): 4294967295 as SFL prints it (%u), 0 (services) for Windows
    TerminalSessionId: proc.session === UNSET ? (linux ? UNSET : 0) : proc.session,
    IntegrityLevel: 'no level',
    Hashes: '-',
    ParentProcessGuid: proc.ppid === 0 ? NULL_GUID : parentGuid,
    ParentProcessId: proc.ppid,
    ParentImage: parent?.image ?? '-',
    ParentCommandLine: parent?.commandLine ?? '-',
    ParentUser: parent?.user ?? '-',
  });
}

export function processTerminate(proc: ProcessInfo, timeNs: bigint): Built<5> {
  return build5(timeNs, proc, { UtcTime: utcTime(timeNs) });
}

export const PROCESS_HANDLERS: HandlersFor<typeof PROCESS_DECODERS> = {
  1: (r, ctx, out) => {
    const parent = ctx.processes.parentOf(r.ids);
    const proc = ctx.processes.onExec(r);
    const watcher = processWatch.watcher;
    if (watcher !== null) watcher.onExec(proc, r.bootNs, r.startBootNs, execExeBytes(ctx.record), r.ids.uid);
    const ev = processCreate(ctx.processes, proc, parent, ctx.processes.parentGuid(r.ids, parent), ctx.timeNs(r.bootNs), ctx.timeNs(r.startBootNs));
    // the process state above is kept either way; a dropped event costs no hash, no /proc read
    if (earlyFilter.drops(ev)) return;
    containers.onExec(
      proc.pid,
      proc.ticks,
      readExecCgroupId(ctx.record),
      ctx.processes,
      r.flags & RecordFlag.ParentCgroups ? { pid: r.ids.ppid, ticks: r.ids.parentStartTicks } : undefined,
    );
    out.push(ev);
    // HashAlgorithms set: the image's hashes, off the main thread, bounded (src/events/hashes.ts);
    // a cached one (by the inode the kernel ran) is filled at once and holds nothing back
    if (hashes.enabled) {
      const memo = imageHashes.get(ctx.record, hashes.generation);
      if (memo !== undefined) {
        ev.data.Hashes = memo;
        return;
      }
      const f = readExecKeptFacts(ctx.record).exeFile;
      const known = { dev: userDev(f.dev), ino: f.ino, size: f.size, mtimeNs: f.mtimeNs };
      const cached = hashes.lookup(known);
      if (cached !== undefined) {
        ev.data.Hashes = cached;
        imageHashes.set(ctx.record, hashes.generation, cached);
      } else
        ctx.defer(
          hashes.hashFile(proc.image, known).then((h) => {
            ev.data.Hashes = h;
          }),
        );
    }
  },
  2: (r, ctx) => {
    ctx.processes.onFork(r);
  },
  3: (r, ctx, out) => {
    processWatch.watcher?.onExit(r.tgid);
    out.push(processTerminate(ctx.processes.onExit(r, Date.now()), ctx.timeNs(r.bootNs)));
  },
};
