// Runs under Wine's node.exe: the compiled agent's section reader (dist/.../section.js,
// WindowsRing.openNamedSection: OpenFileMappingW, MapViewOfFile, VirtualQuery, then the same
// RingWalker the service uses) drains the harness's section and prints what it read as one
// JSON line: the records (hex), the dropped count and the consumer position it wrote back.
// Usage: node.exe section-probe.mjs DIST-DIR SECTION-NAME
const [dist, name] = process.argv.slice(2);
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
process.stdout.write(`${JSON.stringify(out)}\n`);
