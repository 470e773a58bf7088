// Conformance: the TLS events of every capture with TLS (shared corpus and fixtures/tls) agree with tshark's reading of
// the same capture, field by field; certificates also with `openssl x509` reading the DER tshark extracted.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { versionName } from '../../../agent/protocols/tls/constants.js';
import type { EventRecord, FieldValue } from '../../../agent/protocols/types.js';
import { FIXTURES, HAVE_SHARED, SHARED_ABSENT, SHARED_CAPTURES } from '../../helpers/paths.js';
import { HAVE_TSHARK, replayTls, tsharkFields } from './helpers.js';

const HAVE_OPENSSL = existsSync('/usr/bin/openssl');
if (!HAVE_TSHARK) console.warn('tshark not found: TLS conformance tests skipped');
if (!HAVE_OPENSSL) console.warn('openssl not found: certificate fields are compared by SHA-256 only');

const HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';
const ENDPOINTS = ['ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst', 'ipv6.dst', 'tcp.dstport'];
const CH_FIELDS = [
  'tls.handshake.version',
  'tls.handshake.extensions_server_name',
  'tls.handshake.extensions_alpn_str',
  'tls.handshake.ciphersuite',
  'tls.handshake.extension.type',
  'tls.handshake.extensions_supported_group',
  'tls.handshake.extensions_ec_point_format',
  'tls.handshake.sig_hash_alg',
  'tls.handshake.extensions.supported_version',
  'tls.handshake.ja3',
  'tls.handshake.ja3_full',
];
const SH_FIELDS = [
  'tls.handshake.version',
  'tls.handshake.random',
  'tls.handshake.ciphersuite',
  'tls.handshake.extension.type',
  'tls.handshake.extensions_alpn_str',
  'tls.handshake.extensions.supported_version',
  'tls.handshake.ja3s',
  'tls.handshake.ja3s_full',
];

/** Fields compared and fields that agreed, over every capture (the figure the issue asks for). */
const tally = { compared: 0, agreed: 0, disagreements: [] as string[], byCapture: new Map<string, number>() };

const nums = (v: string[]): number[] => v.map((x) => Number(x));
const one = (v: string[]): string | undefined => v[0];
const key = (src: string, sport: number, dst: string, dport: number): string =>
  `${src}|${sport}>${dst}|${dport}`;

type Line = Record<string, string[]>;
const lineKey = (l: Line): string =>
  key(
    one(l['ip.src'] ?? []) ?? one(l['ipv6.src'] ?? []) ?? '',
    Number(one(l['tcp.srcport'] ?? [])),
    one(l['ip.dst'] ?? []) ?? one(l['ipv6.dst'] ?? []) ?? '',
    Number(one(l['tcp.dstport'] ?? [])),
  );
const eventKey = (e: EventRecord): string => key(e.src.ip, e.src.port, e.dst.ip, e.dst.port);

function compare(where: string, field: string, ours: FieldValue | undefined, theirs: unknown): void {
  tally.compared++;
  const capture = where.split(' ')[0] ?? '';
  tally.byCapture.set(capture, (tally.byCapture.get(capture) ?? 0) + 1);
  const a = JSON.stringify(ours ?? null);
  const b = JSON.stringify(theirs ?? null);
  if (a === b) tally.agreed++;
  else tally.disagreements.push(`${where} ${field}: ours ${a}, tshark ${b}`);
}

/** Our events of one type grouped by direction key, in order. */
function byKey(events: EventRecord[], type: string): Map<string, EventRecord[]> {
  const m = new Map<string, EventRecord[]>();
  for (const e of events.filter((x) => x.type === type))
    m.set(eventKey(e), [...(m.get(eventKey(e)) ?? []), e]);
  return m;
}

