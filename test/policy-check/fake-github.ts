/**
 * A loopback stand-in for the part of GitHub's REST API the review action
 * uses: the issue comments of a pull request (list with `Link` paging,
 * create, update) and `GET /user`, which answers 403 as it does for an
 * installation token (GITHUB_TOKEN) unless the token is a person's. It
 * records every request, and can
 * refuse every comment request with a status (a token without
 * `pull-requests: write`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A stored comment. */
export interface FakeComment {
  id: number;
  issue: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
}

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  body: unknown;
}

export interface FakeGitHubOptions {
  owner: string;
  repo: string;
  /** Answer every comment request (list, create, update) with this status. */
  refuseComments?: number;
  /** A personal token's account: `GET /user` answers it and it writes new comments. Default: GITHUB_TOKEN (the Actions bot; `GET /user` is 403). */
  personalToken?: FakeComment['user'];
}

export interface FakeGitHub {
  /** The API base URL, for `GITHUB_API_URL`. */
  url: string;
  requests: RecordedRequest[];
  comments: FakeComment[];
  /** Adds a comment as if someone had written it. */
  seed(comment: Omit<FakeComment, 'id'>): FakeComment;
  close(): Promise<void>;
}

const ACTIONS_BOT: FakeComment['user'] = { login: 'github-actions[bot]', type: 'Bot' };

/** Starts the fake API on 127.0.0.1 (a free port). */
export async function startFakeGitHub(options: FakeGitHubOptions): Promise<FakeGitHub> {
  const requests: RecordedRequest[] = [];
  const comments: FakeComment[] = [];
  let nextId = 1000;
  const seed = (comment: Omit<FakeComment, 'id'>): FakeComment => {
    const stored = { ...comment, id: nextId++ };
    comments.push(stored);
    return stored;
  };
  const server = createServer((request, response) => {
    void readBody(request).then((text) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const body = parseJson(text);
      requests.push({ method: request.method ?? '', path: url.pathname, query: url.searchParams, authorization: request.headers.authorization, body });
      route({ method: request.method ?? '', url, body, response, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
    });
  });
  const repoPath = `/repos/${options.owner}/${options.repo}`;
  const route = (call: { method: string; url: URL; body: unknown; response: ServerResponse; base: string }): void => {
    const { method, url, response } = call;
    const issueComments = new RegExp(`^${repoPath}/issues/(\\d+)/comments$`).exec(url.pathname);
    const oneComment = new RegExp(`^${repoPath}/issues/comments/(\\d+)$`).exec(url.pathname);
    if (method === 'GET' && url.pathname === '/user') {
      return options.personalToken === undefined
        ? json(response, 403, { message: 'Resource not accessible by integration' })
        : json(response, 200, options.personalToken);
    }
    if ((issueComments !== null || oneComment !== null) && options.refuseComments !== undefined) {
      return json(response, options.refuseComments, { message: 'Resource not accessible by integration' });
    }
    if (issueComments !== null && method === 'GET')
      return listPage(
        response,
        call.base,
        url,
        comments.filter((c) => c.issue === Number(issueComments[1])),
      );
    const text = (call.body as { body?: unknown } | undefined)?.body;
    if ((method === 'POST' || method === 'PATCH') && typeof text !== 'string') return json(response, 422, { message: 'body is missing' });
    if (issueComments !== null && method === 'POST') {
      const comment = seed({ issue: Number(issueComments[1]), body: String(text), user: options.personalToken ?? ACTIONS_BOT });
      return json(response, 201, wire(comment));
    }
    const existing = oneComment === null ? undefined : comments.find((c) => c.id === Number(oneComment[1]));
    if (existing !== undefined && method === 'PATCH') {
      existing.body = String(text);
      return json(response, 200, wire(existing));
    }
    json(response, 404, { message: 'Not Found' });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    comments,
    seed,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** One page of comments (`per_page`, `page`), with a `Link: rel="next"` header while more remain. */
function listPage(response: ServerResponse, base: string, url: URL, all: FakeComment[]): void {
  const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? '30'));
  const page = Number(url.searchParams.get('page') ?? '1');
  const items = all.slice((page - 1) * perPage, page * perPage);
  if (page * perPage < all.length) {
    const next = new URL(url.pathname, base);
    next.searchParams.set('per_page', String(perPage));
    next.searchParams.set('page', String(page + 1));
    response.setHeader('link', `<${next.href}>; rel="next"`);
  }
  json(response, 200, items.map(wire));
}

function wire(comment: FakeComment) {
  return { id: comment.id, body: comment.body, user: comment.user, html_url: `https://github.example/comment/${comment.id}` };
}

function json(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(value));
}

/** The request's JSON, or its text when it is not JSON (undefined when empty). */
function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (text += chunk));
    request.on('end', () => resolve(text));
    request.on('error', reject);
  });
}
