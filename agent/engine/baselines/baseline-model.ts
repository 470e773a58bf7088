// The per-device baseline model (issue 4 "Baselines"), the deviation codes the checker emits, and shared helpers.
// The document's types and schema live in agent/wire/baseline.ts (issue 10: approved baselines travel the wire).
import { isDeviceAddress, parseIp } from '../site/ip.js';
export type {
  PeerEntry,
  AePair,
  Implementation,
  DicomBaseline,
  Hl7App,
  Hl7SenderSeen,
  Hl7MessageType,
  Hl7Baseline,
  MqttTopic,
  MqttClientSeen,
  MqttBaseline,
  Range,
  VolumeBaseline,
  HourOfWeek,
  ArmedChecks,
  DeviceBaseline,
  Baseline,
} from '../../wire/baseline.js';

export const DEFAULT_MIN_LEARNING_S = 3600;

/** UTC hour of the week, Monday 00:00 = 0. */
export function hourOfWeek(hourIndex: number): number {
  const day = (Math.floor(hourIndex / 24) + 3) % 7; // 1970-01-01 was a Thursday
  return day * 24 + (((hourIndex % 24) + 24) % 24);
}

/**
 * Every deviation code the checker can emit. Their titles, severities, advice and docs/scenarios.md ids are written
 * once, in the `kind: baseline` rule of the same id in rules/baseline.yaml (issue 12: a second table here had
 * drifted from it on 18 of 23 titles); a test holds that every code has its rule.
 */
export const BASELINE_CODES = [
  'baseline.new-device',
  'baseline.new-peer',
  'baseline.new-service',
  'baseline.mac-changed',
  'baseline.new-ae-pair',
  'baseline.new-dicom-command',
  'baseline.new-sop-class',
  'baseline.new-move-destination',
  'baseline.implementation-changed',
  'baseline.tls-downgrade',
  'baseline.reject-rate-above-range',
  'baseline.new-hl7-sender',
  'baseline.new-hl7-message-type',
  'baseline.hl7-version-changed',
  'baseline.nak-rate-above-range',
  'baseline.feed-stopped',
  'baseline.new-mqtt-topic',
  'baseline.new-retained-topic',
  'baseline.new-mqtt-subscription',
  'baseline.mqtt-client-id-moved',
  'baseline.new-mqtt-client',
  'baseline.payload-above-range',
  'baseline.volume-above-range',
  'baseline.new-tls-server-name',
  'baseline.new-tls-fingerprint',
  'baseline.identity-changed',
] as const;
export type BaselineCode = (typeof BASELINE_CODES)[number];

/** Server ports that mean "this protocol over TLS"; a cleartext flow to a peer known only on these is a downgrade. */
export const TLS_PORTS: ReadonlySet<number> = new Set([2762, 8883, 443, 6443, 5671]);

/** Hard limits: every set in a learner, a baseline and the checker is capped; overflow is counted, never buffered. */
export interface BaselineLimits {
  maxDevices: number;
  maxPeersPerDevice: number;
  maxValuesPerSet: number;
  maxIntervalSamples: number;
  /** Checker: remembered (device, code, value) keys already reported. */
  maxReportedKeys: number;
  /** Checker: deviations of one code per device before further ones are only counted. */
  maxPerDeviceCode: number;
  maxFlows: number;
}

export const DEFAULT_BASELINE_LIMITS: BaselineLimits = {
  maxDevices: 10_000,
  maxPeersPerDevice: 512,
  maxValuesPerSet: 256,
  maxIntervalSamples: 512,
  maxReportedKeys: 100_000,
  maxPerDeviceCode: 20,
  maxFlows: 100_000,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NUMERIC = /^[0-9]+$/;
const HEX = /^(?:0x)?[0-9a-f]{6,}$/i;
const MAC_LIKE = /^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$/i;

/** Topic level that carries an id (serial, uuid, hex) rather than a name. */
function isIdSegment(seg: string): boolean {
  if (NUMERIC.test(seg) || UUID.test(seg) || MAC_LIKE.test(seg)) return true;
  return HEX.test(seg) && /[0-9]/.test(seg);
}

/** Generalise a topic or filter so that per-device ids collapse: `ward3/pump/0031/telemetry` → `ward3/pump/+/telemetry`. */
export function generaliseTopic(topic: string): string {
  return topic
    .split('/')
    .map((seg) => (isIdSegment(seg) ? '+' : seg))
    .join('/');
}

/** A unicast, non-public address (ip.ts `isDeviceAddress`): may be a device of the site. */
export function isPrivateIp(ip: string): boolean {
  const bytes = parseIp(ip);
  return bytes !== null && isDeviceAddress(bytes);
}

/** Median of a non-empty sample (sorted copy). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/**
 * A feed is periodic when it has at least 4 intervals, a median of at least 1 s, and 80% of its intervals
 * lie within [median/2, 2×median]; only such feeds get a cadence and can be reported as stopped.
 */
export function cadenceOf(intervalsUs: readonly number[]): number | undefined {
  if (intervalsUs.length < 4) return undefined;
  const m = median(intervalsUs);
  if (m < 1_000_000) return undefined;
  const regular = intervalsUs.filter((v) => v >= m / 2 && v <= m * 2).length;
  if (regular < intervalsUs.length * 0.8) return undefined;
  return Math.round(m / 1000) / 1000;
}

export const HOUR_US = 3_600_000_000;

export function hourOf(tsUs: number): number {
  return Math.floor(tsUs / HOUR_US);
}

/** HL7 acknowledgement codes that mean the receiver refused the message. */
export const NAK_CODES: ReadonlySet<string> = new Set(['AE', 'AR', 'CE', 'CR']);
