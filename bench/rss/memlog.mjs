// Preloaded into the agent by bench/rss/run.ts (`node --import ./memlog.mjs ...`): appends one
// JSON line of process.memoryUsage() and V8 heap-space sizes to $SYSMON_TS_MEMLOG every
// $SYSMON_TS_MEMLOG_MS (default 2000) ms, so the bench can say where the RSS goes without
// touching the agent's code.
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.SYSMON_TS_MEMLOG;
const every = Number(process.env.SYSMON_TS_MEMLOG_MS ?? 2000);
const t0 = Date.now();

function smaps() {
  // anonymous vs file-backed resident memory (file-backed: the node binary, libraries, mmaps)
  try {
    const t = readFileSync('/proc/self/smaps_rollup', 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0) * 1024;
    return { anon: kb('Anonymous'), fileBacked: kb('Rss') - kb('Anonymous') };
  } catch { return {}; }
}

if (file) {
  setInterval(() => {
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size]));
    appendFileSync(file, `${JSON.stringify({ t: (Date.now() - t0) / 1000, ...m, ...smaps(), spaces })}\n`);
  }, every).unref();
}
