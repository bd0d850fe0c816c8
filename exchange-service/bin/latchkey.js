#!/usr/bin/env node
// The `latchkey` command. The CLI is TypeScript run directly by Node 24 (type stripping).
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
