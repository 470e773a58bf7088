// Byte builders for DICOM test messages: upper-layer PDUs (PS3.8 9.3), command sets (PS3.7 E, implicit VR LE) and identifiers (PS3.5 7.1).

const enc = new TextEncoder();

export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u16be(v: number): Uint8Array {
  return Uint8Array.of((v >> 8) & 0xff, v & 0xff);
}
function u32be(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}
function u16le(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >> 8) & 0xff);
}
function u32le(v: number): Uint8Array {
  return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
}

/** Text padded to even length (UIDs with NUL, other strings with space), PS3.5 6.2. */
export function padded(s: string, pad = 0x20): Uint8Array {
  const b = enc.encode(s);
  return b.length % 2 === 0 ? b : concat(b, Uint8Array.of(pad));
}

export function pdu(type: number, body: Uint8Array, lengthOverride?: number): Uint8Array {
  return concat(Uint8Array.of(type, 0), u32be(lengthOverride ?? body.length), body);
}

export function item(type: number, body: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(type, 0), u16be(body.length), body);
}

function ae(s: string): Uint8Array {
  const b = new Uint8Array(16).fill(0x20);
  b.set(enc.encode(s).subarray(0, 16));
  return b;
}

export interface RqContext {
  id: number;
  abstract: string;
  ts: string[];
}
export interface AcContext {
  id: number;
  result: number;
  ts?: string;
}

export interface AssociateOpts {
  called?: string;
  calling?: string;
  version?: number;
  appContext?: string;
  rq?: RqContext[];
  ac?: AcContext[];
  maxLength?: number;
  implUid?: string;
  implVersion?: string;
  async?: [number, number];
  roles?: { uid: string; scu: number; scp: number }[];
  userIdentity?: { type: number; primary: string; secondary: string };
  userIdentityAc?: string;
  rawCalled?: Uint8Array;
}

export const APP_CONTEXT = '1.2.840.10008.3.1.1.1';
export const VERIFICATION = '1.2.840.10008.1.1';
export const CT_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
export const STUDY_ROOT_FIND = '1.2.840.10008.5.1.4.1.2.2.1';
export const STUDY_ROOT_MOVE = '1.2.840.10008.5.1.4.1.2.2.2';
export const IMPLICIT = '1.2.840.10008.1.2';
export const EXPLICIT = '1.2.840.10008.1.2.1';
export const DEFLATE = '1.2.840.10008.1.2.1.99';
export const BIG_ENDIAN = '1.2.840.10008.1.2.2';

function associate(type: 1 | 2, o: AssociateOpts): Uint8Array {
  const items: Uint8Array[] = [item(0x10, enc.encode(o.appContext ?? APP_CONTEXT))];
  for (const c of o.rq ?? []) {
    items.push(
      item(
        0x20,
        concat(
          Uint8Array.of(c.id, 0, 0, 0),
          item(0x30, enc.encode(c.abstract)),
          ...c.ts.map((t) => item(0x40, enc.encode(t))),
        ),
      ),
    );
  }
  for (const c of o.ac ?? []) {
    items.push(
      item(
        0x21,
        concat(
          Uint8Array.of(c.id, 0, c.result, 0),
          c.ts !== undefined ? item(0x40, enc.encode(c.ts)) : new Uint8Array(0),
        ),
      ),
    );
  }
  const ui: Uint8Array[] = [];
  if (o.maxLength !== undefined) ui.push(item(0x51, u32be(o.maxLength)));
  if (o.implUid !== undefined) ui.push(item(0x52, enc.encode(o.implUid)));
  if (o.async) ui.push(item(0x53, concat(u16be(o.async[0]), u16be(o.async[1]))));
  for (const r of o.roles ?? [])
    ui.push(item(0x54, concat(u16be(r.uid.length), enc.encode(r.uid), Uint8Array.of(r.scu, r.scp))));
  if (o.implVersion !== undefined) ui.push(item(0x55, enc.encode(o.implVersion)));
  if (o.userIdentity) {
    const p = enc.encode(o.userIdentity.primary);
    const s = enc.encode(o.userIdentity.secondary);
    ui.push(
      item(0x58, concat(Uint8Array.of(o.userIdentity.type, 1), u16be(p.length), p, u16be(s.length), s)),
    );
  }
  if (o.userIdentityAc !== undefined) {
    const r = enc.encode(o.userIdentityAc);
    ui.push(item(0x59, concat(u16be(r.length), r)));
  }
  if (ui.length > 0) items.push(item(0x50, concat(...ui)));
  const fixed = concat(
    u16be(o.version ?? 1),
    u16be(0),
    o.rawCalled ?? ae(o.called ?? 'SERVER'),
    ae(o.calling ?? 'CLIENT'),
    new Uint8Array(32),
  );
  return pdu(type, concat(fixed, ...items));
}

