// Node/V8 flags the agent runs with: `npm start` (package.json "start") and the systemd unit
// (src/commands/install.ts, through cliCommand()) pass them; test/ops/node-flags.test.ts keeps
// package.json in step. bench/ starts each checkout's agent with that checkout's "start" flags.
//
// --max-semi-space-size=4: V8's young generation grows to 2 x 16 MB semi-spaces under a steady
// allocation rate and stays there; at 4 MB the agent's RSS under the mixed load was 46 MB lower
// (234 vs 280 MB, side by side) for the same CPU per event within noise (14.7 vs 14.4 us) and
// the same events (bench/RESULTS.md, 2026-12-04 21:25).
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];
