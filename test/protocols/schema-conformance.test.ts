// Every field every analyzer emits, on every capture we have (our fixtures and the shared corpus), is declared in its
// protocol's schema for that event type, with the declared JSON kind: the schema is the truth the rule validator,
// docs/events.md and the collector's labels are built from, so an undeclared field would be a field no rule may use.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import { Pipeline } from '../../agent/pipeline.js';
import { PROTOCOL_SCHEMAS } from '../../agent/protocols/registry.js';
import { fieldsOf } from '../../agent/protocols/schema.js';
import type { EventRecord, FieldKind, FieldSpec, FieldValue } from '../../agent/protocols/types.js';
import { FIXTURES, HAVE_SHARED, SHARED_CAPTURES } from '../helpers/paths.js';

function captures(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...captures(full));
    else if (/\.(pcap|pcapng)$/.test(name)) out.push(full);
  }
  return out.sort();
}

function kindOf(v: FieldValue): FieldKind | 'null' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : (typeof v as 'string' | 'number' | 'boolean');
}

/** Problems of one value against its spec: wrong kind, or a key of an object (element) the spec does not list. */
function problems(name: string, v: FieldValue, spec: FieldSpec): string[] {
  const kind = kindOf(v);
  // null stands for "absent" in a few fields (flow app, vlan); any kind may be null.
  if (kind !== 'null' && kind !== spec.kind) return [`${name}: ${kind}, schema says ${spec.kind}`];
  if (!spec.keys) return [];
  const elements = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const e of elements) {
    if (e === null || typeof e !== 'object' || Array.isArray(e)) continue;
    for (const [k, sub] of Object.entries(e)) {
      const ks = spec.keys[k];
      out.push(...(ks ? problems(`${name}.${k}`, sub, ks) : [`${name}.${k}: not in the schema`]));
    }
  }
  return out;
}

async function eventsOf(file: string): Promise<EventRecord[]> {
  const events: EventRecord[] = [];
  const p = new Pipeline({}, { onEvent: (e) => events.push(e) });
  try {
    await readCaptureFile(file, (f) => p.onFrame(f));
  } catch {
    // A capture cut short (some fixtures are, on purpose) still yields the events before the fault.
  }
  p.finish();
  return events;
}

const ours = captures(FIXTURES);
const shared = HAVE_SHARED ? captures(SHARED_CAPTURES) : [];
/** proto → event types seen over all captures, to show the check looked at something. */
const seen = new Map<string, Set<string>>();
const schemas = new Map(PROTOCOL_SCHEMAS.map((s) => [s.proto as string, s]));

describe('every emitted field is in its protocol schema', () => {
  it.each([...ours, ...shared].map((f) => [path.relative(path.dirname(FIXTURES), f), f]))(
    '%s',
    async (_name, file) => {
      const bad = new Set<string>();
      for (const ev of await eventsOf(file)) {
        let types = seen.get(ev.proto);
        if (!types) seen.set(ev.proto, (types = new Set()));
        types.add(ev.type);
        const schema = schemas.get(ev.proto);
        if (!schema) {
          bad.add(`proto ${ev.proto} has no schema`);
          continue;
        }
        const fields = fieldsOf(schema, ev.type);
        if (!fields) {
          bad.add(`${ev.proto} type ${ev.type} is not in the schema`);
          continue;
        }
        for (const [name, value] of Object.entries(ev.fields)) {
          const spec = fields[name];
          if (!spec) bad.add(`${ev.proto} ${ev.type}: field ${name} is not in the schema`);
          else for (const p of problems(name, value, spec)) bad.add(`${ev.proto} ${ev.type}: ${p}`);
        }
        if (ev.type === 'anomaly' && !(String(ev.fields.code) in schema.anomalies))
          bad.add(`${ev.proto}: anomaly code ${String(ev.fields.code)} is not in the schema`);
      }
      expect([...bad]).toEqual([]);
    },
  );

  it('looked at events of every protocol and most of their types', () => {
    expect(ours.length).toBeGreaterThan(10);
    for (const schema of PROTOCOL_SCHEMAS) {
      const types = seen.get(schema.proto) ?? new Set();
      const declared = Object.keys(schema.events);
      const covered = declared.filter((t) => types.has(t));
      console.log(`${schema.proto}: ${covered.length} of ${declared.length} event types seen in captures`);
      expect(covered.length, `${schema.proto} event types seen`).toBeGreaterThan(0);
    }
    if (!HAVE_SHARED)
      console.warn(`shared captures absent at ${SHARED_CAPTURES}: only our fixtures were checked`);
  });
});

describe('identity hints name fields their schema declares', () => {
  it.each(PROTOCOL_SCHEMAS.filter((s) => (s.identity ?? []).length > 0).map((s) => [s.proto, s] as const))(
    '%s',
    (_proto, schema) => {
      for (const h of schema.identity ?? []) {
        const [name = '', key] = h.field.split('.');
        for (const type of h.types) {
          const spec = schema.events[type]?.fields[name];
          expect(spec, `${schema.proto} ${type} has ${name}`).toBeDefined();
          if (key !== undefined) expect(spec?.kind, `${schema.proto}.${name} is an object`).toBe('object');
        }
      }
    },
  );
});
