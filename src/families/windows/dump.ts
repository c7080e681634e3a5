// Prints every record the Windows driver writes, one JSON object a line, until Ctrl-C:
// the test plan's probe (driver/windows/README.md), before the pipeline is wired to it.
// Run as LocalSystem (the device wants SeTcbPrivilege): psexec -s node --import tsx
// src/families/windows/dump.ts [--interval-ms 5]
import { WindowsRing } from '../../kernel/windows/section.js';
import { decodeWindowsRecord } from './records.js';

const interval = Number(process.argv[process.argv.indexOf('--interval-ms') + 1] || 5);
const ring = WindowsRing.open();
let lastDropped = 0n;
const json = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x));

const timer = setInterval(() => {
  ring.drain((rec) => {
    try {
      process.stdout.write(json(decodeWindowsRecord(rec)) + '\n');
    } catch (e) {
      process.stdout.write(json({ error: String(e), bytes: Buffer.from(rec) }) + '\n');
    }
  });
  const dropped = ring.dropped();
  if (dropped !== lastDropped) process.stderr.write(`dropped: ${dropped} records so far\n`);
  lastDropped = dropped;
}, interval);

process.on('SIGINT', () => {
  clearInterval(timer);
  ring.close();
  process.exit(0);
});
