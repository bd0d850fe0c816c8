/**
 * Reads a few of the service's own Prometheus figures after the load, to say
 * where its memory and time go: V8 heap vs the rest of the RSS, and the mean
 * latency of each store operation (durable commit included).
 */

/** What the bench prints from `/metrics`. */
export interface ServiceMetrics {
  heapUsed?: number | undefined;
  heapTotal?: number | undefined;
  external?: number | undefined;
  /** Mean seconds per store operation, by operation. */
  storeMeans: Map<string, { count: number; mean: number }>;
}

/** Fetches and parses `/metrics`; undefined when the endpoint does not answer 200. */
export async function fetchServiceMetrics(url: string): Promise<ServiceMetrics | undefined> {
  const response = await fetch(`${url}/metrics`);
  if (response.status !== 200) return undefined;
  const samples = parseSamples(await response.text());
  const find = (suffix: string): number | undefined => [...samples.entries()].find(([name]) => name.endsWith(suffix))?.[1];
  return {
    heapUsed: find('nodejs_heap_size_used_bytes'),
    heapTotal: find('nodejs_heap_size_total_bytes'),
    external: find('nodejs_external_memory_bytes'),
    storeMeans: storeMeans(samples),
  };
}

/** `name{labels} value` lines into a map keyed by `name{labels}`. */
function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

function storeMeans(samples: Map<string, number>): Map<string, { count: number; mean: number }> {
  const means = new Map<string, { count: number; mean: number }>();
  for (const [key, count] of samples) {
    const match = /^latchkey_store_duration_seconds_count\{operation="([^"]+)"\}$/.exec(key);
    if (match?.[1] === undefined || count === 0) continue;
    const sum = samples.get(`latchkey_store_duration_seconds_sum{operation="${match[1]}"}`) ?? 0;
    means.set(match[1], { count, mean: sum / count });
  }
  return means;
}
