// Security family records -> Sysmon events 10 (ProcessAccess), 8 (CreateRemoteThread),
// 100 (eBPFEvent), 6 (DriverLoad) and 25 (ProcessTampering).
//
// GrantedAccess: Linux has no access masks, so the kernel side maps what was asked to the
// Windows process access rights a Windows tool would have needed for the same thing
// (driver/linux/security.bpf.c ptrace_access):
//   PTRACE_ATTACH / PTRACE_SEIZE                         0x1fffff PROCESS_ALL_ACCESS
//   PTRACE_PEEKTEXT/PEEKDATA, process_vm_readv,
//     open of /proc/PID/mem for reading                  0x10     PROCESS_VM_READ
//   PTRACE_POKETEXT/POKEDATA, process_vm_writev,
//     open of /proc/PID/mem for writing                  0x28     PROCESS_VM_WRITE | PROCESS_VM_OPERATION
//   PTRACE_PEEKUSR/GETREGS/GETFPREGS/GETREGSET/
//     GETSIGINFO/GETEVENTMSG                             0x400    PROCESS_QUERY_INFORMATION
//   PTRACE_POKEUSR/SETREGS/SETFPREGS/SETREGSET/
//     SETSIGINFO/SETOPTIONS                              0x200    PROCESS_SET_INFORMATION
//   PTRACE_CONT/SYSCALL/SINGLESTEP/INTERRUPT/LISTEN      0x800    PROCESS_SUSPEND_RESUME
//   PTRACE_KILL                                          0x1      PROCESS_TERMINATE
//   any other request                                    0x1000   PROCESS_QUERY_LIMITED_INFORMATION
// (/proc/PID/mem opened read-write: 0x38.) PTRACE_TRACEME is not logged: the caller offers
// itself to its parent; the parent's later requests on it are logged. PTRACE_DETACH is not
// an access. Access to one's own process is not logged. A pair (source, target) is logged
// again only for access bits not logged in the last 60 s, and ATTACH/SEIZE always.
//
// eBPFEvent: every bpf(BPF_PROG_LOAD) that succeeded, except the monitor's own loads (its
// objects load one after another, so later ones would be seen by earlier hooks).
// DriverLoad: finit_module/init_module that succeeded; Hashes from the Hashes service (per
// HashAlgorithms), Signed/Signature from the module's appended PKCS#7 signature (issuer
// CN), SignatureStatus Valid when the loaded module did not taint the kernel with 'E'
// (/sys/module/NAME/taint), Unverified otherwise, Unavailable for unsigned modules.
// CreateRemoteThread: ptrace POKETEXT/POKEDATA into another process (one event per run of
// consecutive words, StartAddress = the first word) and register writes (SETREGS, SETREGSET,
// POKEUSER) that move a tracee's instruction pointer (StartAddress = the new IP);
// StartModule from the target's /proc/PID/maps, StartFunction '-'.
// ProcessTampering: exec of a memfd ("Image is fileless (memfd)") or of a file with no
// links left; at exit, an image whose last link went while it ran: "Image is replaced" when
// another file now has its path, else "Image is deleted (removed while running)".
import { readFileSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { SysmonEvent } from '../../events/event.js';
import type { CaptureContext, HandlersFor } from '../descriptor.js';
import type { ProcessIds } from '../../kernel/records/common.js';
import type { ParentIds } from '../../events/processes.js';
import { guidKey, startTicks } from '../../events/guid.js';
import {
  SecurityRecordType,
  TamperKind,
  type AccessRecord,
  type BpfLoadRecord,
  type InjectRecord,
  type ModuleRecord,
  type SECURITY_DECODERS,
  type TamperRecord,
  type TargetIds,
} from './records.js';
import { hashes } from '../../events/hashes.js';
import { actor, type Actor } from '../../events/actor.js';
import { builder, type Built } from '../../events/build.js';
import { utcTime } from '../../events/time.js';

const build6 = builder(6);
const build8 = builder(8);
const build10 = builder(10);
const build25 = builder(25);
const build100 = builder(100);

/** A process named by the kernel (tgid + start time + end_code), described from the process table. */
function describe(ctx: CaptureContext, tgid: number, startBootNs: bigint, endCode: bigint, uid: number): Actor {
  // the table answers "who is this parent" for exactly these three facts
  const ids: ParentIds = { ppid: tgid, parentStartTicks: startTicks(startBootNs), parentKey: guidKey(endCode) };
  const info = ctx.processes.parentOf(ids);
  // unknown: still its GUID, worked out from its start time as for a parent
  return actor(info, tgid, info ? undefined : ctx.processes.parentGuid(ids), uid);
}

function source(ctx: CaptureContext, r: { tgid: number; ids: ProcessIds }): Actor {
  return describe(ctx, r.tgid, r.ids.startBootNs, r.ids.endCode, r.ids.uid);
}

function target(ctx: CaptureContext, t: TargetIds): Actor {
  return describe(ctx, t.tgid, t.startBootNs, t.endCode, t.uid);
}

export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

export function processAccess(r: AccessRecord, src: Actor, tgt: Actor, timeNs: bigint): Built<10> {
  return build10(timeNs, src, tgt, {
    UtcTime: utcTime(timeNs),
    SourceThreadId: r.tid,
    GrantedAccess: hex32(r.granted),
    CallTrace: '-',
  });
}

/** The mapping of the target that holds `addr` (from /proc/PID/maps), or '-'. */
export function moduleAt(pid: number, addr: bigint, maps?: string): string {
  let text = maps;
  if (text === undefined) {
    try {
      text = readFileSync(`/proc/${pid}/maps`, 'latin1');
    } catch {
      return '-';
    }
  }
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (!m) continue;
    if (addr >= BigInt(`0x${m[1]}`) && addr < BigInt(`0x${m[2]}`)) return m[3] ? m[3] : '-';
  }
  return '-';
}

