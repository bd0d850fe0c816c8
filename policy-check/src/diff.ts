/**
 * The diff half of the review: the base commit's policy set against HEAD's,
 * rendered as the Markdown `latchkey policy diff` prints.
 */
import { diffPolicySets, renderDiffMarkdown, summarizeDiff } from '../../exchange-service/src/policy/index.ts';
import type { LoadedRevision } from './revision.ts';

/** What the review reports of the diff. */
export interface DiffOutcome {
  /** Starts with DIFF_MARKER. */
  markdown: string;
  /** The one-line summary (`1 widened, 0 added, …`). */
  summary: string;
  widened: number;
}

/** How the Markdown names the folder and the two sides. */
export interface DiffNames {
  folder: string;
  base: string;
  head: string;
}

/** Diffs two loaded revisions. */
export function diffRevisions(base: LoadedRevision, head: LoadedRevision, names: DiffNames): DiffOutcome {
  const diff = diffPolicySets(base.side, head.side);
  const notes = [...new Set([...base.skipped, ...head.skipped])].sort().map((path) => `not compared (a symbolic link or submodule): ${path}`);
  const markdown = renderDiffMarkdown(diff, {
    dir: names.folder,
    base: { revision: names.base, commit: base.commit },
    head: { revision: names.head, commit: head.commit },
    notes,
  });
  return { markdown, summary: summarizeDiff(diff), widened: diff.widened.length };
}
