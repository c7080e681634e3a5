#!/usr/bin/env node
// Installed entry point: run the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';
register();
await import('./cli.ts');
