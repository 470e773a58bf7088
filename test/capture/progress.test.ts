// readCaptureFile reports how far it has read, so the CLI can show progress on large files.
import { statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import { FIXTURES } from '../helpers/paths.js';

describe('readCaptureFile onProgress', () => {
  it('reports rising byte counts that end at the file size', async () => {
    const file = path.join(FIXTURES, 'scenarios/normal.pcap');
    const seen: number[] = [];
    const r = await readCaptureFile(file, () => {}, {
      chunkBytes: 16 * 1024,
      onProgress: (n) => seen.push(n),
    });
    expect(seen.length).toBeGreaterThan(5);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(statSync(file).size);
    expect(r.fileBytes).toBe(statSync(file).size);
  });
});
