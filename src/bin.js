#!/usr/bin/env node
// Installed entry point: the compiled CLI (dist/, built by driver/setup.sh) when present,
// else the TypeScript sources through tsx's loader.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./cli.ts');
}
