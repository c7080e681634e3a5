// Runs under Wine's node.exe: the compiled agent's section reader (dist/.../section.js,
// WindowsRing.openNamedSection: OpenFileMappingW, MapViewOfFile, VirtualQuery, then the same
// RingWalker the service uses) drains the harness's section and prints what it read as one
// JSON line to OUT-FILE: the records (hex), the dropped count and what was pending.
// Usage: node.exe section-probe.mjs DIST-DIR SECTION-NAME OUT-FILE
import { writeFileSync } from 'node:fs';
const [dist, name, outFile] = process.argv.slice(2);
const { WindowsRing } = await import(new URL(`file:///${dist.replace(/\\/g, '/')}/src/kernel/windows/section.js`).href);
const out = { records: [], dropped: '', pendingBefore: 0, pendingAfter: 0, error: null };
try {
  const ring = WindowsRing.openNamedSection(name);
  out.pendingBefore = ring.pending();
  ring.drain((rec) => out.records.push(Buffer.from(rec).toString('hex')));
  out.pendingAfter = ring.pending();
  out.dropped = String(ring.dropped());
  ring.close();
} catch (e) {
  out.error = String(e.message ?? e);
}
writeFileSync(outFile, `${JSON.stringify(out)}\n`);