/** Pairs tshark's lines with our events of the same direction, in order; the counts must agree. */
function paired(lines: Line[], ours: Map<string, EventRecord[]>, what: string): Array<[Line, EventRecord]> {
  const theirs = new Map<string, Line[]>();
  for (const l of lines) theirs.set(lineKey(l), [...(theirs.get(lineKey(l)) ?? []), l]);
  const keys = new Set([...theirs.keys(), ...ours.keys()]);
  const out: Array<[Line, EventRecord]> = [];
  for (const k of keys) {
    const t = theirs.get(k) ?? [];
    const o = ours.get(k) ?? [];
    expect(o.length, `${what} on ${k}`).toBe(t.length);
    t.forEach((l, i) => {
      const e = o[i];
      if (e) out.push([l, e]);
    });
  }
  return out;
}

/** `openssl x509` reading of one DER: the reference for the certificate fields. */
function opensslCert(derHex: string): Record<string, FieldValue> {
  const der = Buffer.from(derHex.replace(/:/g, ''), 'hex');
  const run = (...args: string[]): string =>
    execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', ...args], {
      input: der,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'ignore'],
    });
  const rdn = (which: 'subject' | 'issuer'): Record<string, string> => {
    const text = run(`-${which}`, '-nameopt', 'RFC2253').replace(/^\w+=/, '').trim();
    const out: Record<string, string> = {};
    for (const part of text.split(/(?<!\\),/)) {
      const eq = part.indexOf('=');
      const k = part.slice(0, eq);
      // RFC 2253 lists the most specific attribute first; the first CN/O is the one every tool shows.
      out[k] ??= part.slice(eq + 1).replace(/\\(.)/g, '$1');
    }
    return out;
  };
  const date = (flag: string): string => new Date(run(flag).split('=')[1]?.trim() ?? '').toISOString();
  const bits = /Public-Key: \((\d+) bit\)/.exec(run('-text'))?.[1];
  const sanText = (() => {
    try {
      return run('-ext', 'subjectAltName');
    } catch {
      return '';
    }
  })();
  const san = [...sanText.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1] ?? '');
  const subject = rdn('subject');
  const issuer = rdn('issuer');
  const out: Record<string, FieldValue> = {
    subject_cn: subject.CN ?? null,
    subject_o: subject.O ?? null,
    issuer_cn: issuer.CN ?? null,
    issuer_o: issuer.O ?? null,
    not_before: date('-startdate'),
    not_after: date('-enddate'),
    key_bits: bits === undefined ? null : Number(bits),
  };
  if (sanText !== '') out.san_dns = san;
  return out;
}