export function createRemoteThread(r: InjectRecord, src: Actor, tgt: Actor, startModule: string, timeNs: bigint): Built<8> {
  return build8(timeNs, src, tgt, {
    UtcTime: utcTime(timeNs),
    // the thread whose memory or instruction pointer was changed
    NewThreadId: r.target.tid,
    StartAddress: `0x${r.startAddress.toString(16).toUpperCase().padStart(16, '0')}`,
    StartModule: startModule,
    StartFunction: '-',
  });
}

const BPF_PROG_TYPES = [
  'UNSPEC',
  'SOCKET_FILTER',
  'KPROBE',
  'SCHED_CLS',
  'SCHED_ACT',
  'TRACEPOINT',
  'XDP',
  'PERF_EVENT',
  'CGROUP_SKB',
  'CGROUP_SOCK',
  'LWT_IN',
  'LWT_OUT',
  'LWT_XMIT',
  'SOCK_OPS',
  'SK_SKB',
  'CGROUP_DEVICE',
  'SK_MSG',
  'RAW_TRACEPOINT',
  'CGROUP_SOCK_ADDR',
  'LWT_SEG6LOCAL',
  'LIRC_MODE2',
  'SK_REUSEPORT',
  'FLOW_DISSECTOR',
  'CGROUP_SYSCTL',
  'RAW_TRACEPOINT_WRITABLE',
  'CGROUP_SOCKOPT',
  'TRACING',
  'STRUCT_OPS',
  'EXT',
  'LSM',
  'SK_LOOKUP',
  'SYSCALL',
  'NETFILTER',
];

/**
 * As Sysmon for Linux writes BpfProgramType (SysmonCommon DispatchEvent): the kernel's enum name
 * without its BPF_PROG_TYPE_ prefix (KPROBE, TRACEPOINT), UNKNOWN for 0 and for types newer
 * than this table.
 */
export function bpfProgTypeName(t: number): string {
  const n = t === 0 ? undefined : BPF_PROG_TYPES[t];
  return n ?? 'UNKNOWN';
}

export function ebpfEvent(r: BpfLoadRecord, who: Actor, timeNs: bigint): Built<100> {
  return build100(timeNs, who, {
    UtcTime: utcTime(timeNs),
    BpfCommand: r.cmd === 5 ? 'BPF_PROG_LOAD' : String(r.cmd),
    BpfProgramType: bpfProgTypeName(r.progType),
    BpfProgramId: r.progId,
    BpfProgramName: r.name || '-',
  });
}

// ---- DriverLoad: the module file's appended signature ----

const SIG_MAGIC = Buffer.from('~Module signature appended~\n');
const PKEY_ID_PKCS7 = 2;

export interface ModuleSignature {
  signed: boolean;
  signer: string;
  name: string;
}

