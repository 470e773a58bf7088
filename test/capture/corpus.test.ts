// Every shared capture reads without error, frame count equal to capinfos'; each pcapng and the nanosecond pcap equal their `editcap -F pcap` twins.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../agent/capture/file.js';
import type { RawFrame } from '../../agent/capture/types.js';
import { HAVE_SHARED, SHARED_ABSENT, SHARED_CAPTURES } from '../helpers/paths.js';

const files = HAVE_SHARED
  ? ['hl7', 'dicom', 'mqtt', 'other'].flatMap((d) =>
      readdirSync(path.join(SHARED_CAPTURES, d))
        .filter((f) => /\.(pcap|pcapng|cap)$/.test(f))
        .map((f) => path.join(SHARED_CAPTURES, d, f)),
    )
  : [];

/** Frame counts from one capinfos run over the whole corpus (tshark would start once per file). */
function capinfosCounts(): Map<string, number> {
  const out = execFileSync('capinfos', ['-c', '-M', '-T', '-r', ...files], { encoding: 'utf8' });
  const counts = new Map<string, number>();
  for (const line of out.trim().split('\n')) {
    const [name, n] = line.split('\t');
    if (name !== undefined && n !== undefined) counts.set(name, Number(n));
  }
  return counts;
}

type Frame = Pick<RawFrame, 'index' | 'ts' | 'linkType' | 'origLen'> & { data: string };

async function readAll(f: string): Promise<Frame[]> {
  const out: Frame[] = [];
  await readCaptureFile(f, (fr) => {
    out.push({
      index: fr.index,
      ts: fr.ts,
      linkType: fr.linkType,
      origLen: fr.origLen,
      data: Buffer.from(fr.data).toString('hex'),
    });
  });
  return out;
}

describe.skipIf(!HAVE_SHARED)('shared capture corpus', () => {
  if (!HAVE_SHARED) console.warn(SHARED_ABSENT);
  const tmp = mkdtempSync(path.join(tmpdir(), 'ww-twins-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it(`reads all ${files.length} files with capinfos' frame counts`, async () => {
    expect(files.length).toBeGreaterThanOrEqual(50);
    const counts = capinfosCounts();
    const got = new Map<string, number>();
    for (const f of files) got.set(f, (await readCaptureFile(f, () => undefined)).frames);
    expect(got).toEqual(counts);
  });

  const twins = files.filter((f) => f.endsWith('.pcapng') || f.endsWith('zeek-http-get-to-ssh-server.pcap'));
  it.each(twins.map((f) => [path.basename(f), f]))('%s equals its editcap -F pcap twin', async (name, f) => {
    const twin = path.join(tmp, `${name}.twin.pcap`);
    execFileSync('editcap', ['-F', 'pcap', f, twin]);
    const a = await readAll(f);
    const b = await readAll(twin);
    expect(a.length).toBeGreaterThan(0);
    expect(a).toEqual(b);
  });

  it('a pcapng that mergecap writes from several link types holds the union of its inputs', async () => {
    const inputs = [
      'other/sv-decode-sll2-01.pcap',
      'other/zeek-ldap_issue-32.pcapng',
      'other/arkime-bigendian.pcap',
      'other/zeek-http-get-to-ssh-server.pcap',
    ].map((f) => path.join(SHARED_CAPTURES, f));
    const merged = path.join(tmp, 'merged.pcapng');
    execFileSync('mergecap', ['-F', 'pcapng', '-w', merged, ...inputs]);
    const key = (f: Frame): string => `${f.ts} ${f.linkType} ${f.origLen} ${f.data}`;
    const want = (await Promise.all(inputs.map(readAll))).flat().map(key).sort();
    const ifaces = new Set<number>();
    const got: string[] = [];
    await readCaptureFile(merged, (fr) => {
      ifaces.add(fr.ifIndex);
      got.push(
        key({
          index: 0,
          ts: fr.ts,
          linkType: fr.linkType,
          origLen: fr.origLen,
          data: Buffer.from(fr.data).toString('hex'),
        }),
      );
    });
    expect(got.sort()).toEqual(want);
    expect(ifaces.size).toBeGreaterThanOrEqual(3);
  });

  it('a nanosecond pcapng (if_tsresol 9, written by editcap) equals its nanosecond pcap source', async () => {
    const src = path.join(SHARED_CAPTURES, 'other/zeek-http-get-to-ssh-server.pcap');
    const ng = path.join(tmp, 'ns.pcapng');
    execFileSync('editcap', ['-F', 'pcapng', src, ng]);
    const idbResol = readFileSync(ng).indexOf(Buffer.from([9, 0, 1, 0, 9])); // option 9, length 1, value 9
    expect(idbResol).toBeGreaterThan(0);
    const a = await readAll(ng);
    expect(a).toEqual(await readAll(src));
    expect(a.some((f) => f.ts % 1000 !== 0)).toBe(true);
  });

  it('the nanosecond file really has nanosecond magic', async () => {
    const f = twins.find((x) => x.endsWith('.pcap'));
    expect(f).toBeDefined();
    expect(readFileSync(f!).subarray(0, 4).toString('hex')).toBe('4d3cb2a1');
  });
});
