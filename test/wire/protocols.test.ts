// The known protocol and message-type sets in wire/ (which bound the collector's labels) are the protocol schemas'
// (generated: test/deps/generated.test.ts), and the schemas list every event type the sessions emit.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKET_NAMES } from '../../agent/protocols/mqtt/constants.js';
import { PROTOCOL_SCHEMAS } from '../../agent/protocols/registry.js';
import { KNOWN_MESSAGE_TYPES, KNOWN_PROTOCOLS } from '../../agent/wire/protocols.js';
import { REPO_ROOT } from '../helpers/paths.js';

describe('known message types', () => {
  it('lists every MQTT packet name but the reserved type 0 (an anomaly, never an event)', () => {
    expect([...KNOWN_MESSAGE_TYPES.mqtt].sort()).toEqual(PACKET_NAMES.filter((n) => n !== 'reserved').sort());
  });

  it.each(['dicom', 'hl7'] as const)('lists every event type the %s session emits', (p) => {
    const src = readFileSync(path.join(REPO_ROOT, 'agent/protocols', p, 'session.ts'), 'utf8');
    const emitted = new Set([...src.matchAll(/\.event\(\s*\w+,\s*\w+,\s*'([a-z_]+)'/g)].map((m) => m[1]));
    expect(emitted.size).toBeGreaterThan(0);
    // A session that emits a type through a variable would escape this check: there must be none.
    expect(src.match(/\.event\(\s*\w+,\s*\w+,\s*[^'\s]/g) ?? []).toEqual([]);
    expect([...emitted].sort()).toEqual([...KNOWN_MESSAGE_TYPES[p]].sort());
  });

  it('covers the protocols the agent analyses', () => {
    expect([...KNOWN_PROTOCOLS].sort()).toEqual(PROTOCOL_SCHEMAS.map((s) => s.proto).sort());
  });
});
