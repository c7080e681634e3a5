// Runs under Wine's node.exe: the compiled ETW sink (dist/sinks/eventlog/etw.js) registers
// the manifest's provider (Microsoft-Windows-Sysmon), writes the given events (JSON lines on
// stdin, as the JSONL sink writes them) through EventWriteTransfer and unregisters; prints one
// JSON line to OUT-FILE: what each step returned or threw.
// Usage: node.exe etw-probe.mjs DIST-DIR EVENTS.jsonl OUT-FILE
const [dist, eventsFile, outFile] = process.argv.slice(2);
const base = `file:///${dist.replace(/\\/g, '/')}`;
const { createEventLogSink } = await import(`${base}/sinks/eventlog/etw.js`);
const { makeIdentity } = await import(`${base}/src/events/event.js`);
const { readFileSync, writeFileSync } = await import('node:fs');
const lines = readFileSync(eventsFile, 'utf8').split('\n').filter(Boolean);
const batch = lines.map((l) => {
  const j = JSON.parse(l);
  return { id: j.EventID, recordId: j.EventRecordID ?? 0, timeNs: 0n, data: j.EventData };
});
const out = { opened: false, written: 0, closed: false, error: null };
const sink = createEventLogSink(makeIdentity(true, 'WINEHOST'));
try {
  await sink.open(); out.opened = true;
  await sink.write(batch); out.written = batch.length;
  await sink.close(); out.closed = true;
} catch (e) {
  out.error = String(e.message ?? e);
}
writeFileSync(outFile, `${JSON.stringify(out)}\n`);
