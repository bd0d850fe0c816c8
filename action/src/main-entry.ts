/** The bundle entry of the main step (`action/dist/main.js`): real dependencies, then run(). */
import { createCoreRuntime } from './core-runtime.ts';
import { run } from './main.ts';

await run({ runtime: createCoreRuntime(), env: process.env });
