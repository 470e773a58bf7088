// The real path: replayFiles (capture → decode → flows → detection → DICOM analyzer) gives the same DICOM events as feeding the session directly.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayFiles } from '../../../agent/pipeline.js';
import type { EventRecord } from '../../../agent/protocols/types.js';
import { FIXTURES, HAVE_SHARED, SHARED_CAPTURES } from '../../helpers/paths.js';
import { readTcpSegments } from './pcap-streams.js';
import { newSession } from './sink.js';

/** Direct-session events of every stream, as "type command" strings in stream then arrival order. */
function directEvents(file: string): string[] {
  const segs = readTcpSegments(file);
  const out: string[] = [];
  for (const id of new Set(segs.map((s) => s.stream))) {
    const { s, sink } = newSession();
    for (const seg of segs.filter((x) => x.stream === id)) s.onData(seg.dir, seg.payload, seg.ts);
    s.onEnd(0, Number.MAX_SAFE_INTEGER);
    s.onEnd(1, Number.MAX_SAFE_INTEGER);
    if (sink.confirmed === 0) continue;
    for (const e of sink.events) out.push(`${e.type} ${String(e.fields.command ?? e.fields.code ?? '')}`);
  }
  return out;
}

async function replayEvents(file: string): Promise<EventRecord[]> {
  const events: EventRecord[] = [];
  await replayFiles([file], {}, { onEvent: (e) => void (e.proto === 'dicom' && events.push(e)) });
  return events;
}

function pcaps(dir: string): string[] {
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.pcap'))
        .map((f) => path.join(dir, f))
    : [];
}

describe('DICOM through replayFiles', () => {
  const files = [
    ...pcaps(path.join(FIXTURES, 'dicom')),
    ...(HAVE_SHARED ? pcaps(path.join(SHARED_CAPTURES, 'dicom')) : []),
  ];
  for (const f of files) {
    it(path.basename(f), async () => {
      const events = await replayEvents(f);
      const byFlow = new Map<string, string[]>();
      for (const e of events) {
        const list = byFlow.get(e.flow) ?? [];
        list.push(`${e.type} ${String(e.fields.command ?? e.fields.code ?? '')}`);
        byFlow.set(e.flow, list);
      }
      expect([...byFlow.values()].flat().sort()).toEqual(directEvents(f).sort());
    });
  }

  it('move fixture: events carry endpoints and flow ids', async () => {
    const events = await replayEvents(path.join(FIXTURES, 'dicom', 'move.pcap'));
    const rq = events.find((e) => e.type === 'dimse' && e.fields.command === 'C-MOVE-RQ');
    expect(rq).toMatchObject({
      proto: 'dicom',
      src: { ip: '127.0.0.1' },
      dst: { ip: '127.0.0.1', port: 11113 },
      fields: { move_destination: 'STORESCP' },
    });
    expect(new Set(events.map((e) => e.flow)).size).toBe(2);
  });
});
