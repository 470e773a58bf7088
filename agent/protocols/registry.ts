// The analyzers wardwatch ships: adding a protocol is one folder and one line here (README "Adding a protocol").
import { dicomSpec } from './dicom/index.js';
import { hl7Spec } from './hl7/index.js';
import { mqttSpec } from './mqtt/index.js';
import { tlsSpec } from './tls/index.js';
import type { AnalyzerSpec, ProtocolSchema } from './types.js';

/** Stream analyzers, in probe order. */
export const ANALYZERS: readonly AnalyzerSpec[] = [hl7Spec, dicomSpec, mqttSpec, tlsSpec];

/** Every protocol's schema: what the rule validator, the docs generator and the collector's labels read. */
export const PROTOCOL_SCHEMAS: readonly ProtocolSchema[] = ANALYZERS.map((a) => a.schema);
