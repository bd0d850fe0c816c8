/**
 * Summarises a V8 CPU profile (`node --cpu-prof`, e.g. from
 * `npm run bench -- --cpu-prof DIR`): the functions with the most self time,
 * and self time by area (a package, the service's own folders, Node
 * internals, GC, idle); optionally only for a window of the run (`--from`,
 * `--to`: seconds since the profile started, e.g. to leave out start-up).
 *
 *   node bench/profile-top.ts FILE.cpuprofile [--top 25] [--from S] [--to S]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Sample times in µs since the profile started, from V8's deltas. */
function sampleTimes(profile: CpuProfile): number[] {
  let at = 0;
  return profile.timeDeltas.map((delta) => (at += delta));
}

/** Self time in µs per key (a function of the node), over samples taken in [from, to) µs. */
function selfTime(profile: CpuProfile, keyOf: (node: ProfileNode) => string, window: { from: number; to: number }): Map<string, number> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const times = sampleTimes(profile);
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const at = times[i] ?? 0;
    if (node === undefined || at < window.from || at >= window.to) return;
    const key = keyOf(node);
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return totals;
}

/** Where a frame's code lives: a package, a service folder, node internals, or a V8 pseudo-frame. */
function areaOf(url: string, functionName: string): string {
  if (url === '') return `(${functionName || 'native'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg?.[1] !== undefined) return pkg[1];
  const own = /\/(exchange-service\/src\/(?:[^/]+\/)?)/.exec(url);
  if (own?.[1] !== undefined) return own[1];
  if (url.startsWith('node:')) return 'node internals';
  return url.replace(/^file:\/\//, '');
}

const shortUrl = (url: string): string => url.replace(/^file:\/\/.*?\/(node_modules|exchange-service|bench)\//, '$1/');

function printTop(title: string, totals: Map<string, number>, all: number, top: number): void {
  console.log(`\n${title}`);
  const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, us] of rows) console.log(`  ${((100 * us) / all).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${key}`);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, from: { type: 'string', default: '0' }, to: { type: 'string', default: 'Infinity' } },
});
const file = positionals[0];
if (file === undefined) {
  console.error('usage: node bench/profile-top.ts FILE.cpuprofile [--top 25] [--from S] [--to S]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const window = { from: Number(values.from) * 1e6, to: Number(values.to) * 1e6 };
const top = Number(values.top);
const byArea = selfTime(profile, (n) => areaOf(n.callFrame.url, n.callFrame.functionName), window);
const all = [...byArea.values()].reduce((sum, us) => sum + us, 0);
const length = (sampleTimes(profile).at(-1) ?? 0) / 1e6;
console.log(`${file}: ${length.toFixed(1)} s profiled, ${(all / 1e6).toFixed(1)} s in the window [${values.from}, ${values.to}) s`);
printTop('self time by area', byArea, all, top);
printTop(
  'self time by function',
  selfTime(profile, (n) => `${n.callFrame.functionName || '(anonymous)'}  ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`, window),
  all,
  top,
);
