// Process state (libsinsp's job in falco): what each live process is, so events can name
// their process and its parent. Seeded from /proc at start, then kept current by the
// kernel's fork/exec/exit records. Exited processes stay a while: a child's exec often
// arrives after its parent is gone.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { type GuidMaker, guidKey } from './guid.js';
import type { UserNames } from './host.js';
import { decodeBytes } from '../kernel/text.js';
import { readProcText } from './procfs.js';
import { conventions } from './conventions.js';
import { UtmpLogons, ttyFromStat, ttyLine } from './utmp.js';

// What the table reads of the process family's exec, fork and exit records
// (src/families/process/records.ts), declared here: the table depends on no family.

/**
 * How a process record names its process and parent, in numbers (the record's u64 start times
 * and end_code are read as ticks and low halves, not BigInts: an exec is three such records).
 */
export interface TaskIds {
  readonly uid: number;
  readonly auid: number;
  readonly sessionid: number;
  readonly ppid: number;
  /** start time in USER_HZ ticks since boot, as /proc/PID/stat field 22 gives it */
  readonly startTicks: number;
  /** end_code's low 32 bits, signed: the high half of the ProcessGuid key (guidKey) */
  readonly key: number;
  readonly parentStartTicks: number;
  readonly parentKey: number;
}

/** A parent as a record names it: pid, start time and GUID key. */
export type ParentIds = Pick<TaskIds, 'ppid' | 'parentStartTicks' | 'parentKey'>;

interface ProcessRecordFacts {
  readonly tgid: number;
  readonly ids: TaskIds;
}
export interface ExecFacts extends ProcessRecordFacts {
  readonly exe: string;
  readonly cwd: string;
  readonly commandLine: string;
  readonly tty: number;
}
export type ForkFacts = ProcessRecordFacts;
export type ExitFacts = ProcessRecordFacts;

export interface ProcessInfo {
  pid: number;
  ppid: number;
  guid: string;
  /** start time in USER_HZ ticks since boot (pid + ticks identifies a process) */
  ticks: number;
  image: string;
  commandLine: string;
  cwd: string;
  uid: number;
  user: string;
  loginUid: number;
  session: number;
  /** controlling terminal (driver major << 20 | index), 0 without one */
  tty: number;
  /** low 32 bits of the mm's end_code when `guid` was made (the GUID key's high half) */
  key: number;
  exitedAtMs?: number | undefined;
}

/**
 * Every entry the table makes has this one shape (the same fields, in the same order, from
 * birth): an entry read from /proc with its fields in another order gave V8 a second hidden
 * class, so the first such parent of an exec storm deoptimized every process handler at once.
 */
function processInfo(
  pid: number,
  ppid: number,
  ticks: number,
  guid: string,
  key: number,
  image: string,
  commandLine: string,
  cwd: string,
  uid: number,
  user: string,
  loginUid: number,
  session: number,
  tty: number,
): ProcessInfo {
  return { pid, ppid, ticks, guid, key, image, commandLine, cwd, uid, user, loginUid, session, tty, exitedAtMs: undefined };
}

const UNSET = 0xffffffff;
/**
 * An exited process is kept for the records of the ring batch of its exit and the next two
 * (endBatch), then forgotten. The ring keeps the kernel's order, so its own late records (files
 * closed by exit_files, a racing thread's) come by then; a child that execs later names its new
 * parent, as the kernel reparents children right after the exit tracepoint (fill_ids reads
 * real_parent at exec). Keeping every exit for 5 s made each entry outlive two scavenges under
 * an exec storm, so V8 promoted them all and collected them in old space (bench/RESULTS.md,
 * 2026-12-05: the agent's GC threads cost as much as its main thread).
 */
export const BRIEF_BATCHES = 2;
/** without endBatch calls (a replay, a test), the brief generation turns over at this size */
export const MAX_BRIEF = 4096;

export function commandLineOf(argv: readonly string[]): string {
  // Sysmon for Linux joins argv with single spaces; detection rules are written for that.
  return argv.join(' ');
}

/** how long a pid /proc did not have is taken as gone (lookup) */
const ABSENT_RECHECK_MS = 1_000;
const MAX_ABSENT = 4096;

