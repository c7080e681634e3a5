// Kernel pipes-family records -> Sysmon 17 PipeEvent (Pipe Created) and 18 PipeEvent (Pipe
// Connected).
//
// Windows named pipes map to Linux FIFOs (named pipes in the filesystem). 17 "Pipe Created"
// (EventType CreatePipe) = mkfifo/mknod(S_IFIFO) that succeeded; 18 "Pipe Connected"
// (EventType ConnectPipe) = any open(2) of a FIFO that succeeded (each end's open is its
// connection). PipeName is the FIFO's absolute path. Anonymous pipes (pipe(2)) and Unix
// sockets are not reported.
import type { SysmonEvent } from '../../events/event.js';
import type { CaptureContext, HandlersFor } from '../descriptor.js';
import type { ProcessInfo } from '../../events/processes.js';
import { utcTime } from '../../events/time.js';
import { actor } from '../../events/actor.js';
import { builder, type Built } from '../../events/build.js';
import { containers } from '../../events/containers.js';
import { PipeRecordType, type PIPES_DECODERS, type PipeRecord } from './records.js';

function who(ctx: CaptureContext, tgid: number): ProcessInfo | undefined {
  return ctx.processes.lookup(tgid);
}

const build17 = builder(17);
const build18 = builder(18);

export function pipeEvent(r: PipeRecord, p: ProcessInfo | undefined, timeNs: bigint): Built<17> | Built<18> {
  const a = actor(p, r.tgid);
  const utc = utcTime(timeNs);
  return r.type === PipeRecordType.PipeCreate
    ? build17(timeNs, a, { EventType: 'CreatePipe', UtcTime: utc, PipeName: r.path })
    : build18(timeNs, a, { EventType: 'ConnectPipe', UtcTime: utc, PipeName: r.path });
}

/** The FIFO's process's container: the record's cgroup, else its pid's. */
function withContainer(ev: SysmonEvent, r: PipeRecord, ctx: CaptureContext): SysmonEvent {
  const c = containers.forCgroupId(r.cgroupId) ?? containers.forPid(r.tgid, ctx.processes);
  if (c) ev.container = c;
  return ev;
}

export const PIPES_HANDLERS: HandlersFor<typeof PIPES_DECODERS> = {
  [PipeRecordType.PipeCreate]: (r, ctx, out) => {
    if (r.tgid === process.pid) return;
    out.push(withContainer(pipeEvent(r, who(ctx, r.tgid), ctx.timeNs(r.bootNs)), r, ctx));
  },
  [PipeRecordType.PipeOpen]: (r, ctx, out) => {
    if (r.tgid === process.pid) return;
    out.push(withContainer(pipeEvent(r, who(ctx, r.tgid), ctx.timeNs(r.bootNs)), r, ctx));
  },
};
