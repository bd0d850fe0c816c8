/**
 * `latchkey audit report [--store URL] [--config FILE] [--since DURATION]
 * [--format md|json]`: usage patterns over a window of the audit log
 * (SPEC §5). Exit 0; 2 for usage errors and a store that cannot be read.
 */
import { existsSync } from 'node:fs';
import { buildAuditReport, type ReportOptions } from '../audit/report.ts';
import { renderReportJson, renderReportMarkdown } from '../audit/report-render.ts';
import { loadConfig, type Config } from '../config.ts';
import { parseDuration } from '../duration.ts';
import { loadPolicies } from '../policy/index.ts';
import { configFileOf, pickStoreUrl, withStore, type AuditCommandIo, type AuditFlags } from './audit-store.ts';
import { ascii, asciiLines } from './terminal-text.ts';
import { UsageError } from './usage-error.ts';

/** Runs `audit report` with its parsed flags; throws UsageError for a bad --format or --since. */
export async function runReport(flags: AuditFlags, io: AuditCommandIo): Promise<number> {
  const format = flags.format ?? 'md';
  if (format !== 'md' && format !== 'json') throw new UsageError(`--format is md or json, not "${format}"`);
  const untilMs = (io.now ?? Date.now)();
  let sinceMs: number | undefined;
  if (flags.since !== undefined) {
    const seconds = parseWindow(flags.since);
    if (seconds === undefined) throw new UsageError(`--since "${flags.since}" is not a duration (use 30m, 24h, 7d)`);
    sinceMs = untilMs - seconds * 1000;
  }
  const policies = await loadReportPolicies(flags, io);
  return withStore(pickStoreUrl(flags, io), io, 'report', async (store) => {
    const options: ReportOptions = { sinceMs, untilMs, policies };
    const report = await buildAuditReport(store.readAudit({ pageSize: 1000 }), options);
    io.stdout.write(format === 'json' ? renderReportJson(report) : renderReportMarkdown(report));
    return 0;
  });
}

/** A report window: the service's durations (`30m`, `1h30m`) plus whole days (`7d`, `1d12h`). */
function parseWindow(text: string): number | undefined {
  const match = /^(\d+)d(.*)$/.exec(text.trim());
  if (match === null) return parseDuration(text);
  const days = Number(match[1]) * 86_400;
  const rest = match[2] === '' ? 0 : parseDuration(match[2] ?? '');
  return rest === undefined || days + rest <= 0 || !Number.isSafeInteger(days + rest) ? undefined : days + rest;
}

/** The policy set the report's policy sections need, from the config's policies.dir; skipped (with a note) when it cannot be loaded. */
async function loadReportPolicies(flags: AuditFlags, io: AuditCommandIo): Promise<ReportOptions['policies']> {
  const file = configFileOf(flags, io);
  const config: Config = loadConfig({ file, env: io.env });
  if (!existsSync(config.policies.dir)) {
    io.stderr.write(`latchkey audit report: no policies folder at ${ascii(config.policies.dir)}; the sections that need the policy set are skipped\n`);
    return undefined;
  }
  try {
    const issuers = file === undefined ? undefined : Object.fromEntries(Object.entries(config.issuers).map(([name, issuer]) => [name, { kind: issuer.kind }]));
    const set = await loadPolicies(config.policies.dir, { ...(issuers === undefined ? {} : { issuers }), maxTtl: config.limits.max_ttl });
    return { version: set.version, byName: new Map([...set.policies].map(([name, policy]) => [name, { ttlMax: policy.ttl.max }])) };
  } catch (error) {
    io.stderr.write(
      `latchkey audit report: the policy set could not be loaded (${asciiLines((error as Error).message)}); the sections that need it are skipped\n`,
    );
    return undefined;
  }
}