export class ProcessTable {
  private readonly byPid = new Map<number, ProcessInfo>();
  /** pids /proc did not have, and when (lookup) */
  private readonly absent = new Map<number, number>();
  /** the exited processes, by the ring batch of their exit (newest last): see BRIEF_BATCHES */
  private brief: ProcessInfo[][] = Array.from({ length: BRIEF_BATCHES + 1 }, () => []);
  /** called when an exited process leaves the table (the containers cache forgets it too) */
  onForget: ((old: ProcessInfo) => void) | null = null;
  /** an exited process leaves the table, unless its pid names a newer process by now */
  private readonly forget = (old: ProcessInfo): void => {
    if (this.byPid.get(old.pid) !== old) return;
    this.byPid.delete(old.pid);
    this.onForget?.(old);
  };

  /** The agent read one batch from the ring: exits of BRIEF_BATCHES batches ago are forgotten. */
  endBatch(): void {
    const gone = this.brief.shift()!;
    for (const old of gone) this.forget(old);
    gone.length = 0;
    this.brief.push(gone);
  }

  constructor(
    private readonly guids: GuidMaker,
    private readonly users: UserNames,
    private readonly logons = new UtmpLogons(),
  ) {}

  get size(): number {
    return this.byPid.size;
  }

  get(pid: number): ProcessInfo | undefined {
    return this.byPid.get(pid);
  }

  /** Reads every process in /proc; returns how many were found. */
  seedFromProc(): number {
    let n = 0;
    for (const name of readdirSync('/proc')) {
      const pid = Number(name);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      const info = this.readProc(pid);
      if (info) {
        this.byPid.set(pid, info);
        n++;
      }
    }
    return n;
  }

  /**
   * The table's entry for `pid`, else /proc's (kept in the table, like a seeded process), else
   * undefined. A pid /proc does not have is not read again for ABSENT_RECHECK_MS: the records
   * of a process the table missed (it ended before a seed, or its fork was lost to a full ring)
   * would otherwise cost 7 /proc reads each (a replay of another boot's records: 3% of its CPU).
   */
  lookup(pid: number): ProcessInfo | undefined {
    const known = this.byPid.get(pid);
    if (known !== undefined) return known;
    const now = Date.now();
    const absentAt = this.absent.get(pid);
    if (absentAt !== undefined && now - absentAt < ABSENT_RECHECK_MS) return undefined;
    const fresh = this.readProc(pid);
    if (fresh === undefined) {
      if (this.absent.size >= MAX_ABSENT) this.absent.clear();
      this.absent.set(pid, now);
      return undefined;
    }
    this.absent.delete(pid);
    this.byPid.set(pid, fresh);
    return fresh;
  }

  /** A process we have not seen, read from /proc (undefined if it is gone). */
  readProc(pid: number): ProcessInfo | undefined {
    try {
      const stat = readProcText(`/proc/${pid}/stat`);
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      // f[0] is field 3 (state): field N is f[N - 3]
      const ppid = Number(f[1]);
      const tty = ttyFromStat(Number(f[4]));
      const ticks = Number(f[19]);
      const key = guidKey(BigInt(f[24] ?? '0'));
      const status = readProcText(`/proc/${pid}/status`);
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const loginUid = readNumber(`/proc/${pid}/loginuid`);
      const session = readNumber(`/proc/${pid}/sessionid`);
      const argv = readArgv(pid);
      const image = readLink(`/proc/${pid}/exe`);
      return processInfo(
        pid,
        ppid,
        ticks,
        this.guids.processByKey(pid, ticks, key),
        key,
        image ?? '-',
        argv.length ? commandLineOf(argv) : `[${comm}]`,
        readLink(`/proc/${pid}/cwd`) ?? '-',
        uid,
        this.users.name(uid),
        loginUid,
        session,
        tty,
      );
    } catch {
      return undefined;
    }
  }

  /** The parent as the kernel described it; falls back to /proc, then to what the ids say. */
  parentOf(ids: ParentIds): ProcessInfo | undefined {
    const ticks = ids.parentStartTicks;
    const known = this.byPid.get(ids.ppid);
    if (known && known.ticks === ticks) return known;
    const fresh = this.readProc(ids.ppid);
    if (fresh && fresh.ticks === ticks) {
      this.byPid.set(fresh.pid, fresh);
      return fresh;
    }
    return undefined;
  }

