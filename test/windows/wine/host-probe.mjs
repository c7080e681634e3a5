// Runs under Wine's node.exe: the compiled agent's host facts (dist/src/platform/windows.js)
// through their real Windows calls, and the exports the agent does not use because Wine lacks
// them. Writes one JSON object to OUT-FILE.
// Usage: node.exe host-probe.mjs DIST-DIR OUT-FILE SID [SID...]
import { writeFileSync } from 'node:fs';
import koffi from 'koffi';

const [dist, outFile, ...sids] = process.argv.slice(2);
const h = await import(`file:///${dist.replace(/\\/g, '/')}/src/platform/windows.js`);
const attempt = (f) => { try { return { value: f() }; } catch (e) { return { error: String(e?.message ?? e) }; } };
const out = {};
out.machineGuid = attempt(() => h.machineGuid());
// two readings 300 ms apart: the interrupt time must advance with the wall clock
const boot1 = attempt(() => String(h.windowsBootEpochNs()));
const t1 = attempt(() => String(h.interruptTime100ns()));
await new Promise((r) => setTimeout(r, 300));
const t2 = attempt(() => String(h.interruptTime100ns()));
const boot2 = attempt(() => String(h.windowsBootEpochNs()));
Object.assign(out, { boot1, boot2, t1, t2 });
const devices = h.windowsDeviceMap();
out.deviceCount = devices.size;
out.dosPaths = Object.fromEntries(['\\Device\\HarddiskVolume1\\windows\\system32\\cmd.exe', '\\Device\\HarddiskVolume2\\tmp\\x', '\\Device\\HarddiskVolume9\\y', '\\SystemRoot\\System32\\drivers\\x.sys']
  .map((p) => [p, devices.dosPath(p)]));
const accounts = new h.WindowsAccounts();
out.accounts = Object.fromEntries(sids.map((s) => [s, attempt(() => accounts.name(s))]));
// what Wine lacks, named exactly: binding fails when the DLL does not export the function
out.missing = {};
for (const [dll, fn] of [['kernelbase.dll', 'QueryInterruptTimePrecise'], ['kernelbase.dll', 'QueryInterruptTime'], ['kernel32.dll', 'QueryUnbiasedInterruptTime']]) {
  out.missing[`${dll}!${fn}`] = attempt(() => { koffi.load(dll).func('__stdcall', fn, 'void', ['_Out_ uint64_t *']); return 'exported'; });
}
writeFileSync(outFile, `${JSON.stringify(out)}\n`);
