// Shorthands for writing a protocol's schema (types.ts ProtocolSchema) and the lookups every reader of schemas needs.
import type {
  AnomalySpec,
  EventFields,
  EventTypeSpec,
  EventVocabulary,
  FieldSpec,
  FieldValue,
  IdentityHint,
  ProtocolSchema,
} from './types.js';

export const str = (doc: string): FieldSpec => ({ kind: 'string', doc });
/** A string that names a device, application or service: shown in findings, learned into baselines. */
export const ident = (doc: string): FieldSpec => ({ kind: 'string', doc, identifier: true });
export const num = (doc: string): FieldSpec => ({ kind: 'number', doc });
export const bool = (doc: string): FieldSpec => ({ kind: 'boolean', doc });
export const list = (doc: string, keys?: Record<string, FieldSpec>): FieldSpec =>
  keys ? { kind: 'array', doc, keys } : { kind: 'array', doc };
export const obj = (doc: string, keys?: Record<string, FieldSpec>): FieldSpec =>
  keys ? { kind: 'object', doc, keys } : { kind: 'object', doc };

/** Every anomaly event carries its code. */
export const ANOMALY_CODE_FIELD: FieldSpec = {
  kind: 'string',
  doc: 'the anomaly code, e.g. mqtt.missing_connect',
};

/** The fields of one event type, `anomaly` included (code plus the protocol's anomaly fields). */
export function fieldsOf(
  schema: EventVocabulary,
  type: string,
): Readonly<Record<string, FieldSpec>> | undefined {
  if (type === 'anomaly') return { code: ANOMALY_CODE_FIELD, ...schema.anomalyFields };
  return schema.events[type]?.fields;
}

/** Event types of a schema, `anomaly` last when the protocol has anomaly codes. */
export function typesOf(schema: EventVocabulary): string[] {
  const types = Object.keys(schema.events);
  if (Object.keys(schema.anomalies).length > 0) types.push('anomaly');
  return types;
}

export function anomalyCodesOf(schema: EventVocabulary): string[] {
  return Object.keys(schema.anomalies);
}

export type { AnomalySpec, EventTypeSpec, EventVocabulary, FieldSpec, ProtocolSchema };

/** proto → event type → the identity hints that event carries, built once from the schemas. */
export function indexIdentityHints(
  schemas: readonly ProtocolSchema[],
): Map<string, Map<string, IdentityHint[]>> {
  const index = new Map<string, Map<string, IdentityHint[]>>();
  for (const s of schemas)
    for (const h of s.identity ?? [])
      for (const t of h.types) {
        let byType = index.get(s.proto);
        if (!byType) index.set(s.proto, (byType = new Map()));
        byType.set(t, [...(byType.get(t) ?? []), h]);
      }
  return index;
}

/**
 * The values an identity hint reads from an event's fields: its field, or a key of an object field (`txt.md`); an
 * array gives at most `max` (default 1) elements. Empty when `when` does not hold or the field is absent.
 */
export function hintValues(h: IdentityHint, fields: EventFields): FieldValue[] {
  if (h.when && !h.when(fields)) return [];
  const dot = h.field.indexOf('.');
  let v: FieldValue | undefined = fields[dot < 0 ? h.field : h.field.slice(0, dot)];
  if (dot >= 0)
    v = v !== null && typeof v === 'object' && !Array.isArray(v) ? v[h.field.slice(dot + 1)] : undefined;
  if (v === undefined) return [];
  return Array.isArray(v) ? v.slice(0, h.max ?? 1) : [v];
}
