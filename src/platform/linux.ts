// Linux start-up facts for the capture: machine id and boot time (GUIDs), the boot clock,
// /etc/passwd names and the process table seeded from /proc (src/events/host.ts, processes.ts).
import { Capture } from '../capture.js';
import { programWanted } from '../families/programs.js';
import type { PlatformCapture } from './types.js';
import { GuidMaker } from '../events/guid.js';
import { bootEpochNs, bootTimeSeconds, machineId, UserNames } from '../events/host.js';
import { ProcessTable } from '../events/processes.js';
import { liveVerdicts } from '../config/kernel-filter/live-verdicts.js';
import { containers } from '../events/containers.js';

export function startLinuxCapture(): PlatformCapture {
  const processes = new ProcessTable(new GuidMaker(machineId(), bootTimeSeconds()), new UserNames());
  // a process the table forgets leaves the containers cache too (else it kept 65,536 dead pids)
  processes.onForget = (old) => containers.forget(old.pid, old.ticks);
  return {
    capture: new Capture(processes, bootEpochNs()),
    seedProcesses: () => {
      const n = processes.seedFromProc();
      // the running processes get per-process verdicts too (src/config/kernel-filter/live-verdicts.ts)
      liveVerdicts.seed(processes);
      return n;
    },
    processCount: () => processes.size,
    bootEpochNs,
    programWanted,
  };
}
