/**
 * `latchkey policy explain [DIR] (--claims FILE | --token JWT) [--policy NAME]
 * [--config FILE] [--format text|json]`: the exchange's decision for a set
 * of claims, condition by condition (SPEC §1). Policies load through the
 * service's loader; the decision is explain.ts, which mirrors exchange.ts.
 *
 * Exit codes: 0 the named policy (or, without --policy, any policy) grants;
 * 1 none does, also when --policy names no policy in the set (the service
 * would answer `policy_unknown`) and when the set does not load (the service
 * would refuse it); 2 usage, unreadable claims, a token that is not a JWT, a
 * bad config. Claim values are attacker-controlled: they are printed only
 * through showValue (JSON-escaped), and the JSON output escapes C1 controls
 * and bidirectional overrides as well.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { LatchkeyError } from '../errors.ts';
import { parseCompactJwt } from '../oidc/compact-jwt.ts';
import {
  explainClaims,
  formatProblem,
  loadPolicies,
  PolicyLoadError,
  showValue,
  ttlText,
  type CompiledPolicy,
  type ConditionResult,
  type ExplainOptions,
  type Explanation,
  type LoadPoliciesOptions,
  type PolicyExplanation,
  loadOptionsOf,
  escapeDisplayUnsafe,
} from '../policy/index.ts';
import type { CliIo } from './io.ts';
import { UsageError } from './usage-error.ts';

const USAGE = `usage: latchkey policy explain [DIR] (--claims FILE | --token JWT) [--policy NAME] [--config FILE] [--format text|json]
`;

/** Where the claims came from; a token is decoded, never verified. */
interface ClaimsInput {
  claims: Record<string, unknown>;
  source: 'claims' | 'token';
  /** Why the service would refuse the token before looking at any policy. */
  tokenProblem?: string | undefined;
}

interface ExplainRequest {
  dir: string;
  format: 'text' | 'json';
  input: ClaimsInput;
  explain: ExplainOptions;
  load: LoadPoliciesOptions;
}

/** Runs `latchkey policy explain` with the arguments after `explain`; resolves with the exit code. */
export async function runExplain(args: string[], io: CliIo): Promise<number> {
  let request: ExplainRequest;
  try {
    request = await parseRequest(args, io.env);
  } catch (error) {
    io.stderr.write(`latchkey policy explain: ${(error as Error).message}\n${error instanceof ConfigError ? '' : USAGE}`);
    return 2;
  }
  let policies: ReadonlyMap<string, CompiledPolicy>;
  try {
    policies = (await loadPolicies(request.dir, request.load)).policies;
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    const lines = error.problems.map((problem) => `${formatProblem(problem)}\n`).join('');
    io.stderr.write(`${lines}latchkey policy explain: the policy set does not load (the service would refuse it): nothing is granted\n`);
    return 1;
  }
  const explanation = explainClaims(policies, request.input.claims, request.explain);
  io.stdout.write(request.format === 'json' ? renderJson(explanation, request.input) : renderText(explanation, request.input, request.dir));
  return explanation.granted.length > 0 ? 0 : 1;
}

async function parseRequest(args: string[], env: NodeJS.ProcessEnv): Promise<ExplainRequest> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        claims: { type: 'string' },
        token: { type: 'string' },
        policy: { type: 'string' },
        config: { type: 'string' },
        format: { type: 'string', default: 'text' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.format !== 'text' && values.format !== 'json') throw new UsageError(`--format must be text or json, not ${showValue(values.format)}`);
  if (positionals.length > 1) throw new UsageError('give at most one folder');
  if ((values.claims === undefined) === (values.token === undefined)) throw new UsageError('give exactly one of --claims FILE and --token JWT');
  const input = values.token !== undefined ? decodeToken(values.token) : await readClaims(values.claims!);
  const request: ExplainRequest = { dir: positionals[0] ?? './policies', format: values.format, input, explain: { policy: values.policy }, load: {} };
  if (values.config !== undefined) {
    const config = loadConfig({ file: values.config, env });
    const issuers = Object.entries(config.issuers);
    request.explain.issuers = issuers.map(([name, issuer]) => ({ name, url: issuer.url, kind: issuer.kind }));
    request.explain.trustedOwners = config.trust.owners;
    // The same loader options as `policy check --config`: the set exactly as that service would load it.
    request.load = loadOptionsOf(config);
  }
  return request;
}

