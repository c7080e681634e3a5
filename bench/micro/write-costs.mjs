// CPU per operation of the journal/cursor/JSONL write styles (issue 17 levers): node bench/micro/write-costs.mjs [N]
import { open, rename } from 'node:fs/promises';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
const dir = mkdtempSync(tmpdir() + '/sysmon-ts-io-');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const N = Number(process.argv[2] ?? 300);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
async function bench(name, fn) {
  const c0 = cpu(), t0 = performance.now();
  for (let i = 0; i < N; i++) await fn(i);
  console.log(name.padEnd(40), ((cpu() - c0) / N * 1000).toFixed(0).padStart(6), 'us CPU/op', ((performance.now() - t0) / N * 1000).toFixed(0).padStart(6), 'us wall/op');
}
await bench('cursor tmp+write+fdatasync+close+rename', async (i) => {
  const fh = await open(`${dir}/c.tmp`, 'w', 0o640); await fh.writeFile(JSON.stringify({ sink: 'x', acked: i, savedMs: Date.now() })); await fh.datasync(); await fh.close(); await rename(`${dir}/c.tmp`, `${dir}/c`);
});
await bench('cursor same, no fdatasync', async (i) => {
  const fh = await open(`${dir}/c.tmp`, 'w', 0o640); await fh.writeFile(JSON.stringify({ sink: 'x', acked: i, savedMs: Date.now() })); await fh.close(); await rename(`${dir}/c.tmp`, `${dir}/c`);
});
const fd = fs.openSync(`${dir}/slot`, 'w+');
const b = Buffer.alloc(64);
await bench('pwriteSync 64B', async (i) => { b.writeUInt32LE(i, 0); fs.writeSync(fd, b, 0, 64, (i & 1) * 64); });
await bench('pwriteSync 64B + fdatasyncSync', async (i) => { b.writeUInt32LE(i, 0); fs.writeSync(fd, b, 0, 64, (i & 1) * 64); fs.fdatasyncSync(fd); });
const fd2 = fs.openSync(`${dir}/big`, 'w');
const big = Buffer.alloc(100 * 1024, 65);
const fh2 = await open(`${dir}/big2`, 'w');
await bench('FileHandle.write 100KB (promise)', async () => { await fh2.write(big, 0, big.length); });
await bench('writeSync 100KB', async () => { fs.writeSync(fd2, big, 0, big.length); });
const small = Buffer.alloc(4 * 1024, 65);
await bench('FileHandle.write 4KB (promise)', async () => { await fh2.write(small, 0, small.length); });
await bench('writeSync 4KB', async () => { fs.writeSync(fd2, small, 0, small.length); });
await bench('fh.datasync after 100KB', async () => { await fh2.write(big, 0, big.length); await fh2.datasync(); });