  /**
   * The parent's ProcessGuid as the record names it. `parent`: what parentOf(ids) found (same
   * pid and start time); its GUID is reused when it was made from the same end_code (the parent
   * has not exec'd since), so a known parent costs no GUID string per exec.
   */
  parentGuid(ids: ParentIds, parent?: ProcessInfo): string {
    const key = ids.parentKey;
    const ticks = ids.parentStartTicks;
    if (parent !== undefined && parent.key === key && parent.pid === ids.ppid && parent.ticks === ticks) return parent.guid;
    return this.guids.processByKey(ids.ppid, ticks, key);
  }

  onExec(rec: ExecFacts): ProcessInfo {
    const ids = rec.ids;
    const ticks = ids.startTicks;
    const key = ids.key;
    const info = processInfo(
      rec.tgid,
      ids.ppid,
      ticks,
      this.guids.processByKey(rec.tgid, ticks, key),
      key,
      // a memfd (fileless exec) has no path, only a name: render it as /proc/PID/exe does
      rec.exe.startsWith('/memfd:') ? `${rec.exe} (deleted)` : rec.exe,
      rec.commandLine,
      rec.cwd,
      ids.uid,
      this.users.name(ids.uid),
      ids.auid,
      ids.sessionid,
      rec.tty,
    );
    this.byPid.set(info.pid, info);
    return info;
  }

  /** A forked child runs its parent's image until it execs. */
  onFork(rec: ForkFacts): ProcessInfo {
    const ids = rec.ids;
    const parent = this.parentOf(ids);
    const ticks = ids.startTicks;
    const key = ids.key;
    const info = processInfo(
      rec.tgid,
      ids.ppid,
      ticks,
      this.guids.processByKey(rec.tgid, ticks, key),
      key,
      parent?.image ?? '-',
      parent?.commandLine ?? '-',
      parent?.cwd ?? '-',
      ids.uid,
      this.users.name(ids.uid),
      ids.auid,
      ids.sessionid,
      parent?.tty ?? 0,
    );
    this.byPid.set(info.pid, info);
    return info;
  }

  /** The exiting process; it stays queryable for a while for late children. */
  onExit(rec: ExitFacts, nowMs: number): ProcessInfo {
    const ticks = rec.ids.startTicks;
    let info = this.byPid.get(rec.tgid);
    if (!info || info.ticks !== ticks) {
      // never seen (started and ended between two seeds): describe it as best we can
      const key = rec.ids.key;
      info = processInfo(
        rec.tgid,
        rec.ids.ppid,
        ticks,
        this.guids.processByKey(rec.tgid, ticks, key),
        key,
        '-',
        '-',
        '-',
        rec.ids.uid,
        this.users.name(rec.ids.uid),
        rec.ids.auid,
        rec.ids.sessionid,
        0,
      );
      this.byPid.set(info.pid, info);
    }
    if (info.exitedAtMs === undefined) {
      info.exitedAtMs = nowMs;
      const now = this.brief[BRIEF_BATCHES]!;
      now.push(info);
      if (now.length >= MAX_BRIEF) this.endBatch();
    }
    return info;
  }

  logonGuid(info: ProcessInfo): string {
    if (conventions.provider === 'linux') {
      // Sysmon for Linux: uid, the terminal's index, and the uid's logon time on it (utmp)
      const line = ttyLine(info.tty);
      const time = line === null ? 0 : this.logons.logonTime(line, info.user);
      return this.guids.linuxLogon(info.uid, line === null ? 0 : info.tty & 0xfffff, time);
    }
    return this.guids.logon(info.loginUid === UNSET ? info.uid : info.loginUid, info.session === UNSET ? 0 : info.session);
  }
}

function readNumber(path: string): number {
  try {
    return Number(readProcText(path).trim());
  } catch {
    return UNSET;
  }
}

function readLink(path: string): string | undefined {
  try {
    return decodeBytes(readlinkSync(path, { encoding: 'buffer' }));
  } catch {
    return undefined;
  }
}

function readArgv(pid: number): string[] {
  const raw = readFileSync(`/proc/${pid}/cmdline`);
  if (raw.length === 0) return [];
  const parts = decodeBytes(raw).split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}