interface Der {
  tag: number;
  start: number;
  end: number;
}

function derAt(b: Buffer, p: number): Der | null {
  if (p + 2 > b.length) return null;
  const tag = b[p]!;
  let len = b[p + 1]!;
  let start = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4 || start + n > b.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  if (start + len > b.length) return null;
  return { tag, start, end: start + len };
}

function derChildren(b: Buffer, d: Der): Der[] {
  const out: Der[] = [];
  for (let p = d.start; p < d.end; ) {
    const c = derAt(b, p);
    if (!c || c.end > d.end) break;
    out.push(c);
    p = c.end;
  }
  return out;
}

const OID_CN = Buffer.from([0x55, 0x04, 0x03]);
const OID_O = Buffer.from([0x55, 0x04, 0x0a]);

/** The issuer CN (else O) of the first SignerInfo of a PKCS#7 SignedData, or ''. */
export function pkcs7Signer(sig: Buffer): string {
  try {
    const ci = derAt(sig, 0);
    if (ci?.tag !== 0x30) return '';
    const explicit = derChildren(sig, ci)[1];
    if (!explicit) return '';
    const sd = derChildren(sig, explicit)[0];
    if (!sd) return '';
    const parts = derChildren(sig, sd);
    const signerInfos = parts[parts.length - 1];
    if (signerInfos?.tag !== 0x31) return '';
    const si = derChildren(sig, signerInfos)[0];
    if (!si) return '';
    const sid = derChildren(sig, si)[1];
    if (sid?.tag !== 0x30) return '';
    const issuer = derChildren(sig, sid)[0];
    if (!issuer) return '';
    let cn = '';
    let o = '';
    for (const rdn of derChildren(sig, issuer)) {
      for (const atv of derChildren(sig, rdn)) {
        const [oid, val] = derChildren(sig, atv);
        if (!oid || !val) continue;
        const o2 = sig.subarray(oid.start, oid.end);
        const text = sig.subarray(val.start, val.end).toString('utf8');
        if (o2.equals(OID_CN)) cn = text;
        else if (o2.equals(OID_O)) o = text;
      }
    }
    return cn || o;
  } catch {
    return '';
  }
}

/** Reads a .ko's appended signature ("~Module signature appended~") and its modinfo name. */
export function parseModuleFile(file: Buffer): ModuleSignature {
  const nameAt = file.indexOf('\0name=');
  const name = nameAt >= 0 ? file.subarray(nameAt + 6, file.indexOf(0, nameAt + 6)).toString('latin1') : '';
  if (file.length < SIG_MAGIC.length + 12 || !file.subarray(file.length - SIG_MAGIC.length).equals(SIG_MAGIC)) {
    return { signed: false, signer: '', name };
  }
  const info = file.length - SIG_MAGIC.length - 12;
  const idType = file[info + 2]!;
  const signerLen = file[info + 3]!;
  const keyIdLen = file[info + 4]!;
  const sigLen = file.readUInt32BE(info + 8);
  const sigStart = info - sigLen;
  if (sigStart < 0) return { signed: true, signer: '', name };
  let signer = '';
  if (idType === PKEY_ID_PKCS7) signer = pkcs7Signer(file.subarray(sigStart, info));
  else if (signerLen > 0) {
    // legacy signatures: signer name, key id, then the signature
    const at = sigStart - keyIdLen - signerLen;
    if (at >= 0) signer = file.subarray(at, at + signerLen).toString('utf8');
  }
  return { signed: true, signer, name };
}

/** Unsigned modules (or failed checks, without enforcement) taint the kernel with 'E'. */
function signatureStatus(sig: ModuleSignature): string {
  if (!sig.signed) return 'Unavailable';
  try {
    const taint = readFileSync(`/sys/module/${sig.name}/taint`, 'latin1');
    return taint.includes('E') ? 'Unverified' : 'Valid';
  } catch {
    return 'Unverified';
  }
}

async function readModuleFile(path: string): Promise<Buffer | null> {
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile() || st.size > 256 * 1024 * 1024) return null;
      return await readFile(fh);
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

export function driverLoad(r: ModuleRecord, timeNs: bigint): Built<6> {
  return build6(timeNs, {
    UtcTime: utcTime(timeNs),
    // init_module loads an image from memory: there is no file to name
    ImageLoaded: r.path || '-',
    Hashes: '-',
    Signed: '-',
    Signature: '-',
    SignatureStatus: '-',
  });
}

