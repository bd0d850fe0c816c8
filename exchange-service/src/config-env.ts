/**
 * `LATCHKEY_*` environment overrides of the configuration: each variable's
 * name is matched, segment by segment, against the keys the schema (or the
 * data) has at that path, so `LATCHKEY_LIMITS_MAX_TTL` sets `limits.max_ttl`.
 */
import type * as z from 'zod';
import { schemaKeysAt } from './policy/model/did-you-mean.ts';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The keys a config object may have at `path`: the schema's (through defaults, optionals and maps), then the data's. */
function knownKeys(schema: z.ZodType, path: string[], data: JsonObject): string[] {
  return [...new Set([...schemaKeysAt(schema, path), ...Object.keys(data)])];
}

/** Sets `LATCHKEY_STORE_URL`-style overrides into the raw config, matching path segments against known keys. */
export function applyEnvOverrides(schema: z.ZodType, raw: JsonObject, env: NodeJS.ProcessEnv): string[] {
  const applied: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('LATCHKEY_') || value === undefined) continue;
    const rest = name.slice('LATCHKEY_'.length).toLowerCase();
    const path = resolvePath(schema, raw, [], rest);
    if (path === undefined) continue;
    let target = raw;
    for (const segment of path.slice(0, -1)) {
      const next = target[segment];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) target[segment] = {};
      target = target[segment] as JsonObject;
    }
    target[path.at(-1) as string] = parseEnvValue(value);
    applied.push(path.join('.'));
  }
  return applied;
}

function resolvePath(schema: z.ZodType, raw: JsonObject, path: string[], rest: string): string[] | undefined {
  const here = path.reduce<Json | undefined>((node, key) => (node && typeof node === 'object' && !Array.isArray(node) ? node[key] : undefined), raw);
  const data = here && typeof here === 'object' && !Array.isArray(here) ? here : {};
  const keys = knownKeys(schema, path, data).sort((a, b) => b.length - a.length);
  for (const key of keys) {
    if (rest === key) return [...path, key];
    if (rest.startsWith(`${key}_`)) {
      const deeper = resolvePath(schema, raw, [...path, key], rest.slice(key.length + 1));
      if (deeper !== undefined) return deeper;
    }
  }
  return undefined;
}

function parseEnvValue(value: string): Json {
  if (value === 'true' || value === 'false') return value === 'true';
  if (value === 'null' || value === '') return null;
  if (/^-?\d+$/.test(value)) return Number(value);
  if (value.startsWith('[') || value.startsWith('{')) {
    try {
      return JSON.parse(value) as Json;
    } catch {
      return value;
    }
  }
  return value;
}
