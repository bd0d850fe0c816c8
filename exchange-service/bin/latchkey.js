#!/usr/bin/env -S node --max-semi-space-size=8 --heap-growing-percent=50
// The `latchkey` command. The CLI is TypeScript run directly by Node 24 (type stripping).
//
// The flag above bounds V8's young generation to 2 × 16 MiB: on a large
// machine V8 would grow it to 2 × 64 MiB under load, about 100 MB of RSS that
// buys no throughput here (BENCHMARKS.md). `npm start` passes the same flag.
//
// Node's compile cache keeps the stripped and compiled modules between runs
// (in $NODE_COMPILE_CACHE, else the temporary folder): a warm start skips
// type stripping, whose compiler alone holds about 25 MB per thread.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off; a cache that cannot be written
// is skipped silently.
import { enableCompileCache } from 'node:module';

const cache = enableCompileCache();
// Worker threads (the SQLite writer, policy loading) read the setting from their environment.
if (cache.directory !== undefined) process.env.NODE_COMPILE_CACHE ??= cache.directory;
const { main } = await import('../src/cli/main.ts');

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
