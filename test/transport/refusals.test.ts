// Which connection failures the agent gives up on (issue 13 item 1): the classification behind exit 2 or a retry.
import { describe, expect, it } from 'vitest';
import {
  classifyHelloRefusal,
  classifyHttpRefusal,
  classifySocketError,
} from '../../agent/transport/client.js';

const err = (message: string, code?: string): Error & { code?: string } =>
  Object.assign(new Error(message), code !== undefined ? { code } : {});

describe('connection failures', () => {
  it('TLS verification failures and TLS alerts are permanent, socket errors transient', () => {
    for (const code of [
      'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'CERT_HAS_EXPIRED',
      'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
      'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
    ])
      expect(classifySocketError(err('x', code)), code).toEqual({
        reason: `TLS: x (${code})`,
        permanent: true,
      });
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH'])
      expect(classifySocketError(err('connect failed', code)).permanent, code).toBe(false);
    expect(classifySocketError(err('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED')).reason).toBe(
      'connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)',
    );
  });

  it('HTTP answers to the upgrade: 4xx refuse us for good (but 408, 429), 5xx is retried; the body is the reason', () => {
    expect(classifyHttpRefusal(403, 'client certificate refused: CERT_HAS_EXPIRED\n')).toEqual({
      reason: 'HTTP 403: client certificate refused: CERT_HAS_EXPIRED',
      permanent: true,
    });
    expect(classifyHttpRefusal(400, 'this collector speaks TLS: use wss:// (agents)').permanent).toBe(true);
    for (const s of [408, 429, 500, 502, 503])
      expect(classifyHttpRefusal(s, '').permanent, String(s)).toBe(false);
    expect(classifyHttpRefusal(503, '').reason).toBe('HTTP 503');
  });

  it("the collector's refusals of a hello: auth and id_in_use are permanent, anything else is not a hello refusal", () => {
    expect(classifyHelloRefusal('auth: bad token for agent w (not in the tokens file)')).toEqual({
      reason: 'the collector refused the agent: bad token for agent w (not in the tokens file)',
      permanent: true,
    });
    expect(classifyHelloRefusal('id_in_use: agent id w is already connected from 10.0.0.1')).toEqual({
      reason: 'agent id w is already connected from 10.0.0.1',
      permanent: true,
    });
    expect(classifyHelloRefusal('schema: $.findings[0].ts: expected a string')).toBeNull();
    expect(classifyHelloRefusal('store_failure: the collector could not write; resend')).toBeNull();
  });
});