export function associateRq(o: AssociateOpts = {}): Uint8Array {
  return associate(1, {
    rq: [{ id: 1, abstract: VERIFICATION, ts: [IMPLICIT] }],
    maxLength: 16384,
    implUid: '1.2.3.4',
    implVersion: 'TEST_1',
    ...o,
  });
}

export function associateAc(o: AssociateOpts = {}): Uint8Array {
  return associate(2, {
    ac: [{ id: 1, result: 0, ts: IMPLICIT }],
    maxLength: 16384,
    implUid: '1.2.3.5',
    implVersion: 'TEST_SCP',
    ...o,
  });
}

export function associateRj(result = 1, source = 1, reason = 7): Uint8Array {
  return pdu(3, Uint8Array.of(0, result, source, reason));
}
export function releaseRq(): Uint8Array {
  return pdu(5, new Uint8Array(4));
}
export function releaseRp(): Uint8Array {
  return pdu(6, new Uint8Array(4));
}
export function abort(source = 0, reason = 0): Uint8Array {
  return pdu(7, Uint8Array.of(0, 0, source, reason));
}

export interface PdvSpec {
  ctx: number;
  /** Message control header: bit 0 command, bit 1 last fragment. */
  ctl: number;
  data: Uint8Array;
}

export function pdv(p: PdvSpec): Uint8Array {
  return concat(u32be(p.data.length + 2), Uint8Array.of(p.ctx, p.ctl), p.data);
}

export function pdata(...pdvs: PdvSpec[]): Uint8Array {
  return pdu(4, concat(...pdvs.map(pdv)));
}

/** One implicit VR LE element (PS3.5 7.1.3). */
export function elemImplicit(tag: number, value: Uint8Array): Uint8Array {
  return concat(u16le(tag >>> 16), u16le(tag & 0xffff), u32le(value.length), value);
}

const LONG = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
/** One explicit VR LE element (PS3.5 7.1.2). */
export function elemExplicit(
  tag: number,
  vr: string,
  value: Uint8Array,
  undefinedLength = false,
): Uint8Array {
  const head = concat(u16le(tag >>> 16), u16le(tag & 0xffff), enc.encode(vr));
  const len = undefinedLength ? 0xffffffff : value.length;
  return LONG.has(vr) ? concat(head, u16le(0), u32le(len), value) : concat(head, u16le(len), value);
}

export interface CommandOpts {
  field: number;
  messageId?: number;
  respondedTo?: number;
  affectedClass?: string;
  affectedInstance?: string;
  requestedClass?: string;
  moveDestination?: string;
  priority?: number;
  status?: number;
  dataSet?: boolean;
  remaining?: number;
  completed?: number;
  failed?: number;
  warning?: number;
  errorComment?: string;
}

export function us(v: number): Uint8Array {
  return u16le(v);
}

/** A command set with its group length, elements in ascending tag order (PS3.7 6.3.1). */
export function commandSet(o: CommandOpts): Uint8Array {
  const els: Uint8Array[] = [];
  if (o.affectedClass !== undefined) els.push(elemImplicit(0x00000002, padded(o.affectedClass, 0)));
  if (o.requestedClass !== undefined) els.push(elemImplicit(0x00000003, padded(o.requestedClass, 0)));
  els.push(elemImplicit(0x00000100, us(o.field)));
  if (o.messageId !== undefined) els.push(elemImplicit(0x00000110, us(o.messageId)));
  if (o.respondedTo !== undefined) els.push(elemImplicit(0x00000120, us(o.respondedTo)));
  if (o.moveDestination !== undefined) els.push(elemImplicit(0x00000600, padded(o.moveDestination)));
  if (o.priority !== undefined) els.push(elemImplicit(0x00000700, us(o.priority)));
  els.push(elemImplicit(0x00000800, us(o.dataSet ? 0x0000 : 0x0101)));
  if (o.status !== undefined) els.push(elemImplicit(0x00000900, us(o.status)));
  if (o.errorComment !== undefined) els.push(elemImplicit(0x00000902, padded(o.errorComment)));
  if (o.affectedInstance !== undefined) els.push(elemImplicit(0x00001000, padded(o.affectedInstance, 0)));
  if (o.remaining !== undefined) els.push(elemImplicit(0x00001020, us(o.remaining)));
  if (o.completed !== undefined) els.push(elemImplicit(0x00001021, us(o.completed)));
  if (o.failed !== undefined) els.push(elemImplicit(0x00001022, us(o.failed)));
  if (o.warning !== undefined) els.push(elemImplicit(0x00001023, us(o.warning)));
  const body = concat(...els);
  return concat(elemImplicit(0x00000000, u32le(body.length)), body);
}

export const text = (s: string): Uint8Array => padded(s);

/** A whole association exchange (both directions) as [dir, bytes] steps. */
export type Step = [0 | 1, Uint8Array];
