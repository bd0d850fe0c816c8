import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IDENTITY_CLAIMS, identityFromClaims } from '../../exchange-service/src/audit/record.ts';

describe('identityFromClaims', () => {
  const cases: Array<{ name: string; claims: Record<string, unknown>; field: (typeof IDENTITY_CLAIMS)[number]; expected: string | null }> = [
    { name: 'string copied as is', claims: { repository: 'acme/webapp' }, field: 'repository', expected: 'acme/webapp' },
    { name: 'number as its JSON text', claims: { repository_id: 892341 }, field: 'repository_id', expected: '892341' },
    { name: 'large number as its JSON text', claims: { run_id: 1e21 }, field: 'run_id', expected: '1e+21' },
    { name: 'boolean as its JSON text', claims: { environment: true }, field: 'environment', expected: 'true' },
    { name: 'object becomes null', claims: { ref: { toString: 'refs/heads/main' } }, field: 'ref', expected: null },
    { name: 'array becomes null', claims: { actor: ['octocat'] }, field: 'actor', expected: null },
    { name: 'null stays null', claims: { sha: null }, field: 'sha', expected: null },
    { name: 'absent claim is null', claims: {}, field: 'workflow_ref', expected: null },
    { name: 'newline, quote, NUL and ESC kept exactly', claims: { actor: 'a\n"b"\u0000\u001b[31m' }, field: 'actor', expected: 'a\n"b"\u0000\u001b[31m' },
    { name: 'inherited property ignored', claims: Object.create({ repository: 'evil/repo' }) as Record<string, unknown>, field: 'repository', expected: null },
  ];
  for (const { name, claims, field, expected } of cases) {
    test(name, () => assert.equal(identityFromClaims(claims)[field], expected));
  }

  test('has exactly one field per identity claim, never other claims', () => {
    const identity = identityFromClaims({ sub: 'repo:acme/webapp', aud: 'x', iss: 'y', repository: 'acme/webapp' });
    assert.deepEqual(Object.keys(identity), [...IDENTITY_CLAIMS]);
    assert.equal(Object.values(identity).filter((value) => value !== null).length, 1);
  });

  test('IDENTITY_CLAIMS lists the SPEC §5 claims in order', () => {
    assert.deepEqual(
      [...IDENTITY_CLAIMS],
      [
        'repository',
        'repository_id',
        'repository_owner',
        'repository_owner_id',
        'ref',
        'sha',
        'workflow_ref',
        'job_workflow_ref',
        'environment',
        'event_name',
        'run_id',
        'run_attempt',
        'actor',
        'actor_id',
        'runner_environment',
      ],
    );
  });
});
