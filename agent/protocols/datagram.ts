// The identity analyzers' common shape: one pure decode per datagram or frame, turned into a DatagramAnalyzerSpec and a schema whose event types share one field table.
import { num } from './schema.js';
import type {
  AnomalySpec,
  DatagramAnalyzer,
  DatagramAnalyzerSpec,
  EventFields,
  FieldSpec,
  ProtocolSchema,
  ProtoName,
} from './types.js';

/** One message decoded: its event, with how many strings and list items the caps cut; or why it is no message. */
export type Decoded =
  { type: string; fields: EventFields; cut: number } | { anomaly: string; malformed: boolean };

/** The anomaly fields every identity protocol may carry. */
export const IDENTITY_ANOMALY_FIELDS: Readonly<Record<string, FieldSpec>> = {
  cut: num('strings shortened and list items dropped by the caps (on `*.limit_exceeded`)'),
};

/** A schema whose event types all carry the same fields (the identity messages differ in type, not in shape). */
export function identitySchema(
  proto: ProtoName,
  title: string,
  types: Readonly<Record<string, string>>,
  fields: Readonly<Record<string, FieldSpec>>,
  anomalies: Readonly<Record<string, AnomalySpec>>,
): ProtocolSchema {
  const events: Record<string, { doc: string; fields: Readonly<Record<string, FieldSpec>> }> = {};
  for (const [type, doc] of Object.entries(types)) events[type] = { doc, fields };
  return { proto, title, events, anomalies, anomalyFields: IDENTITY_ANOMALY_FIELDS };
}

/**
 * A UDP identity analyzer: stateless per datagram (each announcement stands alone), so a flow's analyzer holds
 * nothing but whether it has confirmed the protocol yet.
 */
export function datagramSpec(
  proto: ProtoName,
  ports: readonly number[],
  decode: (payload: Uint8Array) => Decoded,
  schema: ProtocolSchema,
): DatagramAnalyzerSpec {
  const limitCode = `${proto}.limit_exceeded`;
  return {
    proto,
    defaultPorts: ports,
    schema,
    create(sink): DatagramAnalyzer {
      let confirmed = false;
      return {
        onDatagram(dir, payload, ts) {
          const r = decode(payload);
          if ('anomaly' in r) {
            sink.anomaly(dir, ts, r.anomaly, r.malformed);
            return;
          }
          if (!confirmed) {
            confirmed = true;
            sink.confirm();
          }
          sink.event(dir, ts, r.type, r.fields);
          if (r.cut > 0) sink.anomaly(dir, ts, limitCode, false, { cut: r.cut });
        },
      };
    },
  };
}
