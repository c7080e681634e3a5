// The Windows driver's records -> Sysmon events: its own records (200-239) and the shared ones
// it writes (3 exit, 40 access + 230 stack, 41 inject, 44 tamper). The process table is fed
// by the records themselves (no /proc on Windows). A record whose op does not belong to its
// type is rejected by its decoder (records.ts: event 255), as a malformed Linux record is.
import { SecurityRecordType } from '../security/records.js';
import { WinRegOp, WindowsRecordType as T, type WINDOWS_FAMILY_DECODERS, type WinImageRecord } from './records.js';
import type { SysmonEvent } from '../../events/event.js';
import type { CaptureContext, HandlersFor } from '../descriptor.js';
import { hashes } from '../../events/hashes.js';
import { actor, type Actor } from '../../events/actor.js';
import { utcTime } from '../../events/time.js';
import { chooseDeleteEvent } from '../file/events.js';
import { callTrace, filetimeToUnixNs, filetimeUtc, looksExecutable, registryDetails, type LoadedModule } from './formats.js';
import type { WindowsHostFacts } from './host-facts.js';
import { registryPath, registryValuePath, streamName } from './paths.js';
import { WindowsProcessTable, type WindowsProcess } from './processes.js';
import * as E from './events.js';

export type WindowsHandlers = HandlersFor<typeof WINDOWS_FAMILY_DECODERS>;
const ACCESS_RECORD = SecurityRecordType.Access;

/** The signing facts of IMAGE_INFO.Properties (SE_SIGNING_LEVEL_*): Signed/Signature/SignatureStatus. */
export function imageSignature(r: WinImageRecord): E.Signature {
  const level = r.signatureLevel;
  if (level === 0) return { signed: '-', signature: '-', status: '-' }; // not checked by the kernel
  if (level === 1) return { signed: 'false', signature: '-', status: 'Unavailable' };
  // 8 MICROSOFT, 12 WINDOWS, 14 WINDOWS_TCB: signed by Microsoft; the others name no signer
  const signature = level === 12 || level === 14 ? 'Microsoft Windows' : level === 8 ? 'Microsoft Corporation' : '-';
  return { signed: 'true', signature, status: 'Valid' };
}

/** How long an access event waits for its stack record when they fall in different batches. */
const STACK_WAIT_MS = 100;

interface PendingAccess {
  ev: SysmonEvent;
  modules: readonly LoadedModule[];
  done: () => void;
}

export interface WindowsCapture {
  readonly processes: WindowsProcessTable;
  readonly handlers: WindowsHandlers;
}

