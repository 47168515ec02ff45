#!/usr/bin/env node
// The `cleave` command: runs the TypeScript sources through tsx (no build step needed).
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
