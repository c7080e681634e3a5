// Container context: which container (if any) a process runs in, from its cgroup path.
//
// Every container runtime puts a container's processes in a cgroup of its own whose name
// carries the container id; that is the one signal every runtime shares without talking to
// its API. Sources, in order:
//   1. cgroup migrations seen by the kernel (image.bpf.c container_attach, record 73): the
//      runtime moves the container's first process before it execs, so even a process that
//      has exited by the time its events are handled is known;
//   2. /proc/PID/cgroup, read once per process (cached by pid + start time);
//   3. the parent's context (a forked child starts in its parent's cgroup), for a process
//      that is already gone and never migrated.
// Host processes get null: their events carry no "Container" key.
import { readProcText } from './procfs.js';
import type { ContainerContext, SysmonEvent } from './event.js';
import type { ProcessInfo, ProcessTable } from './processes.js';
import { startTicks } from './guid.js';

export type { ContainerContext } from './event.js';

/** What a cgroup migration record (the image family's, record 73) tells: declared here, so this
 * module depends on no family. */
export interface CgroupMove {
  readonly tgid: number;
  /** the destination cgroup's id (kernfs ino) */
  readonly cgroupId: bigint;
  /** the moved process's start (boot ns), to tell a reused pid apart */
  readonly startBootNs: bigint;
  /** 0: the cgroup v2 hierarchy */
  readonly hierarchyId: number;
  /** the destination's path inside its hierarchy */
  readonly path: string;
}

const HEX64 = '[0-9a-f]{64}';
/** name of one cgroup path component -> runtime and id; first match from the leaf up wins */
const PATTERNS: { re: RegExp; runtime: string }[] = [
  { re: new RegExp(`^docker-(${HEX64})\\.scope$`), runtime: 'docker' },
  { re: new RegExp(`^cri-containerd-(${HEX64})\\.scope$`), runtime: 'containerd' },
  { re: new RegExp(`^crio-(${HEX64})\\.scope$`), runtime: 'cri-o' },
  { re: new RegExp(`^libpod-(${HEX64})\\.scope$`), runtime: 'podman' },
  { re: /^machine-(.+)\.scope$/, runtime: 'systemd-nspawn' },
  { re: /^lxc\.payload\.(.+)$/, runtime: 'lxc' },
];
/** cgroupfs drivers: /docker/<id>, /libpod_parent/libpod-<id>, /kubepods/.../<id> */
const PARENT_PATTERNS: { parent: RegExp; re: RegExp; runtime: string }[] = [
  { parent: /^docker$/, re: new RegExp(`^(${HEX64})$`), runtime: 'docker' },
  { parent: /^actions_job$/, re: new RegExp(`^(${HEX64})$`), runtime: 'docker' },
  { parent: /^lxc$/, re: /^(.+)$/, runtime: 'lxc' },
  { parent: /^(kubepods|pod[0-9a-f_-]+|besteffort|burstable)$/, re: new RegExp(`^(${HEX64})$`), runtime: 'kubernetes' },
];

