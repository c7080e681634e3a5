// A/B of module load time between two checkouts' compiled agents (dist/, built by their
// driver/setup.sh): a fresh `node` per sample imports one module and prints how long the
// import took (node's own start-up left out), the two sides alternated; median of the reps.
//
//   node --import tsx bench/import-ab.ts BEFORE_ROOT [reps] [module,module...]
//     modules default: dist/src/agent.js (what every CLI command loads), dist/src/platform/linux.js
//     (the capture, every family's decoders and handlers), and both in one process (what `run`
//     loads); `a+b` imports a, then b, in one sample
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const beforeRoot = process.argv[2]!;
const reps = Number(process.argv[3] ?? 21);
const modules = (process.argv[4] ?? 'dist/src/agent.js,dist/src/platform/linux.js,dist/src/agent.js+dist/src/platform/linux.js').split(',');
const AFTER_ROOT = join(import.meta.dirname, '..');

function sample(root: string, mod: string): number {
  const imports = mod
    .split('+')
    .map((m) => `await import(${JSON.stringify(pathToFileURL(join(root, m)).href)});`)
    .join(' ');
  const code = `const t = process.hrtime.bigint(); ${imports} process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${root}/${mod}: ${r.stderr}`);
  return Number(r.stdout);
}

const med = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
console.log('| module | before ms (median of reps) | after ms (median) | after / before |');
console.log('|---|---|---|---|');
for (const mod of modules) {
  const before: number[] = [],
    after: number[] = [];
  for (let i = 0; i < reps; i++) {
    // alternate which side goes first, so a trend in the machine's load hits both alike
    if (i % 2 === 0) {
      before.push(sample(beforeRoot, mod));
      after.push(sample(AFTER_ROOT, mod));
    } else {
      after.push(sample(AFTER_ROOT, mod));
      before.push(sample(beforeRoot, mod));
    }
  }
  console.log(`| ${mod} | ${med(before).toFixed(1)} | ${med(after).toFixed(1)} | ${(med(after) / med(before)).toFixed(2)} |`);
}
