// Windows process state: what each live process is, fed by the driver's records (200 create,
// 3 exit, 201 image loads) since there is no /proc to read. A process is identified by pid and
// its start key (PsGetProcessStartKey), which never repeats within a boot.
//
// ProcessGuid, as Sysmon builds it (SysmonCommon GenerateUniqueId;
// docs/events.md): Data1 = a machine word, Data2/3 = the process start time in Unix
// seconds, Data4 = the start key's little-endian bytes. Sysmon takes its machine word from the
// machine SID; we take it from the machine GUID (MachineGuid, a per-install value any
// service can read), so GUIDs are unique per machine but their first group differs from
// what Sysmon would print on the same machine.
import { formatGuid, NULL_GUID } from '../../events/guid.js';
import type { WinProcessRecord } from './records.js';
import type { ProcessIds } from '../../kernel/records/common.js';
import { filetimeToUnixNs, integrityLevel, type LoadedModule } from './formats.js';
import { machineWord, type WindowsHostFacts } from './host-facts.js';

export interface WindowsProcess {
  pid: number;
  ppid: number;
  startKey: bigint;
  guid: string;
  /** DOS path */
  image: string;
  commandLine: string;
  user: string;
  logonId: bigint;
  logonGuid: string;
  session: number;
  integrityLevel: string;
  /** images mapped into it (event 7), for CallTrace and StartModule */
  modules: LoadedModule[];
  exitedAtMs?: number;
}

/** a record's boot ns -> Unix ns */
export type Clock = (bootNs: bigint) => bigint;

const KEEP_EXITED_MS = 30_000;
/** a process that maps more images than this is unusual; older ones are dropped first */
const MAX_MODULES = 2048;

export class WindowsProcessTable {
  private readonly byPid = new Map<number, WindowsProcess>();
  private readonly machine: number;

  constructor(private readonly facts: WindowsHostFacts) {
    this.machine = machineWord(facts.machineGuid);
  }

  get size(): number {
    return this.byPid.size;
  }

  /** The process `pid`, if it is the one that started with `startKey` (any when 0n is given). */
  get(pid: number, startKey = 0n): WindowsProcess | undefined {
    const p = this.byPid.get(pid);
    return p && (startKey === 0n || p.startKey === startKey) ? p : undefined;
  }

  guid(startUnixNs: bigint, startKey: bigint): string {
    return formatGuid(this.machine, Number(startUnixNs / 1_000_000_000n), startKey);
  }

  logonGuid(logonId: bigint): string {
    // Sysmon puts the logon session's start time in Data2/3; the driver does not send it
    return formatGuid(this.machine, 0, logonId);
  }

  /**
   * The GUID of a process known by its ids (gone, or started before the agent): its start as
   * boot ns goes through `clock` (the capture's boot ns -> Unix ns).
   */
  guidOf(pid: number, startBootNs: bigint, startKey: bigint, clock: Clock): string {
    if (pid === 0) return NULL_GUID;
    return this.get(pid, startKey)?.guid ?? this.guid(clock(startBootNs), startKey);
  }

  parentGuid(ids: ProcessIds, clock: Clock): string {
    return this.guidOf(ids.ppid, ids.parentStartBootNs, ids.parentEndCode, clock);
  }

  /** A new process (record 200: tgid is the new process); replaces a gone one with its pid. */
  onCreate(r: WinProcessRecord, clock: Clock): WindowsProcess {
    // the creation time Sysmon uses is the FILETIME; boot ns only when the driver had none
    const startNs = r.createTime ? filetimeToUnixNs(r.createTime) : clock(r.ids.startBootNs);
    const p: WindowsProcess = {
      pid: r.tgid,
      ppid: r.ids.ppid,
      startKey: r.ids.endCode,
      guid: this.guid(startNs, r.ids.endCode),
      image: this.facts.devices.dosPath(r.image),
      commandLine: r.commandLine,
      user: r.userSid ? this.facts.accountName(r.userSid) : '-',
      logonId: r.logonId,
      logonGuid: this.logonGuid(r.logonId),
      session: r.ids.sessionid,
      integrityLevel: integrityLevel(r.integrityRid),
      modules: [],
    };
    this.byPid.set(p.pid, p);
    return p;
  }

  /** The exiting process (described from its ids when never seen); kept a while for late records. */
  onExit(pid: number, ids: ProcessIds, nowMs: number, clock: Clock): WindowsProcess {
    let p = this.get(pid, ids.endCode);
    if (!p) {
      p = {
        pid,
        ppid: ids.ppid,
        startKey: ids.endCode,
        guid: this.guid(clock(ids.startBootNs), ids.endCode),
        image: '-',
        commandLine: '-',
        user: '-',
        logonId: 0n,
        logonGuid: NULL_GUID,
        session: ids.sessionid,
        integrityLevel: '-',
        modules: [],
      };
      this.byPid.set(pid, p);
    }
    p.exitedAtMs = nowMs;
    return p;
  }

  addModule(pid: number, startKey: bigint, m: LoadedModule): void {
    const p = this.get(pid, startKey);
    if (!p) return;
    if (p.modules.length >= MAX_MODULES) p.modules.splice(0, MAX_MODULES >> 2);
    p.modules.push(m);
  }

  sweep(nowMs: number): void {
    for (const [pid, p] of this.byPid) {
      if (p.exitedAtMs !== undefined && nowMs - p.exitedAtMs > KEEP_EXITED_MS) this.byPid.delete(pid);
    }
  }
}