/** systemd unit-name escaping: "\x2d" -> "-" */
function unescapeUnit(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** A cgroup path ("/system.slice/docker-<id>.scope/init") -> its container, or null. */
export function containerFromCgroup(path: string): ContainerContext | null {
  const parts = path.split('/').filter((p) => p !== '');
  for (let i = parts.length - 1; i >= 0; i--) {
    const name = parts[i]!;
    if (name.includes('-conmon-')) continue; // podman/cri-o monitor processes are not the container
    for (const p of PATTERNS) {
      const m = p.re.exec(name);
      if (m) return { id: p.runtime === 'systemd-nspawn' ? unescapeUnit(m[1]!) : m[1]!, runtime: p.runtime, cgroup: path };
    }
    const parent = parts[i - 1];
    if (parent === undefined) continue;
    for (const p of PARENT_PATTERNS) {
      const m = p.parent.test(parent) ? p.re.exec(name) : null;
      if (m) return { id: m[1]!, runtime: p.runtime, cgroup: path };
    }
  }
  return null;
}

/** /proc/PID/cgroup text -> the container: the v2 line ("0::/...") first, then v1 lines. */
export function containerFromProcCgroup(text: string): ContainerContext | null {
  const lines = text.split('\n').filter((l) => l !== '');
  const paths = lines.map((l) => ({ v2: l.startsWith('0::'), path: l.slice(l.indexOf(':', l.indexOf(':') + 1) + 1) }));
  paths.sort((a, b) => Number(b.v2) - Number(a.v2));
  for (const p of paths) {
    const c = containerFromCgroup(p.path);
    if (c) return c;
  }
  return null;
}

interface Entry {
  ticks: number;
  c: ContainerContext | null;
}

const MAX_ENTRIES = 65536;
const MAX_CGROUPS = 4096;

/** /proc/PID/cgroup of a host with the unified hierarchy only: the single line "0::/path". */
function isV2Only(text: string): boolean {
  const nl = text.indexOf('\n');
  return text.startsWith('0::') && (nl < 0 || nl === text.length - 1);
}

export class Containers {
  private readonly byPid = new Map<number, Entry>();
  private readonly byCgroupId = new Map<bigint, ContainerContext | null>();
  /** cgroup v2 id -> context, learned from /proc reads on a cgroup-v2-only host (onExec) */
  private readonly byExecCgroup = new Map<bigint, ContainerContext | null>();
  readonly stats = { procReads: 0, migrations: 0 };

  constructor(private readonly procRoot = '/proc') {}

  /** A cgroup migration seen by the kernel. */
  onAttach(r: CgroupMove): void {
    this.stats.migrations++;
    const c = containerFromCgroup(r.path);
    if (r.hierarchyId === 0) this.byCgroupId.set(r.cgroupId, c);
    // v2 decides; a v1 hierarchy only when it names a container (hybrid hosts, old docker)
    if (r.hierarchyId !== 0 && !c) return;
    this.set(r.tgid, { ticks: startTicks(r.startBootNs), c });
  }

  /**
   * A process that has just exec'd in the cgroup v2 `cgroupId` (exec records carry it): its
   * context is that of the last process read from /proc in the same cgroup, when that read
   * showed a cgroup-v2-only host (one "0::" line: the v2 cgroup alone decides). So /proc is
   * read once per cgroup instead of once per process. On hybrid hosts (v1 lines may name a
   * container the v2 path does not) only `sameCgroupsAs` (the exec record's ParentCgroups
   * flag) spares the read.
   */
  onExec(pid: number, ticks: number, cgroupId: bigint, processes: ProcessTable, sameCgroupsAs?: { pid: number; ticks: number }): void {
    // the kernel saw it in exactly its parent's cgroups (same css_set, every hierarchy): the
    // parent's context, kept current by migrations like any process's, is the child's
    if (sameCgroupsAs) {
      const parent = this.byPid.get(sameCgroupsAs.pid);
      if (parent && parent.ticks === sameCgroupsAs.ticks) {
        this.set(pid, { ticks, c: parent.c });
        return;
      }
    }
    const cached = this.byExecCgroup.get(cgroupId);
    if (cached !== undefined) {
      this.set(pid, { ticks, c: cached });
      return;
    }
    const text = this.readCgroup(pid);
    // gone already: it ran where its parent was (set here too, so nothing reads /proc again)
    const c = text === null ? this.parentContext(processes.get(pid), pid, processes, 0) : containerFromProcCgroup(text);
    this.set(pid, { ticks, c });
    if (text !== null && isV2Only(text)) {
      if (this.byExecCgroup.size >= MAX_CGROUPS) this.byExecCgroup.clear();
      this.byExecCgroup.set(cgroupId, c);
    }
  }

  /** The context of a cgroup v2 id carried by a record, when a migration into it was seen. */
  forCgroupId(id: bigint): ContainerContext | null | undefined {
    return this.byCgroupId.get(id);
  }

  /** The container of a process, or null for the host. */
  forPid(pid: number, processes: ProcessTable, depth = 0): ContainerContext | null {
    if (pid <= 0) return null;
    const info = processes.get(pid);
    const ticks = info?.ticks ?? -1;
    const known = this.byPid.get(pid);
    if (known && (known.ticks === ticks || ticks === -1)) return known.c;
    const text = this.readCgroup(pid);
    // gone: it started where its parent was
    const c = text === null ? this.parentContext(info, pid, processes, depth) : containerFromProcCgroup(text);
    this.set(pid, { ticks, c });
    return c;
  }

  private parentContext(info: ProcessInfo | undefined, pid: number, processes: ProcessTable, depth: number): ContainerContext | null {
    return info && depth < 8 && info.ppid !== pid ? this.forPid(info.ppid, processes, depth + 1) : null;
  }

  /** /proc/PID/cgroup, or null when the process is gone */
  private readCgroup(pid: number): string | null {
    this.stats.procReads++;
    try {
      return readProcText(`${this.procRoot}/${pid}/cgroup`);
    } catch {
      return null;
    }
  }

  /** the process `pid` started at `ticks` is gone for good */
  forget(pid: number, ticks: number): void {
    const e = this.byPid.get(pid);
    if (e !== undefined && e.ticks === ticks) this.byPid.delete(pid);
  }

  private set(pid: number, e: Entry): void {
    if (this.byPid.size >= MAX_ENTRIES && !this.byPid.has(pid)) {
      // drop the oldest quarter (insertion order)
      let n = MAX_ENTRIES >> 2;
      for (const k of this.byPid.keys()) {
        this.byPid.delete(k);
        if (--n === 0) break;
      }
    }
    this.byPid.set(pid, e);
  }

  /** Sets `container` on the events out[from..] of process `pid` (host: left absent). */
  annotate(out: SysmonEvent[], from: number, pid: number, processes: ProcessTable): void {
    if (out.length <= from) return;
    const c = this.forPid(pid, processes);
    if (!c) return;
    for (let i = from; i < out.length; i++) out[i]!.container ??= c;
  }
}

/** The agent's one resolver. */
export const containers = new Containers();
