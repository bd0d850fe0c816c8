/**
 * The harness the refusal and retry tests share: the real service, a flaky
 * loopback proxy in front of it, a runner, and the job's OIDC variables.
 */
import { startTestService, type TestService } from '../support/service.ts';
import { createRunner, type Runner } from './runner.ts';
import { startFlakyProxy, type FlakyProxy } from './flaky-proxy.ts';

export interface ProxiedService {
  svc: TestService;
  proxy: FlakyProxy;
  runner: Runner;
  /** ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN as the runner sets them. */
  job: Record<string, string>;
  /** The Action's inputs for `webapp/read` through the proxy, with overrides. */
  inputs(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

/** Starts the service with `policies`, a proxy in front of it and a runner. */
export async function startProxiedService(policies: Record<string, string>): Promise<ProxiedService> {
  const svc = await startTestService({ policies });
  const proxy = await startFlakyProxy(svc.url);
  const runner = await createRunner();
  return {
    svc,
    proxy,
    runner,
    job: { ACTIONS_ID_TOKEN_REQUEST_URL: svc.issuer.actionsTokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: svc.issuer.runtimeToken },
    inputs: (extra = {}) => ({ url: proxy.url, policy: 'webapp/read', audience: 'https://latchkey.test', ...extra }),
    async close() {
      await runner.close();
      await proxy.close();
      await svc.close();
    },
  };
}
