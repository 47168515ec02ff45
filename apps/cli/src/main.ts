#!/usr/bin/env node
import { main } from './program.js';

// A reader that stops early (`cleave status --json | head`) is not an error of cleave's.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

await main(process.argv);
