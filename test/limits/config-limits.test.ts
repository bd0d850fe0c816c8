/**
 * The HTTP limits in the config (`limits.request_timeout`, `headers_timeout`,
 * `max_connections`, `max_header_bytes`): SPEC §4 defaults, environment
 * overrides, and refusals that name the field.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../exchange-service/src/config.ts';

describe('config: HTTP limits', () => {
  it('has defaults: 30 s per request, 10 s for headers, 1024 connections, 16 KiB of headers; the older limits unchanged', () => {
    const { limits } = loadConfig({ env: {} });
    assert.deepEqual(limits, {
      max_ttl: 3600,
      per_repository_per_minute: 120,
      per_client_ip_per_minute: 600,
      max_body_bytes: 65536,
      max_token_bytes: 16384,
      request_timeout: 30,
      headers_timeout: 10,
      max_connections: 1024,
      max_header_bytes: 16384,
    });
  });

  it('takes LATCHKEY_LIMITS_* overrides', () => {
    const { limits } = loadConfig({
      env: {
        LATCHKEY_LIMITS_REQUEST_TIMEOUT: '1m',
        LATCHKEY_LIMITS_HEADERS_TIMEOUT: '5s',
        LATCHKEY_LIMITS_MAX_CONNECTIONS: '64',
        LATCHKEY_LIMITS_MAX_HEADER_BYTES: '8192',
      },
    });
    assert.deepEqual([limits.request_timeout, limits.headers_timeout, limits.max_connections, limits.max_header_bytes], [60, 5, 64, 8192]);
  });

  const refusals = [
    {
      name: 'headers_timeout longer than request_timeout',
      env: { LATCHKEY_LIMITS_REQUEST_TIMEOUT: '5s', LATCHKEY_LIMITS_HEADERS_TIMEOUT: '10s' },
      field: /limits\.headers_timeout: must not be longer than limits\.request_timeout \(5s\)/,
    },
    { name: 'a request_timeout that is not a duration', env: { LATCHKEY_LIMITS_REQUEST_TIMEOUT: 'forever' }, field: /limits\.request_timeout/ },
    { name: 'max_connections 0', env: { LATCHKEY_LIMITS_MAX_CONNECTIONS: '0' }, field: /limits\.max_connections/ },
    { name: 'max_header_bytes under 1 KiB', env: { LATCHKEY_LIMITS_MAX_HEADER_BYTES: '512' }, field: /limits\.max_header_bytes/ },
    { name: 'max_header_bytes over 1 MiB', env: { LATCHKEY_LIMITS_MAX_HEADER_BYTES: String(2 * 1024 * 1024) }, field: /limits\.max_header_bytes/ },
  ];
  for (const c of refusals) {
    it(`refuses ${c.name}, naming the field`, () => {
      assert.throws(
        () => loadConfig({ env: c.env }),
        (error: unknown) => error instanceof ConfigError && c.field.test(error.message),
      );
    });
  }
});
