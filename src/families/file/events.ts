// Kernel file records -> Sysmon events 11 FileCreate, 23 FileDelete / 26 FileDeleteDetected,
// 9 RawAccessRead and 2 FileCreateTime.
//
// Deletes: the kernel hands over the removed inode (mode, size, dev, ino, mtime) seen by
// ext4_unlink_enter just before it went away; the data itself is gone by the time userspace
// reads the record, so Hashes come from the hash cache (dev, ino, size, mtime): a file that
// was hashed while it existed (e.g. it ran, and ProcessCreate hashed its image) gets its real
// hashes, any other gets "-". FileDelete (23) is written as Sysmon for Linux writes it: Hashes,
// IsExecutable and Archived all "-" (processFileDelete sets no hash type; EventResolveField's
// Linux override); FileDeleteDetected (26), which Sysmon for Linux never writes, keeps what we
// know (hashes from the cache, IsExecutable true/false), as does 23 under --windows (Archived
// "false"). Nothing is archived;
// when a config has rules for both, a delete that FileDelete's rules keep is 23, else 26
// (Sysmon's order).
import type { SysmonEvent } from '../../events/event.js';
import type { CaptureContext, HandlersFor } from '../descriptor.js';
import type { ProcessInfo } from '../../events/processes.js';
import { utcTime } from '../../events/time.js';
import { actor } from '../../events/actor.js';
import { builder, type Built } from '../../events/build.js';
import { hashes } from '../../events/hashes.js';
import { conventions } from '../../events/conventions.js';
import { FileInfo, FileOp, FileRecordType, userDev, type FILE_DECODERS, type FileRecord } from './records.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/** What the handlers need from the active config. */
export interface FileEventSettings {
  /** event ids the config can log */
  captured: ReadonlySet<number>;
  /** the config's rule engine: decides 23 vs 26 when a config has rules for both */
  keeps?: (ev: SysmonEvent) => boolean;
}

let settings: FileEventSettings = { captured: new Set([26]) };

/** Called by the agent with each config it loads (start and reload). */
export function configureFileEvents(config: {
  capturedEvents(): Set<number>;
  options: { hashAlgorithms: string[] | null };
  engine: { apply(ev: SysmonEvent): boolean };
}): void {
  settings = { captured: config.capturedEvents(), keeps: (ev) => config.engine.apply(ev) };
  hashes.configure(config.options.hashAlgorithms);
}

function who(ctx: CaptureContext, tgid: number): ProcessInfo | undefined {
  return ctx.processes.lookup(tgid);
}

// the monitor's own files (journal, cursors, JSONL) would feed back into it forever
const SELF = process.pid;

export function isExecutable(r: FileRecord): boolean {
  return (r.info & FileInfo.Inode) !== 0 && (r.mode & S_IFMT) === S_IFREG && (r.mode & 0o111) !== 0;
}

const build2 = builder(2);
const build9 = builder(9);
const build11 = builder(11);
const build23 = builder(23);
const build26 = builder(26);

export function fileCreate(r: FileRecord, p: ProcessInfo | undefined, timeNs: bigint): Built<11> {
  const t = utcTime(timeNs);
  return build11(timeNs, actor(p, r.tgid), {
    UtcTime: t,
    TargetFilename: r.path,
    // a file made by this call: it was created now (rename/link keep an older inode, whose
    // birth time Linux does not expose portably: the event time is used too)
    CreationUtcTime: t,
  });
}

export function rawAccessRead(r: FileRecord, p: ProcessInfo | undefined, timeNs: bigint): Built<9> {
  return build9(timeNs, actor(p, r.tgid), { UtcTime: utcTime(timeNs), Device: r.path });
}

export function fileCreateTime(r: FileRecord, p: ProcessInfo | undefined, timeNs: bigint): Built<2> {
  return build2(timeNs, actor(p, r.tgid), {
    UtcTime: utcTime(timeNs),
    TargetFilename: r.path,
    CreationUtcTime: utcTime(r.newTimeNs),
    PreviousCreationUtcTime: r.info & FileInfo.PrevTime ? utcTime(r.mtimeNs) : '-',
  });
}

export function fileDelete(id: 23 | 26, r: FileRecord, p: ProcessInfo | undefined, timeNs: bigint, hashesValue: string): Built<23> | Built<26> {
  const a = actor(p, r.tgid);
  const utc = utcTime(timeNs);
  if (id === 26) return build26(timeNs, a, { UtcTime: utc, TargetFilename: r.path, Hashes: hashesValue, IsExecutable: isExecutable(r) });
  // event 23 as Sysmon for Linux writes it (see the file comment); --windows: Windows Sysmon's values
  const sfl = conventions.provider === 'linux';
  return build23(timeNs, a, {
    UtcTime: utc,
    TargetFilename: r.path,
    Hashes: sfl ? '-' : hashesValue,
    IsExecutable: sfl ? '-' : isExecutable(r),
    Archived: sfl ? '-' : 'false',
  });
}

/** Hashes of a deleted file: only what was hashed while it existed (see the file comment). */
export function deletedHashes(r: FileRecord): string {
  if (!hashes.enabled || r.op === FileOp.Rmdir || !(r.info & FileInfo.Inode) || (r.mode & S_IFMT) !== S_IFREG) return '-';
  return hashes.lookup({ dev: userDev(r.dev), ino: r.ino, size: r.size, mtimeNs: r.mtimeNs }) ?? '-';
}

export const FILE_HANDLERS: HandlersFor<typeof FILE_DECODERS> = {
  [FileRecordType.Create]: (r, ctx, out) => {
    if (r.tgid === SELF) return;
    const timeNs = ctx.timeNs(r.bootNs);
    const p = who(ctx, r.tgid);
    out.push(fileCreate(r, p, timeNs));
  },
  [FileRecordType.RawRead]: (r, ctx, out) => {
    if (r.tgid === SELF) return;
    const timeNs = ctx.timeNs(r.bootNs);
    const p = who(ctx, r.tgid);
    out.push(rawAccessRead(r, p, timeNs));
  },
  [FileRecordType.Time]: (r, ctx, out) => {
    if (r.tgid === SELF) return;
    const timeNs = ctx.timeNs(r.bootNs);
    const p = who(ctx, r.tgid);
    // by path the kernel cannot see the old mtime: report times set before the event only
    if (!(r.info & FileInfo.PrevTime) && r.newTimeNs >= timeNs) return;
    out.push(fileCreateTime(r, p, timeNs));
  },
  [FileRecordType.Delete]: (r, ctx, out) => {
    if (r.tgid === SELF) return;
    const timeNs = ctx.timeNs(r.bootNs);
    const p = who(ctx, r.tgid);
    const h = deletedHashes(r);
    const c = settings.captured;
    if (c.has(23)) {
      const ev = fileDelete(23, r, p, timeNs, h);
      if (!c.has(26) || !settings.keeps || settings.keeps(ev)) {
        out.push(ev);
        return;
      }
    }
    out.push(fileDelete(26, r, p, timeNs, h));
  },
};

/** The delete event (23 or 26) the active config wants, by the rule above; for the Windows records. */
export function chooseDeleteEvent(make: (id: 23 | 26) => SysmonEvent): SysmonEvent {
  const c = settings.captured;
  if (c.has(23)) {
    const ev = make(23);
    if (!c.has(26) || !settings.keeps || settings.keeps(ev)) return ev;
  }
  return make(26);
}
