/**
 * The policies folder replaced under a running service (SPEC §4: a new set
 * replaces the old only if every file validates; otherwise the old set
 * stays, `/readyz` says so, a metric counts it; never fail open). The folder
 * is laid out the way a Kubernetes ConfigMap mount is: the files live in a
 * versioned hidden folder, `..data` points at the current one, and the
 * visible names are links through `..data`; an update writes a new version
 * and swaps `..data` atomically.
 *
 * The invalid set used throughout would widen access if any of it were
 * loaded: it widens `webapp/read` to every ref, adds `webapp/admin`, and
 * carries one broken file.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestIssuer, type TestIssuer } from '../support/oidc-issuer.ts';
import { startTestService, exchangeParams, BASIC_POLICY, type TestService } from '../support/service.ts';

const WIDENED = BASIC_POLICY.replace('ref: refs/heads/main', 'ref: "refs/**"');
const RELEASE = BASIC_POLICY.replace('ref: refs/heads/main', 'ref: refs/heads/release');
const BROKEN = 'version: 1\ndescription: a typo\nsubjet: { repository_id: "892341" }\n';

/** The versions of the folder the tests swap between. */
const VERSIONS: Record<string, Record<string, string>> = {
  v1: { 'read.yaml': BASIC_POLICY },
  invalid: { 'read.yaml': WIDENED, 'admin.yaml': WIDENED, 'broken.yaml': BROKEN },
  v3: { 'read.yaml': RELEASE },
};

/** Writes every version below `policies/..<name>/webapp/`, points `..data` at v1 and links `webapp` through it. */
async function layOutConfigMap(policies: string): Promise<void> {
  for (const [version, files] of Object.entries(VERSIONS)) {
    await mkdir(join(policies, `..${version}`, 'webapp'), { recursive: true });
    for (const [name, text] of Object.entries(files)) await writeFile(join(policies, `..${version}`, 'webapp', name), text);
  }
  await symlink('..v1', join(policies, '..data'));
  await symlink('..data/webapp', join(policies, 'webapp'));
}

/** Points `..data` at another version in one rename, as the kubelet does (through its fixed `..data_tmp` link). */
async function swapTo(policies: string, version: string): Promise<void> {
  const temporary = join(policies, '..data_tmp');
  await symlink(`..${version}`, temporary);
  await rename(temporary, join(policies, '..data'));
}

/** The policy set version the service reports in force. */
async function versionInForce(svc: TestService): Promise<string> {
  const metrics = await (await fetch(`${svc.url}/metrics`)).text();
  const match = /latchkey_policy_set_info\{version="([^"]+)"\} 1/.exec(metrics);
  assert.ok(match?.[1], 'the metrics name the set in force');
  return match[1];
}

/** Polls `/readyz` every 50 ms (for up to 10 s) until it answers `status`. */
async function waitForReadiness(svc: TestService, status: number): Promise<void> {
  let last = 0;
  for (let i = 0; i < 200 && last !== status; i += 1) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    last = (await fetch(`${svc.url}/readyz`)).status;
  }
  assert.equal(last, status, `/readyz never answered ${status}`);
}

describe('the policies folder replaced under the running service', () => {
  let dir: string;
  let issuer: TestIssuer;
  let svc: TestService;
  let v1Version: string;
  const exchange = async (policy: string, ref: string) => svc.post('/token', exchangeParams(await issuer.sign({ ref }), policy));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-configmap-'));
    await layOutConfigMap(join(dir, 'policies'));
    issuer = await startTestIssuer({ audience: 'https://latchkey.test' });
    svc = await startTestService({ dir, issuer, policies: {}, config: { policies: { watch: true }, limits: { per_repository_per_minute: 0 } } });
    v1Version = await versionInForce(svc);
  });
  after(async () => {
    await svc?.close();
    await issuer?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('ATTACKS 23: swapped for an invalid set: the old set stays in force, /readyz 503, the failure counted; nothing of the new set is used', async () => {
    assert.equal((await exchange('webapp/read', 'refs/heads/main')).status, 200, 'v1 in force');
    await swapTo(svc.policiesDir, 'invalid');
    // SIGHUP's reload, so the test does not depend on the watcher (see the last test).
    assert.equal(await svc.server.reloadPolicies(), false, 'the invalid set is refused');
    await waitForReadiness(svc, 503);

    assert.equal(await versionInForce(svc), v1Version);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    assert.match(metrics, /latchkey_policy_reload_failures_total [1-9]/);
    assert.match(JSON.stringify(await (await fetch(`${svc.url}/readyz`)).json()), /policy reload failed/);
    assert.equal((await exchange('webapp/read', 'refs/heads/main')).status, 200, 'the old set still grants');
    const widened = await exchange('webapp/read', 'refs/heads/dev');
    assert.equal(widened.body.reason, 'policy_denied', 'the widened read.yaml of the invalid set is not in force');
    const added = await exchange('webapp/admin', 'refs/heads/main');
    assert.equal(added.body.reason, 'policy_unknown', 'the admin.yaml of the invalid set is not in force');
  });

  it('swapped on to a valid set: it takes over, and /readyz is 200 again', async () => {
    await swapTo(svc.policiesDir, 'v3');
    assert.equal(await svc.server.reloadPolicies(), true);
    await waitForReadiness(svc, 200);
    assert.notEqual(await versionInForce(svc), v1Version);
    assert.equal((await exchange('webapp/read', 'refs/heads/release')).status, 200, 'the new set grants');
    assert.equal((await exchange('webapp/read', 'refs/heads/main')).body.reason, 'policy_denied', 'and the old one no longer does');
  });

  it('reloads racing swaps between a valid and an invalid set only ever put a whole valid set in force (never fails open)', async () => {
    await swapTo(svc.policiesDir, 'v1');
    await waitForReadiness(svc, 200);
    let stop = false;
    const swapper = (async () => {
      for (let n = 0; !stop; n += 1) await swapTo(svc.policiesDir, n % 2 === 0 ? 'invalid' : 'v1');
    })();
    const seen = new Set<string>([v1Version]);
    try {
      // Stops at the first set that is not v1; a correct loader goes the distance.
      for (let i = 0; i < 60 && seen.size < 2; i += 1) {
        if (await svc.server.reloadPolicies()) seen.add(await versionInForce(svc));
      }
    } finally {
      stop = true;
      await swapper;
    }
    assert.deepEqual([...seen], [v1Version], 'every set accepted was v1 as a whole, never some files of the invalid set');
    await swapTo(svc.policiesDir, 'v1');
    assert.equal(await svc.server.reloadPolicies(), true);
  });
  it('policies.watch notices every ..data swap on its own (no SIGHUP)', async () => {
    await swapTo(svc.policiesDir, 'v1');
    assert.equal(await svc.server.reloadPolicies(), true);
    for (const [round, version] of ['v3', 'v1', 'v3', 'v1', 'v3', 'v1'].entries()) {
      const before = await versionInForce(svc);
      await swapTo(svc.policiesDir, version);
      let now = before;
      for (let i = 0; i < 40 && now === before; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        now = await versionInForce(svc);
      }
      assert.notEqual(now, before, `swap ${round + 1} (to ${version}) was not picked up within 2 s`);
    }
  });
});
