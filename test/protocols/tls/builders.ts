// TLS byte builders for tests: records, handshake messages, ClientHello/ServerHello with chosen extensions, Certificate lists.

export type Bytes = number[];

export const u8 = (v: number): Bytes => [v & 0xff];
export const u16 = (v: number): Bytes => [(v >> 8) & 0xff, v & 0xff];
export const u24 = (v: number): Bytes => [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
export const ascii = (s: string): Bytes => Array.from(s, (c) => c.charCodeAt(0));
export const vec8 = (b: Bytes): Bytes => [...u8(b.length), ...b];
export const vec16 = (b: Bytes): Bytes => [...u16(b.length), ...b];
export const vec24 = (b: Bytes): Bytes => [...u24(b.length), ...b];

export const ext = (type: number, body: Bytes): Bytes => [...u16(type), ...vec16(body)];
export const sniExt = (name: string): Bytes => ext(0, vec16([0, ...vec16(ascii(name))]));
export const alpnExt = (names: Bytes[]): Bytes => ext(16, vec16(names.flatMap(vec8)));
export const versionsExt = (vs: number[]): Bytes => ext(43, vec8(vs.flatMap(u16)));
export const groupsExt = (gs: number[]): Bytes => ext(10, vec16(gs.flatMap(u16)));
export const pointsExt = (ps: number[]): Bytes => ext(11, vec8(ps));
export const sigAlgsExt = (ss: number[]): Bytes => ext(13, vec16(ss.flatMap(u16)));
/** An extension with an opaque body (its type is all a fingerprint sees). */
export const emptyExt = (type: number): Bytes => ext(type, []);

export interface HelloOptions {
  version?: number;
  sessionId?: Bytes;
  ciphers?: number[];
  /** Whole extensions (type + length + body), in order; undefined = no extensions block at all. */
  extensions?: Bytes[];
}

export function clientHelloBody(o: HelloOptions = {}): Bytes {
  const body = [
    ...u16(o.version ?? 0x0303),
    ...new Array<number>(32).fill(0x11),
    ...vec8(o.sessionId ?? []),
    ...vec16((o.ciphers ?? [0x1301, 0xc02f]).flatMap(u16)),
    ...vec8([0]),
  ];
  if (o.extensions !== undefined) body.push(...vec16(o.extensions.flat()));
  return body;
}

export const HRR_RANDOM = Array.from(
  Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'),
);

export function serverHelloBody(o: {
  version?: number;
  cipher?: number;
  random?: Bytes;
  extensions?: Bytes[];
}): Bytes {
  const body = [
    ...u16(o.version ?? 0x0303),
    ...(o.random ?? new Array<number>(32).fill(0x22)),
    ...vec8([]),
    ...u16(o.cipher ?? 0xc02f),
    0,
  ];
  if (o.extensions !== undefined) body.push(...vec16(o.extensions.flat()));
  return body;
}

export const handshake = (type: number, body: Bytes): Bytes => [type, ...vec24(body)];
export const record = (type: number, body: Bytes, version = 0x0303): Bytes => [
  type,
  ...u16(version),
  ...vec16(body),
];
export const hsRecord = (body: Bytes): Bytes => record(22, body);
export const certificateBody = (ders: Bytes[]): Bytes => vec24(ders.flatMap(vec24));
export const CCS = record(20, [1]);
export const appData = (n: number): Bytes => record(23, new Array<number>(n).fill(0xee));