async function checkCapture(file: string): Promise<void> {
  const name = path.basename(file);
  const { events, counters } = await replayTls(file);
  expect(counters.analyzerErrors.tls).toBe(0);

  const ch = tsharkFields(file, 'tls.handshake.type == 1', [...ENDPOINTS, ...CH_FIELDS]);
  for (const [t, e] of paired(ch, byKey(events, 'client_hello'), `${name} client_hello`)) {
    const f = e.fields;
    const w = `${name} ${eventKey(e)} client_hello`;
    compare(
      w,
      'legacy_version',
      f.legacy_version,
      versionName(Number(one(t['tls.handshake.version'] ?? []))),
    );
    compare(w, 'sni', f.sni, one(t['tls.handshake.extensions_server_name'] ?? []));
    const alpn = t['tls.handshake.extensions_alpn_str'] ?? [];
    compare(w, 'alpn', f.alpn, alpn.length ? alpn : undefined);
    compare(w, 'cipher_suites', f.cipher_suites, nums(t['tls.handshake.ciphersuite'] ?? []));
    compare(w, 'extensions', f.extensions, nums(t['tls.handshake.extension.type'] ?? []));
    const groups = t['tls.handshake.extensions_supported_group'] ?? [];
    compare(w, 'supported_groups', f.supported_groups, groups.length ? nums(groups) : undefined);
    const points = t['tls.handshake.extensions_ec_point_format'] ?? [];
    compare(w, 'ec_point_formats', f.ec_point_formats, points.length ? nums(points) : undefined);
    const sigs = t['tls.handshake.sig_hash_alg'] ?? [];
    compare(w, 'signature_algorithms', f.signature_algorithms, sigs.length ? nums(sigs) : undefined);
    const sv = t['tls.handshake.extensions.supported_version'] ?? [];
    compare(w, 'supported_versions', f.supported_versions, sv.length ? nums(sv) : undefined);
    compare(w, 'ja3', f.ja3, one(t['tls.handshake.ja3'] ?? []));
    compare(w, 'ja3_full', f.ja3_full, one(t['tls.handshake.ja3_full'] ?? []));
  }

  const sh = tsharkFields(file, 'tls.handshake.type == 2', [...ENDPOINTS, ...SH_FIELDS]);
  for (const [t, e] of paired(sh, byKey(events, 'server_hello'), `${name} server_hello`)) {
    const f = e.fields;
    const w = `${name} ${eventKey(e)} server_hello`;
    const legacy = Number(one(t['tls.handshake.version'] ?? []));
    const selected = one(t['tls.handshake.extensions.supported_version'] ?? []);
    compare(w, 'legacy_version', f.legacy_version, versionName(legacy));
    compare(w, 'version_code', f.version_code, selected === undefined ? legacy : Number(selected));
    compare(w, 'cipher_suite', f.cipher_suite, Number(one(t['tls.handshake.ciphersuite'] ?? [])));
    compare(w, 'extensions', f.extensions, nums(t['tls.handshake.extension.type'] ?? []));
    compare(w, 'alpn', f.alpn, one(t['tls.handshake.extensions_alpn_str'] ?? []));
    const random = (one(t['tls.handshake.random'] ?? []) ?? '').replace(/:/g, '');
    compare(w, 'hello_retry_request', f.hello_retry_request, random === HRR_RANDOM);
    compare(w, 'ja3s', f.ja3s, one(t['tls.handshake.ja3s'] ?? []));
    compare(w, 'ja3s_full', f.ja3s_full, one(t['tls.handshake.ja3s_full'] ?? []));
  }

  const certs = tsharkFields(file, 'tls.handshake.type == 11', [...ENDPOINTS, 'tls.handshake.certificate']);
  for (const [t, e] of paired(certs, byKey(events, 'certificate'), `${name} certificate`)) {
    const w = `${name} ${eventKey(e)} certificate`;
    const ders = t['tls.handshake.certificate'] ?? [];
    compare(w, 'count', e.fields.count, ders.length);
    const ours = (e.fields.certs ?? []) as Array<Record<string, FieldValue>>;
    ders.forEach((hex, i) => {
      const c = ours[i] ?? {};
      const der = Buffer.from(hex.replace(/:/g, ''), 'hex');
      compare(`${w}[${i}]`, 'sha256', c.sha256, createHash('sha256').update(der).digest('hex'));
      compare(`${w}[${i}]`, 'der_bytes', c.der_bytes, der.length);
      if (!HAVE_OPENSSL) return;
      for (const [k, v] of Object.entries(opensslCert(hex))) compare(`${w}[${i}]`, k, c[k], v);
    });
    // The leaf is flattened on the event for rules.
    expect(e.fields.subject_cn, w).toEqual(ours[0]?.subject_cn);
    expect(e.fields.not_after, w).toEqual(ours[0]?.not_after);
  }
  const alerts = tsharkFields(file, 'tls.alert_message', [
    ...ENDPOINTS,
    'tls.alert_message.level',
    'tls.alert_message.desc',
  ]);
  // tshark lists one line per frame; a frame may hold several alerts, each is one event of ours.
  const alertLines = alerts.flatMap((l) =>
    (l['tls.alert_message.level'] ?? []).map((level, i) => ({
      ...l,
      'tls.alert_message.level': [level],
      'tls.alert_message.desc': [(l['tls.alert_message.desc'] ?? [])[i] ?? ''],
    })),
  );
  for (const [t, e] of paired(alertLines, byKey(events, 'alert'), `${name} alert`)) {
    const w = `${name} ${eventKey(e)} alert`;
    compare(w, 'level', e.fields.level, Number(one(t['tls.alert_message.level'] ?? [])));
    compare(w, 'description', e.fields.description, Number(one(t['tls.alert_message.desc'] ?? [])));
  }
  // Nothing we report that tshark did not see as a handshake message.
  expect(events.filter((e) => e.type === 'anomaly').map((e) => e.fields.code)).toEqual([]);
}

function capturesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(pcap|pcapng)$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

const SHARED = [
  'other/zeek-tls_hrr.pcap',
  'dicom/tapirxl-synthetic_philips_demo.pcap',
  'mqtt/sv-mqtt-events-missing-connect.pcap',
].map((f) => path.join(SHARED_CAPTURES, f));
const OURS = capturesIn(path.join(FIXTURES, 'tls'));

if (!HAVE_SHARED) console.warn(SHARED_ABSENT);

describe.skipIf(!HAVE_TSHARK || !HAVE_SHARED)('conformance with tshark: shared captures with TLS', () => {
  it.each(SHARED)('%s', async (file) => {
    await checkCapture(file);
  });

  it('the HelloRetryRequest capture gives two ClientHellos and an HRR before the final ServerHello', async () => {
    const { events } = await replayTls(SHARED[0] ?? '');
    expect(events.map((e) => `${e.type}:${String(e.fields.retry ?? e.fields.hello_retry_request)}`)).toEqual([
      'client_hello:false',
      'server_hello:true',
      'client_hello:true',
      'server_hello:false',
    ]);
  });
});

describe.skipIf(!HAVE_TSHARK || OURS.length === 0)('conformance with tshark: fixtures/tls', () => {
  it('has the eight sessions of scripts/make-tls-fixtures.sh', () => {
    expect(OURS.map((f) => path.basename(f))).toEqual([
      'dicom-dcmtk-tls.pcap',
      'mqtt-mosquitto-tls12.pcap',
      'tls-refused.pcap',
      'tls10-legacy.pcap',
      'tls12-dicom.pcap',
      'tls12-mutual-mqtt.pcap',
      'tls12-untrusted.pcap',
      'tls13-https.pcap',
    ]);
  });

  it.each(OURS)('%s', async (file) => {
    await checkCapture(file);
  });

  it('TLS 1.2 shows both chains in clear (server leaf + CA; the client certificate); TLS 1.3 none', async () => {
    const types = async (f: string): Promise<string[]> =>
      (await replayTls(path.join(FIXTURES, 'tls', f))).events.map(
        (e) => `${e.type}/${e.src.port < 10000 ? 's' : 'c'}`,
      );
    expect(await types('tls12-dicom.pcap')).toEqual(['client_hello/c', 'server_hello/s', 'certificate/s']);
    expect(await types('tls12-mutual-mqtt.pcap')).toEqual([
      'client_hello/c',
      'server_hello/s',
      'certificate/s',
      'certificate/c',
    ]);
    expect(await types('tls13-https.pcap')).toEqual(['client_hello/c', 'server_hello/s']);
    expect(await types('tls-refused.pcap')).toEqual(['client_hello/c', 'alert/s']);
    expect(await types('tls12-untrusted.pcap')).toEqual([
      'client_hello/c',
      'server_hello/s',
      'certificate/s',
      'alert/c',
    ]);
    const refused = (await replayTls(path.join(FIXTURES, 'tls', 'tls12-untrusted.pcap'))).events;
    expect(refused.find((e) => e.type === 'alert')?.fields).toEqual({
      level: 2,
      description: 48,
      description_name: 'unknown_ca',
    });
    const legacy = (await replayTls(path.join(FIXTURES, 'tls', 'tls10-legacy.pcap'))).events;
    expect(legacy.find((e) => e.type === 'server_hello')?.fields.version).toBe('TLS 1.0');
  });
});

afterAll(() => {
  if (tally.compared === 0) return;
  const pct = ((100 * tally.agreed) / tally.compared).toFixed(2);
  console.log(
    `TLS conformance: ${tally.agreed} of ${tally.compared} fields agree with tshark/openssl (${pct} %)`,
  );
  for (const [capture, n] of tally.byCapture) console.log(`  ${capture}: ${n} fields`);
  for (const d of tally.disagreements.slice(0, 20)) console.log(`  ${d}`);
  expect(tally.disagreements).toEqual([]);
});
