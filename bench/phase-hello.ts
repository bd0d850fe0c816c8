/**
 * Phase 1, the HTTP ceiling: a hello-world Hono app on @hono/node-server
 * (the service's stack) in its own process, driven by the same load
 * generator at each connection count.
 */
import { join, resolve } from 'node:path';
import { spawnServer } from './child.ts';
import type { Cleanup } from './cleanup.ts';
import { driveHello, type LoadOutcome } from './load.ts';
import type { BenchOptions } from './options.ts';
import { childEnv } from './service-setup.ts';

const REPO_ROOT = resolve(import.meta.dirname, '..');

/** Hello-world outcomes by connection count. */
export interface HelloResult {
  points: Map<number, LoadOutcome>;
  warmup: LoadOutcome | undefined;
}

/** Runs the hello-world server and drives it at every connection count. */
export async function runHelloPhase(options: BenchOptions, cleanup: Cleanup): Promise<HelloResult> {
  const hello = await spawnServer({ name: 'hello-world server', cwd: REPO_ROOT, env: childEnv(), cleanup, args: [join(REPO_ROOT, 'bench/hello-server.ts')] });
  try {
    const top = Math.max(...options.connections);
    const warmup = options.warmup > 0 ? await driveHello({ url: hello.url, connections: top, duration: options.warmup }) : undefined;
    const points = new Map<number, LoadOutcome>();
    for (const connections of options.connections) {
      console.log(`  driving GET / on hello-world: ${connections} conn for ${options.duration} s…`);
      points.set(connections, await driveHello({ url: hello.url, connections, duration: options.duration }));
    }
    return { points, warmup };
  } finally {
    await hello.stop();
  }
}
