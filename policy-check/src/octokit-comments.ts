/**
 * The real CommentApi: @actions/github's Octokit against the REST API at
 * `baseUrl` (the runner's `GITHUB_API_URL`; GitHub Enterprise Server has its
 * own). Octokit's errors become CommentApiError with the HTTP status.
 */
import { getOctokit } from '@actions/github';
import { CommentApiError, type CommentApi, type IssueComment } from './comment.ts';

/** Builds the comment API for `token`. */
export function createOctokitCommentApi(token: string, baseUrl: string): CommentApi {
  const octokit = getOctokit(token, { baseUrl });
  const issue = (pr: { owner: string; repo: string; number: number }) => ({ owner: pr.owner, repo: pr.repo, issue_number: pr.number });
  return {
    ownLogin: async () => {
      try {
        return (await octokit.rest.users.getAuthenticated()).data.login;
      } catch (error) {
        // Installation tokens are refused here (403 "Resource not accessible by integration").
        if (statusOf(error) === 403 || statusOf(error) === 404) return undefined;
        throw apiError(error, "reading the token's account");
      }
    },
    listComments: (pr) => ({
      async *[Symbol.asyncIterator]() {
        try {
          for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, { ...issue(pr), per_page: 100 })) {
            for (const comment of page.data) yield toComment(comment);
          }
        } catch (error) {
          throw apiError(error, `listing the comments of #${pr.number}`);
        }
      },
    }),
    createComment: async (pr, body) => {
      try {
        return (await octokit.rest.issues.createComment({ ...issue(pr), body })).data.id;
      } catch (error) {
        throw apiError(error, `commenting on #${pr.number}`);
      }
    },
    updateComment: async (pr, id, body) => {
      try {
        await octokit.rest.issues.updateComment({ owner: pr.owner, repo: pr.repo, comment_id: id, body });
      } catch (error) {
        throw apiError(error, `updating comment ${id} on #${pr.number}`);
      }
    },
  };
}

function toComment(comment: { id: number; body?: string | undefined; user: { login: string; type: string } | null }): IssueComment {
  return { id: comment.id, body: comment.body ?? '', author: { login: comment.user?.login ?? '', isBot: comment.user?.type === 'Bot' } };
}

/** The HTTP status of an Octokit RequestError (0 when there is none). */
function statusOf(error: unknown): number {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : 0;
}

function apiError(error: unknown, doing: string): CommentApiError {
  if (error instanceof CommentApiError) return error;
  const status = statusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return new CommentApiError(status, `${doing}: ${status === 0 ? '' : `HTTP ${status}: `}${message}`);
}