/** Fills Hashes and the signature fields from the module file (async, bounded). */
export async function enrichDriverLoad(ev: SysmonEvent, path: string): Promise<void> {
  try {
    const [file, h] = await Promise.all([readModuleFile(path), hashes.hashFile(path)]);
    ev.data.Hashes = h;
    if (!file) return;
    const sig = parseModuleFile(file);
    ev.data.Signed = sig.signed ? 'true' : 'false';
    ev.data.Signature = sig.signer || '-';
    ev.data.SignatureStatus = signatureStatus(sig);
  } catch {
    /* fields stay '-' */
  }
}

// ---- ProcessTampering ----

export const TamperType = {
  Fileless: 'Image is fileless (memfd)',
  DeletedBeforeExec: 'Image is deleted (executed after its last link was removed)',
  Deleted: 'Image is deleted (removed while running)',
  Replaced: 'Image is replaced',
} as const;

/** Kernel dev_t (MAJOR << 20 | MINOR) -> glibc's st_dev encoding. */
function userDev(k: number): bigint {
  const major = BigInt(k >>> 20);
  const minor = BigInt(k & 0xfffff);
  return (minor & 0xffn) | ((major & 0xfffn) << 8n) | ((minor & ~0xffn) << 12n) | ((major & ~0xfffn) << 32n);
}

export function tamperType(r: TamperRecord, statPath: (p: string) => { dev: bigint; ino: bigint } | null): string {
  const leaf = r.exe.slice(r.exe.lastIndexOf('/') + 1);
  if (leaf.startsWith('memfd:')) return TamperType.Fileless;
  if (r.kind === TamperKind.ExecUnlinked) return TamperType.DeletedBeforeExec;
  const now = statPath(r.exe);
  if (now && (now.ino !== r.ino || now.dev !== userDev(r.dev))) return TamperType.Replaced;
  return TamperType.Deleted;
}

function statNow(p: string): { dev: bigint; ino: bigint } | null {
  try {
    const st = statSync(p, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return null;
  }
}

export function processTampering(who: Actor, type: string, timeNs: bigint): Built<25> {
  return build25(timeNs, who, { UtcTime: utcTime(timeNs), Type: type });
}

/** Processes already reported as tampered at exec: their exit does not report again. */
const reportedAtExec = new Set<string>();

export const SECURITY_HANDLERS: HandlersFor<typeof SECURITY_DECODERS> = {
  [SecurityRecordType.Access]: (r, ctx, out) => {
    out.push(processAccess(r, source(ctx, r), target(ctx, r.target), ctx.timeNs(r.bootNs)));
  },
  [SecurityRecordType.Inject]: (r, ctx, out) => {
    out.push(createRemoteThread(r, source(ctx, r), target(ctx, r.target), moduleAt(r.target.tgid, r.startAddress), ctx.timeNs(r.bootNs)));
  },
  [SecurityRecordType.BpfLoad]: (r, ctx, out) => {
    // the monitor's own loads (its objects load while earlier ones are already attached)
    if (r.tgid === process.pid) return;
    out.push(ebpfEvent(r, source(ctx, r), ctx.timeNs(r.bootNs)));
  },
  [SecurityRecordType.ModuleLoad]: (r, ctx, out) => {
    const ev = driverLoad(r, ctx.timeNs(r.bootNs));
    out.push(ev);
    if (r.path) ctx.defer(enrichDriverLoad(ev, r.path));
  },
  [SecurityRecordType.Tamper]: (r, ctx, out) => {
    const who = source(ctx, r);
    if (r.kind === TamperKind.ExitUnlinked) {
      if (reportedAtExec.delete(who.guid)) return;
    } else {
      if (reportedAtExec.size > 10_000) reportedAtExec.clear();
      reportedAtExec.add(who.guid);
    }
    const type = tamperType(r, statNow);
    // the exec record arrives first, so the table already names the new image; a memfd has
    // no path, so name it as /proc/PID/exe does
    // (a copy: `who` may be the process table's own entry)
    const named = who.image === '-' || who.image === '/' ? { ...who, image: type === TamperType.Fileless ? `${r.exe} (deleted)` : r.exe } : who;
    out.push(processTampering(named, type, ctx.timeNs(r.bootNs)));
  },
};