export function windowsCapture(facts: WindowsHostFacts): WindowsCapture {
  const table = new WindowsProcessTable(facts);
  const devices = facts.devices;
  const pendingStacks = new Map<string, PendingAccess>();
  const stackKey = (r: { bootNs: bigint; tgid: number; tid: number }): string => `${r.bootNs}:${r.tgid}:${r.tid}`;

  /** The process of a record that carries only its start key (0: the driver could not read it). */
  function who(pid: number, startKey: bigint): Actor {
    // a key that does not match is another process that had the pid: not named after it
    return actor(table.get(pid, startKey), pid);
  }
  function known(ctx: CaptureContext, pid: number, startBootNs: bigint, startKey: bigint): { a: Actor; p: WindowsProcess | undefined } {
    const p = table.get(pid, startKey);
    return {
      a: actor(
        p,
        pid,
        table.guidOf(pid, startBootNs, startKey, (b) => ctx.timeNs(b)),
      ),
      p,
    };
  }
  function mine(r: { tgid: number }): boolean {
    // the service's own files and registry writes would feed back into it forever
    return r.tgid === process.pid;
  }
  function withHash(ctx: CaptureContext, ev: SysmonEvent, field: string, path: string): void {
    if (hashes.enabled && path !== '-')
      ctx.defer(
        hashes.hashFile(path).then(
          (h) => {
            ev.data[field] = h;
          },
          () => {},
        ),
      );
  }

  const handlers: WindowsHandlers = {
    [T.ProcessCreate]: (r, ctx, out) => {
      const clock = (b: bigint): bigint => ctx.timeNs(b);
      const parent = table.get(r.ids.ppid, r.ids.parentEndCode);
      const parentGuid = table.parentGuid(r.ids, clock);
      const p = table.onCreate(r, clock);
      // UtcTime is the process's creation time, as in Sysmon
      const ev = E.processCreate(p, parent, parentGuid, r.createTime ? filetimeToUnixNs(r.createTime) : ctx.timeNs(r.bootNs));
      out.push(ev);
      withHash(ctx, ev, 'Hashes', p.image);
    },
    [3]: (r, ctx, out) => {
      out.push(
        E.processTerminate(
          table.onExit(r.tgid, r.ids, Date.now(), (b) => ctx.timeNs(b)),
          ctx.timeNs(r.bootNs),
        ),
      );
    },
    [T.ImageLoad]: (r, ctx, out) => {
      const path = devices.dosPath(r.path);
      const sig = imageSignature(r);
      const timeNs = ctx.timeNs(r.bootNs);
      if (r.systemModeImage) {
        const ev = E.driverLoad(path, sig, timeNs);
        out.push(ev);
        withHash(ctx, ev, 'Hashes', path);
        return;
      }
      table.addModule(r.tgid, r.processStartKey, { base: r.imageBase, size: r.imageSize, path });
      const ev = E.imageLoad(who(r.tgid, r.processStartKey), path, sig, timeNs);
      out.push(ev);
      withHash(ctx, ev, 'Hashes', path);
    },
    [ACCESS_RECORD]: (r, ctx, out) => {
      const src = known(ctx, r.tgid, r.ids.startBootNs, r.ids.endCode);
      const tgt = known(ctx, r.target.tgid, r.target.startBootNs, r.target.endCode);
      const ev = E.processAccess(src.a, r.tid, tgt.a, r.granted, ctx.timeNs(r.bootNs));
      out.push(ev);
      // the stack record comes right after; the batch waits for it, at most STACK_WAIT_MS
      const key = stackKey(r);
      ctx.defer(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            pendingStacks.delete(key);
            resolve();
          }, STACK_WAIT_MS);
          pendingStacks.set(key, {
            ev,
            modules: src.p?.modules ?? [],
            done: () => {
              clearTimeout(timer);
              resolve();
            },
          });
        }),
      );
    },
    [T.Stack]: (r) => {
      const key = stackKey(r);
      const pending = pendingStacks.get(key);
      if (!pending) return;
      pendingStacks.delete(key);
      pending.ev.data.CallTrace = callTrace(r.frames, pending.modules);
      pending.done();
    },
    [41]: (r, ctx, out) => {
      const src = known(ctx, r.tgid, r.ids.startBootNs, r.ids.endCode);
      const tgt = known(ctx, r.target.tgid, r.target.startBootNs, r.target.endCode);
      const module = tgt.p?.modules.find((m) => r.startAddress >= m.base && r.startAddress < m.base + m.size);
      out.push(E.createRemoteThread(src.a, tgt.a, r.target.tid, r.startAddress, module?.path ?? '-', ctx.timeNs(r.bootNs)));
    },
    [44]: (r, ctx, out) => {
      // the driver's only case: the image file was marked for deletion as the process started
      // (process ghosting / herpaderping), which Sysmon reports as a replaced image
      out.push(E.processTampering(known(ctx, r.tgid, r.ids.startBootNs, r.ids.endCode).a, 'Image is replaced', ctx.timeNs(r.bootNs)));
    },
    [T.FileCreate]: (r, ctx, out) => {
      if (mine(r)) return;
      const timeNs = ctx.timeNs(r.bootNs);
      out.push(E.fileCreate(who(r.tgid, r.processStartKey), devices.dosPath(r.path), r.creationTime ? filetimeUtc(r.creationTime) : utcTime(timeNs), timeNs));
    },
    [T.FileRename]: (r, ctx, out) => {
      if (mine(r)) return;
      const timeNs = ctx.timeNs(r.bootNs);
      // the file now exists under its new name: FileCreate for that name, as Sysmon
      out.push(
        E.fileCreate(who(r.tgid, r.processStartKey), devices.dosPath(r.newPath), r.creationTime ? filetimeUtc(r.creationTime) : utcTime(timeNs), timeNs),
      );
    },
    [T.FileStream]: (r, ctx, out) => {
      if (mine(r)) return;
      const timeNs = ctx.timeNs(r.bootNs);
      const target = streamName(devices.dosPath(r.path));
      const ev = E.fileStream(who(r.tgid, r.processStartKey), target, r.creationTime ? filetimeUtc(r.creationTime) : utcTime(timeNs), timeNs);
      out.push(ev);
      withHash(ctx, ev, 'Hash', target);
    },
    [T.FileRawRead]: (r, ctx, out) => {
      // Sysmon names the volume by its NT device (\Device\HarddiskVolume2)
      out.push(E.rawAccessRead(who(r.tgid, r.processStartKey), r.path, ctx.timeNs(r.bootNs)));
    },
    [T.FileTime]: (r, ctx, out) => {
      out.push(
        E.fileCreateTime(
          who(r.tgid, r.processStartKey),
          devices.dosPath(r.path),
          filetimeUtc(r.creationTime),
          filetimeUtc(r.prevCreationTime),
          ctx.timeNs(r.bootNs),
        ),
      );
    },
    [T.FileDelete]: (r, ctx, out) => {
      if (mine(r)) return;
      const a = who(r.tgid, r.processStartKey);
      const target = devices.dosPath(r.path);
      const timeNs = ctx.timeNs(r.bootNs);
      out.push(chooseDeleteEvent((id) => E.fileDelete(id, a, target, looksExecutable(target), timeNs)));
    },
    [T.RegKey]: (r, ctx, out) => {
      if (mine(r)) return;
      const type = r.op === WinRegOp.PostCreateKeyEx ? 'CreateKey' : 'DeleteKey';
      out.push(E.registryEvent(12, type, who(r.tgid, r.processStartKey), registryPath(r.key), '', ctx.timeNs(r.bootNs)));
    },
    [T.RegValue]: (r, ctx, out) => {
      if (mine(r)) return;
      const a = who(r.tgid, r.processStartKey);
      const target = registryValuePath(r.key, r.value);
      const timeNs = ctx.timeNs(r.bootNs);
      if (r.op === WinRegOp.PreDeleteValueKey) out.push(E.registryEvent(12, 'DeleteValue', a, target, '', timeNs));
      else out.push(E.registryEvent(13, 'SetValue', a, target, registryDetails(r.valueType, r.data), timeNs));
    },
    [T.RegRename]: (r, ctx, out) => {
      if (mine(r)) return;
      // RegNtPreRenameKey gives the new name alone: it lives next to the old key
      const full = r.newName.startsWith('\\') ? r.newName : `${r.key.slice(0, r.key.lastIndexOf('\\') + 1)}${r.newName}`;
      out.push(E.registryEvent(14, 'RenameKey', who(r.tgid, r.processStartKey), registryPath(r.key), registryPath(full), ctx.timeNs(r.bootNs)));
    },
  };
  return { processes: table, handlers };
}
