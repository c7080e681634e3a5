// Builders of the Sysmon events the Windows records become, in schema order, with Windows
// Sysmon's formats. Values the driver does not send are '-' (see driver/windows/README.md).
import type { SysmonEvent } from '../../events/event.js';
import { utcTime } from '../../events/time.js';
import { NULL_GUID } from '../../events/guid.js';
import type { WindowsProcess } from './processes.js';

/** The acting process as an event names it; '-' fields when it is unknown. */
export interface Actor {
  guid: string;
  pid: number;
  image: string;
  user: string;
}

export function actor(p: WindowsProcess | undefined, pid: number, guid = NULL_GUID): Actor {
  return p ? { guid: p.guid, pid, image: p.image, user: p.user } : { guid, pid, image: '-', user: '-' };
}

const PE_FIELDS = { FileVersion: '-', Description: '-', Product: '-', Company: '-', OriginalFileName: '-' } as const;

export function processCreate(p: WindowsProcess, parent: WindowsProcess | undefined, parentGuid: string, timeNs: bigint): SysmonEvent {
  return {
    id: 1, recordId: 0, timeNs,
    data: {
      RuleName: '-',
      UtcTime: utcTime(timeNs),
      ProcessGuid: p.guid,
      ProcessId: p.pid,
      Image: p.image,
      ...PE_FIELDS,
      CommandLine: p.commandLine,
      // the driver does not read the new process's PEB (its current directory)
      CurrentDirectory: '-',
      User: p.user,
      LogonGuid: p.logonGuid,
      LogonId: `0x${p.logonId.toString(16)}`,
      TerminalSessionId: p.session,
      IntegrityLevel: p.integrityLevel,
      Hashes: '-',
      ParentProcessGuid: p.ppid === 0 ? NULL_GUID : parentGuid,
      ParentProcessId: p.ppid,
      ParentImage: parent?.image ?? '-',
      ParentCommandLine: parent?.commandLine ?? '-',
      ParentUser: parent?.user ?? '-',
    },
  };
}

export function processTerminate(p: WindowsProcess, timeNs: bigint): SysmonEvent {
  return {
    id: 5, recordId: 0, timeNs,
    data: { RuleName: '-', UtcTime: utcTime(timeNs), ProcessGuid: p.guid, ProcessId: p.pid, Image: p.image, User: p.user },
  };
}

export interface Signature { signed: string; signature: string; status: string }

export function driverLoad(path: string, sig: Signature, timeNs: bigint): SysmonEvent {
  return {
    id: 6, recordId: 0, timeNs,
    data: {
      RuleName: '-', UtcTime: utcTime(timeNs), ImageLoaded: path, Hashes: '-',
      Signed: sig.signed, Signature: sig.signature, SignatureStatus: sig.status,
    },
  };
}

export function imageLoad(a: Actor, path: string, sig: Signature, timeNs: bigint): SysmonEvent {
  return {
    id: 7, recordId: 0, timeNs,
    data: {
      RuleName: '-', UtcTime: utcTime(timeNs), ProcessGuid: a.guid, ProcessId: a.pid, Image: a.image,
      ImageLoaded: path, ...PE_FIELDS, Hashes: '-',
      Signed: sig.signed, Signature: sig.signature, SignatureStatus: sig.status, User: a.user,
    },
  };
}

export function createRemoteThread(src: Actor, tgt: Actor, newThreadId: number, start: bigint, startModule: string, timeNs: bigint): SysmonEvent {
  return {
    id: 8, recordId: 0, timeNs,
    data: {
      RuleName: '-', UtcTime: utcTime(timeNs),
      SourceProcessGuid: src.guid, SourceProcessId: src.pid, SourceImage: src.image,
      TargetProcessGuid: tgt.guid, TargetProcessId: tgt.pid, TargetImage: tgt.image,
      NewThreadId: newThreadId,
      StartAddress: `0x${start.toString(16).toUpperCase().padStart(16, '0')}`,
      StartModule: startModule,
      // naming the function needs the module's export table, which is not read
      StartFunction: '-',
      SourceUser: src.user, TargetUser: tgt.user,
    },
  };
}

