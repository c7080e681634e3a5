// Runs under Wine's node.exe: the compiled agent's section reader (dist/.../section.js,
// WindowsRing.openNamedSection: OpenFileMappingW, MapViewOfFile, VirtualQuery, then the
// RingWalker the service drains the driver's ring with) reads each named section and writes
// one JSON object to OUT-FILE: per name, the records (hex), the dropped count, what was pending
// before and after, or the error the reader threw.
// Usage: node.exe section-probe.mjs DIST-DIR OUT-FILE NAME [NAME...]
import { writeFileSync } from 'node:fs';

const [dist, outFile, ...names] = process.argv.slice(2);
const { WindowsRing } = await import(`file:///${dist.replace(/\\/g, '/')}/src/kernel/windows/section.js`);
const out = {};
for (const name of names) {
  const r = out[name] = { records: [], dropped: null, pendingBefore: 0, pendingAfter: 0, error: null };
  try {
    const ring = WindowsRing.openNamedSection(name);
    r.pendingBefore = ring.pending();
    ring.drain((rec) => r.records.push(Buffer.from(rec).toString('hex')));
    r.pendingAfter = ring.pending();
    r.dropped = String(ring.dropped());
    ring.close();
  } catch (e) {
    r.error = String(e?.message ?? e);
  }
}
writeFileSync(outFile, `${JSON.stringify(out)}\n`);
