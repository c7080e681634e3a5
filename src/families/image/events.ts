// Kernel image-family records -> Sysmon 7 ImageLoad; cgroup migrations feed the container
// context. (PipeEvent 17/18: src/families/pipes.)
//
// ImageLoad: a file mapped executable into a process: mmap(PROT_EXEC) of a file (how ld.so
// maps every shared object at start-up and on dlopen) or mprotect adding PROT_EXEC to a file
// mapping. ImageLoaded is the file's absolute path as the kernel resolved it; Hashes come from
// the Hashes service (HashAlgorithms); the PE version resource fields and Authenticode fields
// (FileVersion, Description, Product, Company, OriginalFileName, Signed, Signature,
// SignatureStatus) have no Linux source and are "-".

import type { SysmonEvent } from '../../events/event.js';
import type { CaptureContext, HandlersFor } from '../descriptor.js';
import type { ProcessInfo } from '../../events/processes.js';
import { utcTime } from '../../events/time.js';
import { actor } from '../../events/actor.js';
import { builder, type Built } from '../../events/build.js';
import { hashes } from '../../events/hashes.js';
import { containers } from '../../events/containers.js';
import { earlyFilter } from '../../events/early-filter.js';
import { userDev } from '../file/records.js';
import { ImageRecordType, imagePathBytes, type IMAGE_DECODERS, type ImageLoadRecord } from './records.js';
import { processWatch } from '../../events/process-watch.js';

function who(ctx: CaptureContext, tgid: number): ProcessInfo | undefined {
  return ctx.processes.lookup(tgid);
}

const build7 = builder(7);

export function imageLoad(r: ImageLoadRecord, p: ProcessInfo | undefined, timeNs: bigint): Built<7> {
  return build7(timeNs, actor(p, r.tgid), {
    UtcTime: utcTime(timeNs),
    ImageLoaded: r.path,
    FileVersion: '-',
    Description: '-',
    Product: '-',
    Company: '-',
    OriginalFileName: '-',
    Hashes: '-',
    Signed: '-',
    Signature: '-',
    SignatureStatus: '-',
  });
}

function withContainer(ev: SysmonEvent, r: ImageLoadRecord, ctx: CaptureContext): SysmonEvent {
  const c = containers.forCgroupId(r.cgroupId) ?? containers.forPid(r.tgid, ctx.processes);
  if (c) ev.container = c;
  return ev;
}

export const IMAGE_HANDLERS: HandlersFor<typeof IMAGE_DECODERS> = {
  [ImageRecordType.ImageLoad]: (r, ctx, out) => {
    if (r.tgid === process.pid) return;
    // the kernel's verdicts learn which loaded paths no rule watches (pv_quiet_paths)
    const watcher = processWatch.watcher;
    if (watcher?.wantsImageLoads) watcher.onImageLoad(r.path, imagePathBytes(ctx.record));
    const built = imageLoad(r, who(ctx, r.tgid), ctx.timeNs(r.bootNs));
    // a config that drops it whatever its hashes and container: no hash, no lookup
    if (earlyFilter.drops(built)) return;
    const ev = withContainer(built, r, ctx);
    out.push(ev);
    if (hashes.enabled) {
      // the mapped inode is the cache key: a library hashed once is found with no syscall
      const known = { dev: userDev(r.dev), ino: r.ino, size: r.size, mtimeNs: r.mtimeNs };
      const cached = hashes.lookup(known);
      // a container's path names a file in its own mount namespace: read it through the process's root
      const path = ev.container ? `/proc/${r.tgid}/root${r.path}` : r.path;
      if (cached !== undefined) ev.data.Hashes = cached;
      else
        ctx.defer(
          hashes.hashFile(path, known).then((h) => {
            ev.data.Hashes = h;
          }),
        );
    }
  },
  [ImageRecordType.CgroupAttach]: (r) => {
    containers.onAttach(r);
  },
};