export function rawAccessRead(a: Actor, device: string, timeNs: bigint): SysmonEvent {
  return {
    id: 9, recordId: 0, timeNs,
    data: { RuleName: '-', UtcTime: utcTime(timeNs), ProcessGuid: a.guid, ProcessId: a.pid, Image: a.image, Device: device, User: a.user },
  };
}

export function processAccess(src: Actor, sourceThreadId: number, tgt: Actor, granted: number, timeNs: bigint): SysmonEvent {
  return {
    id: 10, recordId: 0, timeNs,
    data: {
      RuleName: '-', UtcTime: utcTime(timeNs),
      SourceProcessGUID: src.guid, SourceProcessId: src.pid, SourceThreadId: sourceThreadId, SourceImage: src.image,
      TargetProcessGUID: tgt.guid, TargetProcessId: tgt.pid, TargetImage: tgt.image,
      GrantedAccess: `0x${(granted >>> 0).toString(16)}`,
      // filled from the stack record (230) that follows
      CallTrace: '-',
      SourceUser: src.user, TargetUser: tgt.user,
    },
  };
}

export function fileCreate(a: Actor, target: string, creationUtc: string, timeNs: bigint): SysmonEvent {
  return {
    id: 11, recordId: 0, timeNs,
    data: {
      RuleName: '-', UtcTime: utcTime(timeNs), ProcessGuid: a.guid, ProcessId: a.pid, Image: a.image,
      TargetFilename: target, CreationUtcTime: creationUtc, User: a.user,
    },
  };
}

export function fileCreateTime(a: Actor, target: string, creationUtc: string, previousUtc: string, timeNs: bigint): SysmonEvent {
  return {
    id: 2, recordId: 0, timeNs,
    data: {
      RuleName: '-', UtcTime: utcTime(timeNs), ProcessGuid: a.guid, ProcessId: a.pid, Image: a.image,
      TargetFilename: target, CreationUtcTime: creationUtc, PreviousCreationUtcTime: previousUtc, User: a.user,
    },
  };
}

export function fileStream(a: Actor, target: string, creationUtc: string, timeNs: bigint): SysmonEvent {
  return {
    id: 15, recordId: 0, timeNs,
    data: {
      RuleName: '-', UtcTime: utcTime(timeNs), ProcessGuid: a.guid, ProcessId: a.pid, Image: a.image,
      TargetFilename: target, CreationUtcTime: creationUtc, Hash: '-', Contents: '-', User: a.user,
    },
  };
}

export function fileDelete(id: 23 | 26, a: Actor, target: string, isExecutable: boolean, timeNs: bigint): SysmonEvent {
  const data: Record<string, string | number | boolean> = {
    RuleName: '-', UtcTime: utcTime(timeNs), ProcessGuid: a.guid, ProcessId: a.pid, User: a.user, Image: a.image,
    TargetFilename: target, Hashes: '-', IsExecutable: isExecutable,
  };
  // nothing is archived (ArchiveDirectory is not implemented), as on Linux
  if (id === 23) data.Archived = 'false';
  return { id, recordId: 0, timeNs, data };
}

export type RegistryEventType = 'CreateKey' | 'DeleteKey' | 'DeleteValue' | 'SetValue' | 'RenameKey';

export function registryEvent(id: 12 | 13 | 14, type: RegistryEventType, a: Actor, targetObject: string, extra: string, timeNs: bigint): SysmonEvent {
  const head = { RuleName: '-', EventType: type, UtcTime: utcTime(timeNs), ProcessGuid: a.guid, ProcessId: a.pid, Image: a.image, TargetObject: targetObject };
  if (id === 12) return { id, recordId: 0, timeNs, data: { ...head, User: a.user } };
  if (id === 13) return { id, recordId: 0, timeNs, data: { ...head, Details: extra, User: a.user } };
  return { id, recordId: 0, timeNs, data: { ...head, NewName: extra, User: a.user } };
}

export function processTampering(a: Actor, type: string, timeNs: bigint): SysmonEvent {
  return {
    id: 25, recordId: 0, timeNs,
    data: { RuleName: '-', UtcTime: utcTime(timeNs), ProcessGuid: a.guid, ProcessId: a.pid, Image: a.image, Type: type, User: a.user },
  };
}
