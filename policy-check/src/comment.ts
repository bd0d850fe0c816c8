/**
 * One pull-request comment per pull request: the first run creates it, later
 * runs find it by the diff marker and update it. Only a comment written by
 * the token's own account counts, so a marker pasted into someone else's
 * comment is never mistaken for (or turned into) the review.
 */
import { DIFF_MARKER } from '../../exchange-service/src/policy/index.ts';
import type { PullRequest } from './inputs.ts';

/** An issue comment, as much of it as the review needs. */
export interface IssueComment {
  id: number;
  body: string;
  author: { login: string; isBot: boolean };
}

/** The part of GitHub's REST API the review uses (issue comments: a pull request is an issue). */
export interface CommentApi {
  /** The login the token acts as; undefined for installation tokens (GITHUB_TOKEN, an App's), which cannot ask. */
  ownLogin(): Promise<string | undefined>;
  /** The pull request's comments, oldest first, page by page. */
  listComments(pr: PullRequest): AsyncIterable<IssueComment>;
  createComment(pr: PullRequest, body: string): Promise<number>;
  updateComment(pr: PullRequest, id: number, body: string): Promise<void>;
}

/** GitHub refused or failed a request; `status` is the HTTP status (0: no answer). */
export class CommentApiError extends Error {
  override name = 'CommentApiError';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** GitHub refuses comments longer than 65,536 characters. */
export const MAX_COMMENT_CHARS = 65_536;

/** What happened to the comment. */
export type CommentOutcome = { action: 'created' | 'updated' | 'unchanged'; id: number };

/** Creates the review comment, or updates the one an earlier run created. */
export async function upsertReviewComment(api: CommentApi, pr: PullRequest, body: string): Promise<CommentOutcome> {
  const text = fitComment(body);
  const existing = await findReviewComment(api, pr);
  if (existing === undefined) return { action: 'created', id: await api.createComment(pr, text) };
  // An edit that changes nothing would still show the comment as edited.
  if (existing.body === text) return { action: 'unchanged', id: existing.id };
  await api.updateComment(pr, existing.id, text);
  return { action: 'updated', id: existing.id };
}

/** The first comment that starts with the marker and was written by the token's account (any bot, for installation tokens). */
async function findReviewComment(api: CommentApi, pr: PullRequest): Promise<IssueComment | undefined> {
  const login = await api.ownLogin();
  const ours = (comment: IssueComment): boolean => (login === undefined ? comment.author.isBot : comment.author.login === login);
  for await (const comment of api.listComments(pr)) {
    if (comment.body.startsWith(DIFF_MARKER) && ours(comment)) return comment;
  }
  return undefined;
}

/** Cuts a body GitHub would refuse at a line end, keeping the marker and saying where the rest is. */
export function fitComment(body: string): string {
  if (body.length <= MAX_COMMENT_CHARS) return body;
  const note = '\n\n… cut short: the whole diff is in the job summary.\n';
  const room = MAX_COMMENT_CHARS - note.length;
  const lineEnd = body.lastIndexOf('\n', room);
  return body.slice(0, lineEnd > 0 ? lineEnd : room) + note;
}
