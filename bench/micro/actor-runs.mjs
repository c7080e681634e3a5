// The EventData writer's actor runs (src/events/data-writer.ts): ns per NetworkConnect-shaped
// data object written as the journal writes them (one fill, each run committed), for two
// compiled checkouts side by side. "repeating": two processes taking turns (a connect storm's
// client and server: every run after the first is copied); "unique": a new process per event
// (every run is a miss: what recording costs).
//   npm run build; node bench/micro/actor-runs.mjs [ROOT ...]   (default: this checkout)
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const roots = process.argv.length > 2 ? process.argv.slice(2) : [here];

function dataObjects(build3, unique) {
  const procs = [
    { guid: '{6a5e1f2b-1c2d-6a5e-0b00-000000000001}', pid: 4242, image: '/tmp/wl/connect_storm', user: 'root' },
    { guid: '{6a5e1f2b-1c2d-6a5e-0b00-000000000002}', pid: 4243, image: '/tmp/wl/connect_storm', user: 'root' },
  ];
  const times = Array.from({ length: 64 }, (_, i) => `2026-12-05 09:${String(10 + (i % 50)).padStart(2, '0')}:11.${100 + i}`);
  const out = [];
  for (let i = 0; i < 4096; i++) {
    const init = i % 2 === 0;
    // flat strings, as the process table's are (decoded from bytes)
    const proc = unique ? { ...procs[i % 2], guid: Buffer.from(`{6a5e1f2b-1c2d-6a5e-0b00-${100000000000 + i}}`).latin1Slice() } : procs[i % 2];
    const fields = {
      UtcTime: times[(i >> 4) % 64],
      Protocol: 'tcp',
      Initiated: init,
      SourceIsIpv6: false,
      SourceIp: '127.0.0.1',
      SourceHostname: '-',
      SourcePort: init ? 40000 + i : 5555,
      SourcePortName: '-',
      DestinationIsIpv6: false,
      DestinationIp: '127.0.0.1',
      DestinationHostname: '-',
      DestinationPort: init ? 5555 : 40000 + i,
      DestinationPortName: '-',
    };
    out.push(build3(1n, proc, fields).data);
  }
  return out;
}

async function measure(root, unique) {
  const W = await import(`${root}/dist/src/events/data-writer.js`);
  const { builder } = await import(`${root}/dist/src/events/build.js`);
  // a checkout before the actor runs: same call, no epoch
  const commit = W.commitActorRun ?? (() => {});
  const newEpoch = W.newRunEpoch ?? (() => -1);
  const evs = dataObjects(builder(3), unique);
  const buf = Buffer.alloc(1 << 22);
  let epoch = newEpoch();
  let check = 0;
  const run = (n) => {
    let p = 0;
    for (let i = 0; i < n; i++) {
      if (p > buf.length - 4096) {
        p = 0;
        epoch = newEpoch();
      }
      p = W.writeDataJson(evs[i & 4095], buf, p, buf.length, epoch);
      commit();
    }
    check += p;
  };
  for (let r = 0; r < 5; r++) run(200_000);
  const ns = [];
  for (let r = 0; r < 7; r++) {
    const t0 = process.hrtime.bigint();
    run(400_000);
    ns.push(Number(process.hrtime.bigint() - t0) / 400_000);
  }
  ns.sort((a, b) => a - b);
  return { median: ns[3], min: ns[0], check };
}

for (const unique of [false, true]) {
  for (const root of roots) {
    const r = await measure(root, unique);
    console.log(`${unique ? 'unique   ' : 'repeating'} ${root}: ${r.median.toFixed(0)} ns per data object (min ${r.min.toFixed(0)})`);
  }
}
