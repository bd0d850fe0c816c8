/**
 * Form or JSON request parameters at the edge (`/token`, `/revoke`,
 * `/introspect`): every parameter a single string, a repeated one refused.
 */
import { fail } from '../errors.ts';

/** Parses form or JSON into single-valued string parameters; duplicates and non-strings are malformed. */
export function parseParameters(body: string, contentType: string | null): Record<string, string> {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json') return parseJsonParameters(body);
  if (type === 'application/x-www-form-urlencoded') return parseFormParameters(body);
  return fail('malformed', 'Content-Type must be application/x-www-form-urlencoded or application/json');
}

function parseFormParameters(body: string): Record<string, string> {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URLSearchParams(body)) {
    if (name in params) fail('malformed', `parameter ${JSON.stringify(name.slice(0, 64))} is repeated`);
    params[name] = value;
  }
  return params;
}

function parseJsonParameters(body: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return fail('malformed', 'request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('malformed', 'request body must be a JSON object');
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value === 'number' && name === 'ttl') params[name] = String(value);
    else if (typeof value === 'string') params[name] = value;
    else fail('malformed', `parameter ${JSON.stringify(name.slice(0, 64))} must be a string`);
  }
  if (hasDuplicateTopLevelKey(body)) fail('malformed', 'a parameter is repeated');
  return params;
}

/** JSON.parse keeps the last of two equal keys; a repeated parameter must be refused, not silently picked. */
function hasDuplicateTopLevelKey(body: string): boolean {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < body.length && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(body.slice(i, j + 1)) as string;
        if (seen.has(key)) return true;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (ch === '{' || ch === '[') {
      depth++;
      if (depth === 1 && ch === '{') expectKey = true;
    } else if (ch === '}' || ch === ']') depth--;
    else if (ch === ',' && depth === 1) expectKey = true;
  }
  return false;
}