async function readClaims(file: string): Promise<ClaimsInput> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read claims from ${file}: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${file} must hold a JSON object of claims`);
  return { claims: value as Record<string, unknown>, source: 'claims' };
}

/** Decodes a JWT's payload without verifying anything, and notes what the service's structural checks would refuse. */
function decodeToken(token: string): ClaimsInput {
  const payload = token.trim().split('.')[1];
  let value: unknown;
  try {
    if (payload === undefined || !/^[A-Za-z0-9_-]*$/.test(payload)) throw new Error('no base64url payload');
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(payload, 'base64url')));
  } catch {
    throw new UsageError('--token is not a JWT (header.payload.signature with a JSON payload)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('--token payload is not a JSON object');
  let tokenProblem: string | undefined;
  try {
    parseCompactJwt(token.trim());
  } catch (error) {
    if (!(error instanceof LatchkeyError)) throw error;
    tokenProblem = `${error.message} (${error.reason})`;
  }
  return { claims: value as Record<string, unknown>, source: 'token', tokenProblem };
}

const NOT_VERIFIED = 'token NOT verified: decoded only; its signature, expiry, audience and replay are not checked';
const mark = (ok: boolean): string => (ok ? '✓' : '✗');
/** Claim names come from policy files; anything beyond plain name characters is shown escaped. */
const claimName = (name: string): string => (/^[\w.:-]+$/.test(name) ? name : showValue(name));

function renderText(explanation: Explanation, input: ClaimsInput, dir: string): string {
  const lines: string[] = [];
  if (input.source === 'token') lines.push(NOT_VERIFIED);
  if (input.tokenProblem !== undefined) lines.push(`the service would refuse this token before any policy: ${input.tokenProblem}`);
  lines.push(`${explanation.issuer.checked ? mark(explanation.issuer.ok) : '?'} ${explanation.issuer.why}`);
  if (explanation.owner !== undefined) lines.push(`${mark(explanation.owner.ok)} ${explanation.owner.why}`);
  for (const policy of explanation.policies) lines.push('', ...policyLines(policy));
  lines.push('', summaryLine(explanation, dir));
  return `${lines.join('\n')}\n`;
}

function policyLines(policy: PolicyExplanation): string[] {
  const grant = policy.grant;
  const scope = grant.scope !== undefined && grant.scope.length > 0 ? `, scope ${grant.scope.map(showValue).join(' ')}` : '';
  const what = `${grant.kind} ${showValue(grant.target)}, ttl ${ttlText(grant.ttl)}${scope}, justification ${grant.justification}`;
  const lines = [`${mark(policy.granted)} ${policy.name}: ${policy.granted ? `GRANTS ${what}` : `denied (would grant ${what})`}`];
  lines.push(`    ${policy.issuerMatch.checked ? mark(policy.issuerMatch.ok) : '?'} ${policy.issuerMatch.why}`);
  const width = Math.min(24, Math.max(...policy.conditions.map((condition) => claimName(condition.claim).length)));
  for (const condition of policy.conditions) lines.push(`    ${conditionLine(condition, width)}`);
  for (const rule of policy.rules) lines.push(`    ${mark(rule.ok)} ${rule.why}`);
  return lines;
}

function conditionLine(condition: ConditionResult, width: number): string {
  const expected = condition.expected.map(showValue).join(' or ');
  return `${mark(condition.ok)} ${claimName(condition.claim).padEnd(width)}  ${actualText(condition.actual)}  expected ${expected}`;
}

/** The token's value as the matcher compares it, or what is wrong with it. */
function actualText(value: unknown): string {
  if (value === undefined) return '(absent)';
  if (typeof value === 'string') return showValue(value);
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return showValue(JSON.stringify(value));
  if (value === null) return '(null: never matches)';
  return Array.isArray(value) ? '(an array: never matches)' : `(${typeof value === 'object' ? 'an object' : `a ${typeof value}`}: never matches)`;
}

function summaryLine(explanation: Explanation, dir: string): string {
  if (explanation.unknownPolicy !== undefined)
    return `no policy ${showValue(explanation.unknownPolicy)} in ${dir}: nothing is granted (the service would answer policy_unknown)`;
  const total = explanation.policies.length;
  const names = explanation.granted.join(', ');
  if (total === 1) return explanation.granted.length === 1 ? `granted by ${names}` : `not granted by ${explanation.policies[0]!.name}`;
  return explanation.granted.length === 0 ? `no policy of ${total} grants` : `${explanation.granted.length} of ${total} policies grant: ${names}`;
}

function renderJson(explanation: Explanation, input: ClaimsInput): string {
  const report = {
    verified: false,
    source: input.source,
    ...(input.tokenProblem === undefined ? {} : { token_problem: input.tokenProblem }),
    issuer: explanation.issuer,
    ...(explanation.owner === undefined ? {} : { owner: explanation.owner }),
    ...(explanation.unknownPolicy === undefined ? {} : { unknown_policy: explanation.unknownPolicy }),
    granted: explanation.granted,
    policies: explanation.policies.map((policy) => ({
      name: policy.name,
      file: policy.file,
      issuer: policy.issuer,
      granted: policy.granted,
      issuer_match: policy.issuerMatch,
      conditions: policy.conditions,
      rules: policy.rules,
      grant: policy.grant,
    })),
  };
  return `${safeJson(report)}\n`;
}

/** JSON whose text cannot drive a terminal: C1 controls, line separators and bidirectional overrides escaped too. */
const safeJson = (value: unknown): string => escapeDisplayUnsafe(JSON.stringify(value, null, 2));
