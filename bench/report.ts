/**
 * The benchmark's printed report: the machine, the figures, and a PASS/FAIL
 * verdict per figure against the floors of the issue.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, platform, arch, totalmem } from 'node:os';

/** The floors a release must meet on the reference machine (2 cores). */
export const FLOORS = {
  exchangesPerSecond: 2_000,
  p99Ms: 25,
  rssBytes: 250e6,
  startupMs: 2_000,
} as const;

/** The targets of issue 8 on the same machine (load generator included). */
export const TARGETS = {
  exchangesPerSecond: 5_000,
  /** At 32 connections. */
  p99Ms: 10,
  /** p50 at the largest policy count may exceed p50 at the smallest by this fraction. */
  p50Growth: 0.1,
  /** 100,000 policies. */
  largeLoadMs: 3_000,
  largeRssBytes: 400e6,
  actionMainMs: 300,
  /** Both bundles together (main.js + post.js). */
  bundleBytes: 1e6,
} as const;

/** `load average 1-min 5-min 15-min (…)` from /proc/loadavg, so readers can judge noise; `short`: the 1-minute figure alone. */
export function describeLoadAverage(short = false): string {
  try {
    const [one, five, fifteen, tasks] = readFileSync('/proc/loadavg', 'utf8').trim().split(/\s+/);
    return short ? `load average ${one}` : `load average ${one} ${five} ${fifteen} (1, 5, 15 min; runnable/total tasks ${tasks})`;
  } catch {
    return 'load average unavailable (no /proc/loadavg)';
  }
}

/** One line of the machine description. */
export function describeMachine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `machine: ${availableParallelism()} cores, ${model}, ${(totalmem() / 1e9).toFixed(1)} GB RAM, Node ${process.version} (${platform()} ${arch()})`;
}

const integer = new Intl.NumberFormat('en-GB', { maximumFractionDigits: 0 });

/** 12,345 */
export const formatCount = (value: number): string => integer.format(value);

/** Bytes as decimal megabytes: 187.3 MB. */
export const formatMB = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** Milliseconds with two decimals (µs resolution), or '–' when not measured. */
export const formatMs = (ms: number): string => (Number.isFinite(ms) ? `${ms.toFixed(2)} ms` : '–');

/** A figure, aligned, with its verdict when it has a floor. */
export function figure(label: string, value: string, verdict?: { pass: boolean; floor: string }): string {
  const line = `  ${label.padEnd(34)} ${value}`;
  if (verdict === undefined) return line;
  return `${line.padEnd(76)} ${verdict.pass ? 'PASS' : 'FAIL'} (floor ${verdict.floor})`;
}

/** A failure tally as indented lines, largest first. */
export function formatFailures(failures: Map<string, number>): string[] {
  return [...failures.entries()].sort((a, b) => b[1] - a[1]).map(([what, n]) => `    ${formatCount(n).padStart(8)}  ${what}`);
}
