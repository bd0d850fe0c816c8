/**
 * parseTokenResponse, the Action's view of the service's `/token` answer
 * (SPEC §3): `token` and `aws` grants parse, extra fields the service may
 * add are allowed, and a body that does not fit is described field by
 * field, never with the values (they are credentials).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenResponse } from '../../action/src/token-response.ts';

const TOKEN = {
  access_token: 'eyJ.access.token',
  issued_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  token_type: 'Bearer',
  expires_in: 600,
  grant_id: 'g-1',
  policy: 'webapp/read',
  expires_at: '2026-11-23T10:10:00Z',
};
const AWS_OBJECT = {
  access_key_id: 'ASIAEXAMPLE',
  secret_access_key: 'SECRET-KEY-VALUE',
  session_token: 'SESSION-VALUE',
  expiration: '2026-11-23T10:10:00Z',
  region: 'eu-west-1',
  assumed_role_arn: 'arn:aws:sts::1:assumed-role/r/s',
};
const AWS = { ...TOKEN, access_token: 'SESSION-VALUE', issued_token_type: 'urn:latchkey:token-type:aws-credentials', token_type: 'N_A', aws: AWS_OBJECT };
const SECRETS = ['eyJ.access.token', 'ASIAEXAMPLE', 'SECRET-KEY-VALUE', 'SESSION-VALUE'];

describe('parseTokenResponse', () => {
  const accepted: Array<{ name: string; body: unknown }> = [
    { name: 'a token grant', body: TOKEN },
    { name: 'a token grant with a scope', body: { ...TOKEN, scope: 'artifacts:read' } },
    { name: 'a github grant', body: { ...TOKEN, issued_token_type: 'urn:latchkey:token-type:github-token' } },
    { name: 'an aws grant', body: AWS },
    {
      name: 'an aws grant without the optional expiration and role',
      body: { ...AWS, aws: { ...AWS_OBJECT, expiration: undefined, assumed_role_arn: undefined } },
    },
    {
      name: 'fields the service adds later, at the top and in aws',
      body: { ...AWS, renewable: true, approval: { id: 'a' }, aws: { ...AWS_OBJECT, account_id: '1' } },
    },
  ];
  for (const c of accepted) {
    it(`accepts ${c.name}`, () => {
      const result = parseTokenResponse(c.body);
      assert.ok(result.ok, result.ok ? '' : result.problem);
      assert.equal(result.response.grant_id, 'g-1');
    });
  }

  it('keeps the aws object of an aws grant', () => {
    const result = parseTokenResponse(AWS);
    assert.ok(result.ok);
    assert.deepEqual(result.response.aws, AWS_OBJECT);
  });

  const { grant_id: _grantId, ...withoutGrantId } = TOKEN;
  const { region: _region, ...awsWithoutRegion } = AWS_OBJECT;
  const refused: Array<{ name: string; body: unknown; problem: string }> = [
    { name: 'no grant_id', body: withoutGrantId, problem: 'grant_id is missing' },
    { name: 'an empty access_token', body: { ...TOKEN, access_token: '' }, problem: 'access_token is empty' },
    { name: 'expires_in as a string', body: { ...TOKEN, expires_in: '600' }, problem: 'expires_in is a string, not number' },
    { name: 'a null policy', body: { ...TOKEN, policy: null }, problem: 'policy is null, not string' },
    { name: 'aws without its region', body: { ...AWS, aws: awsWithoutRegion }, problem: 'aws.region is missing' },
    { name: 'an empty secret access key', body: { ...AWS, aws: { ...AWS_OBJECT, secret_access_key: '' } }, problem: 'aws.secret_access_key is empty' },
    { name: 'aws as an array', body: { ...AWS, aws: [AWS_OBJECT] }, problem: 'aws is an array, not object' },
    {
      name: 'two problems at once',
      body: { ...TOKEN, grant_id: 7, expires_at: undefined },
      problem: 'grant_id is a number, not string; expires_at is missing',
    },
    { name: 'an array body', body: [TOKEN], problem: 'the body is an array, not object' },
    { name: 'a null body', body: null, problem: 'the body is null, not object' },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}, naming the field`, () => {
      const result = parseTokenResponse(c.body);
      assert.equal(result.ok, false);
      assert.equal(result.ok ? '' : result.problem, c.problem);
    });
  }

  it('never puts a value in the problem', () => {
    const result = parseTokenResponse({ ...AWS, expires_in: 'SECRET-KEY-VALUE', aws: { ...AWS_OBJECT, region: ['SESSION-VALUE'], access_key_id: 42 } });
    assert.equal(result.ok, false);
    const problem = result.ok ? '' : result.problem;
    assert.match(problem, /aws\.region is an array/);
    for (const secret of SECRETS) assert.ok(!problem.includes(secret), `the problem shows ${secret}`);
  });
});
