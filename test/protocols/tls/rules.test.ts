// The TLS rules (rules/tls.yaml) on what the analyzer reports: validity against packet time, legacy versions, weak
// keys; each a standing condition of the device (an exposure), not an alert.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../../agent/engine/engine.js';
import { loadRules } from '../../../agent/engine/rules/rules.js';
import type { EventRecord } from '../../../agent/protocols/types.js';
import type { Finding } from '../../../agent/wire/finding.js';
import { FIXTURES, REPO_ROOT } from '../../helpers/paths.js';
import { replayTls } from './helpers.js';

const RULES = loadRules(path.join(REPO_ROOT, 'rules'));

function findingsOf(events: readonly EventRecord[]): Finding[] {
  const out: Finding[] = [];
  const engine = new Engine({ site: null, rules: RULES, baseline: null, agentId: 't' }, (f) => out.push(f));
  for (const e of events) engine.onEvent(e);
  engine.flush();
  return out.filter((f) => f.rule.startsWith('tls.'));
}

describe('TLS certificate validity against packet time', () => {
  it('days_to_expiry and expired follow the leaf not_after and the packet time', async () => {
    const { events } = await replayTls(path.join(FIXTURES, 'tls', 'tls12-dicom.pcap'));
    const certs = events.filter((e) => e.type === 'certificate');
    expect(certs.length).toBeGreaterThan(0);
    for (const c of certs) {
      const notAfterMs = Date.parse(String(c.fields.not_after));
      const packetMs = (c.tsMicros ?? 0) / 1000;
      expect(c.fields.days_to_expiry).toBe(Math.floor((notAfterMs - packetMs) / 86_400_000));
      expect(c.fields.expired).toBe(notAfterMs < packetMs);
    }
  });

  it('the fixture certificates are valid at capture time: no exposure', async () => {
    const { events } = await replayTls(path.join(FIXTURES, 'tls', 'tls12-dicom.pcap'));
    expect(findingsOf(events).map((f) => f.rule)).toEqual([]);
  });
});

describe('TLS rules', () => {
  it('an expired or soon-expiring leaf is an exposure of the device that sent it', async () => {
    const { events } = await replayTls(path.join(FIXTURES, 'tls', 'tls12-dicom.pcap'));
    const cert = events.find((e) => e.type === 'certificate');
    expect(cert).toBeDefined();
    if (!cert) return;
    const expired = { ...cert, fields: { ...cert.fields, expired: true, days_to_expiry: -3 } };
    const soon = { ...cert, fields: { ...cert.fields, expired: false, days_to_expiry: 12 } };
    const a = findingsOf([expired]);
    expect(a.map((f) => [f.rule, f.class, f.device.ip])).toEqual([
      ['tls.certificate-expired', 'exposure', cert.src.ip],
    ]);
    expect(a[0]?.evidence).toMatchObject({ not_after: cert.fields.not_after });
    expect(findingsOf([soon]).map((f) => f.rule)).toEqual(['tls.certificate-expiring']);
    // The fixture's own verdict, computed by the analyzer at packet time.
    expect(cert.fields.expired).toBe(false);
    expect(Number(cert.fields.days_to_expiry)).toBeGreaterThan(30);
  });

  it('a server that negotiates TLS 1.0 is reported once, the TLS 1.2 and 1.3 fixtures not at all', async () => {
    const legacy = await replayTls(path.join(FIXTURES, 'tls', 'tls10-legacy.pcap'));
    const f = findingsOf(legacy.events);
    expect(f.map((x) => [x.rule, x.class, x.evidence.version])).toEqual([
      ['tls.legacy-version', 'exposure', 'TLS 1.0'],
    ]);
    for (const file of ['tls12-dicom.pcap', 'tls13-https.pcap', 'mqtt-mosquitto-tls12.pcap']) {
      const r = await replayTls(path.join(FIXTURES, 'tls', file));
      expect(
        findingsOf(r.events).map((x) => x.rule),
        file,
      ).toEqual([]);
    }
  });

  it('a short RSA key is reported, a 2048-bit one is not', async () => {
    const { events } = await replayTls(path.join(FIXTURES, 'tls', 'tls12-dicom.pcap'));
    const cert = events.find((e) => e.type === 'certificate');
    if (!cert) throw new Error('no certificate in the fixture');
    const weak = { ...cert, fields: { ...cert.fields, key_type: 'rsa', key_bits: 1024 } };
    expect(findingsOf([weak]).map((f) => f.rule)).toEqual(['tls.weak-key']);
    const ok = { ...cert, fields: { ...cert.fields, key_type: 'rsa', key_bits: 2048 } };
    expect(findingsOf([ok]).map((f) => f.rule)).toEqual([]);
  });
});
