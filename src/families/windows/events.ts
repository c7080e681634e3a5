// Builders of the Sysmon events the Windows records become, with Windows Sysmon's formats;
// the field order is the schema's (src/events/build.ts). Values the driver does not send are
// '-' (see driver/windows/README.md).
import type { Actor } from '../../events/actor.js';
import { builder, type Built } from '../../events/build.js';
import { utcTime } from '../../events/time.js';
import { NULL_GUID } from '../../events/guid.js';
import type { WindowsProcess } from './processes.js';

const build1 = builder(1);
const build2 = builder(2);
const build5 = builder(5);
const build6 = builder(6);
const build7 = builder(7);
const build8 = builder(8);
const build9 = builder(9);
const build10 = builder(10);
const build11 = builder(11);
const build12 = builder(12);
const build13 = builder(13);
const build14 = builder(14);
const build15 = builder(15);
const build23 = builder(23);
const build25 = builder(25);
const build26 = builder(26);

export function processCreate(p: WindowsProcess, parent: WindowsProcess | undefined, parentGuid: string, timeNs: bigint): Built<1> {
  return build1(timeNs, p, {
    UtcTime: utcTime(timeNs),
    FileVersion: '-',
    Description: '-',
    Product: '-',
    Company: '-',
    OriginalFileName: '-',
    CommandLine: p.commandLine,
    // the driver does not read the new process's PEB (its current directory)
    CurrentDirectory: '-',
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
  });
}

export function processTerminate(p: WindowsProcess, timeNs: bigint): Built<5> {
  return build5(timeNs, p, { UtcTime: utcTime(timeNs) });
}

export interface Signature {
  signed: string;
  signature: string;
  status: string;
}

export function driverLoad(path: string, sig: Signature, timeNs: bigint): Built<6> {
  return build6(timeNs, {
    UtcTime: utcTime(timeNs),
    ImageLoaded: path,
    Hashes: '-',
    Signed: sig.signed,
    Signature: sig.signature,
    SignatureStatus: sig.status,
  });
}

export function imageLoad(a: Actor, path: string, sig: Signature, timeNs: bigint): Built<7> {
  return build7(timeNs, a, {
    UtcTime: utcTime(timeNs),
    ImageLoaded: path,
    FileVersion: '-',
    Description: '-',
    Product: '-',
    Company: '-',
    OriginalFileName: '-',
    Hashes: '-',
    Signed: sig.signed,
    Signature: sig.signature,
    SignatureStatus: sig.status,
  });
}

export function createRemoteThread(src: Actor, tgt: Actor, newThreadId: number, start: bigint, startModule: string, timeNs: bigint): Built<8> {
  return build8(timeNs, src, tgt, {
    UtcTime: utcTime(timeNs),
    NewThreadId: newThreadId,
    StartAddress: `0x${start.toString(16).toUpperCase().padStart(16, '0')}`,
    StartModule: startModule,
    // naming the function needs the module's export table, which is not read
    StartFunction: '-',
  });
}

export function rawAccessRead(a: Actor, device: string, timeNs: bigint): Built<9> {
  return build9(timeNs, a, { UtcTime: utcTime(timeNs), Device: device });
}

export function processAccess(src: Actor, sourceThreadId: number, tgt: Actor, granted: number, timeNs: bigint): Built<10> {
  return build10(timeNs, src, tgt, {
    UtcTime: utcTime(timeNs),
    SourceThreadId: sourceThreadId,
    GrantedAccess: `0x${(granted >>> 0).toString(16)}`,
    // filled from the stack record (230) that follows
    CallTrace: '-',
  });
}

export function fileCreate(a: Actor, target: string, creationUtc: string, timeNs: bigint): Built<11> {
  return build11(timeNs, a, { UtcTime: utcTime(timeNs), TargetFilename: target, CreationUtcTime: creationUtc });
}

export function fileCreateTime(a: Actor, target: string, creationUtc: string, previousUtc: string, timeNs: bigint): Built<2> {
  return build2(timeNs, a, { UtcTime: utcTime(timeNs), TargetFilename: target, CreationUtcTime: creationUtc, PreviousCreationUtcTime: previousUtc });
}

export function fileStream(a: Actor, target: string, creationUtc: string, timeNs: bigint): Built<15> {
  return build15(timeNs, a, { UtcTime: utcTime(timeNs), TargetFilename: target, CreationUtcTime: creationUtc, Hash: '-', Contents: '-' });
}

export function fileDelete(id: 23 | 26, a: Actor, target: string, isExecutable: boolean, timeNs: bigint): Built<23> | Built<26> {
  const utc = utcTime(timeNs);
  if (id === 26) return build26(timeNs, a, { UtcTime: utc, TargetFilename: target, Hashes: '-', IsExecutable: isExecutable });
  // nothing is archived (ArchiveDirectory is not implemented), as on Linux
  return build23(timeNs, a, { UtcTime: utc, TargetFilename: target, Hashes: '-', IsExecutable: isExecutable, Archived: 'false' });
}

export type RegistryEventType = 'CreateKey' | 'DeleteKey' | 'DeleteValue' | 'SetValue' | 'RenameKey';

export function registryEvent(
  id: 12 | 13 | 14,
  type: RegistryEventType,
  a: Actor,
  targetObject: string,
  extra: string,
  timeNs: bigint,
): Built<12> | Built<13> | Built<14> {
  const utc = utcTime(timeNs);
  if (id === 12) return build12(timeNs, a, { EventType: type, UtcTime: utc, TargetObject: targetObject });
  if (id === 13) return build13(timeNs, a, { EventType: type, UtcTime: utc, TargetObject: targetObject, Details: extra });
  return build14(timeNs, a, { EventType: type, UtcTime: utc, TargetObject: targetObject, NewName: extra });
}

export function processTampering(a: Actor, type: string, timeNs: bigint): Built<25> {
  return build25(timeNs, a, { UtcTime: utcTime(timeNs), Type: type });
}
