/**
 * Symbolic links in the policies folder (ConfigMap mounts): files are read
 * where the listing found them, and every followed link is recorded so a
 * load can tell that the folder moved under it (and read it again).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPolicyFiles, linksMoved } from '../../../exchange-service/src/policy/load/find-files.ts';
import { BASIC_POLICY } from '../../support/service.ts';

describe('findPolicyFiles through links', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'latchkey-links-'));
    for (const version of ['v1', 'v2']) {
      await mkdir(join(dir, version, 'webapp'), { recursive: true });
      await writeFile(join(dir, version, 'webapp', 'read.yaml'), BASIC_POLICY);
    }
    await symlink('v1', join(dir, 'policies'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads files at the real path the listing saw, and records the folder link', async () => {
    const found = await findPolicyFiles(join(dir, 'policies'));
    assert.deepEqual(
      found.entries.map((entry) => entry.name),
      ['webapp/read'],
    );
    assert.equal(found.entries[0]?.file, join(dir, 'policies', 'webapp', 'read.yaml'));
    assert.match(String(found.entries[0]?.source), /\/v1\/webapp\/read\.yaml$/);
    assert.ok(found.links.some((link) => link.path === join(dir, 'policies') && link.real.endsWith('/v1')));
    assert.equal(await linksMoved(found.links), false);
  });

  it('says the links moved once the folder link points elsewhere', async () => {
    const found = await findPolicyFiles(join(dir, 'policies'));
    await symlink('v2', join(dir, 'policies.tmp'));
    await rename(join(dir, 'policies.tmp'), join(dir, 'policies'));
    assert.equal(await linksMoved(found.links), true);
  });

  it('records no links and no sources for a plain folder', async () => {
    const found = await findPolicyFiles(join(dir, 'v2'));
    assert.equal(found.links.length, 0);
    assert.equal(found.entries[0]?.source, undefined);
  });
});
