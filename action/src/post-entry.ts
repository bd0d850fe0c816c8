/** The bundle entry of the post step (`action/dist/post.js`): real dependencies, then runPost(). */
import { createCoreRuntime } from './core-runtime.ts';
import { runPost } from './post.ts';

await runPost({ runtime: createCoreRuntime(), env: process.env });
