// What bpftool says about the loaded programs, for the benches that read the kernel's own
// run-time statistics (kernel.bpf_stats_enabled): bench/kernel-filter-walk.ts and
// bench/process-verdict-kernel.ts.
import { execFileSync } from 'node:child_process';

export interface ProgStat {
  id: number;
  name: string;
  map_ids?: number[];
  run_time_ns?: number;
  run_cnt?: number;
}

/** `bpftool ARGS -j`, parsed */
export const bpftoolJson = <T>(args: string[]): T => JSON.parse(execFileSync('bpftool', [...args, '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as T;
