// Byte builders for MQTT 3.1 / 3.1.1 / 5.0 control packets (OASIS MQTT 3.1.1 §2-3, 5.0 §2-3), for table-driven tests.
import { PROPERTIES, PropType } from '../../../agent/protocols/mqtt/constants.js';

export type Bytes = Uint8Array;
export type Prop = [id: number, value: number | string | Bytes | [string, string]];

export function cat(...parts: Array<Bytes | number[]>): Bytes {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function varint(n: number): Bytes {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Uint8Array.from(out);
}

export const u16 = (n: number): Bytes => Uint8Array.from([(n >> 8) & 0xff, n & 0xff]);
export const u32 = (n: number): Bytes =>
  Uint8Array.from([(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
export const utf8 = (s: string): Bytes => new TextEncoder().encode(s);
export const str = (s: string): Bytes => {
  const b = utf8(s);
  return cat(u16(b.length), b);
};
export const bin = (b: Bytes): Bytes => cat(u16(b.length), b);

/** A property section (MQTT 5.0 §2.2.2): length, then id + value encoded by the id's type. */
export function props(list: readonly Prop[] = []): Bytes {
  const parts: Bytes[] = [];
  for (const [id, value] of list) {
    const def = PROPERTIES.get(id);
    parts.push(varint(id));
    if (!def) throw new Error(`unknown property ${id}`);
    switch (def.type) {
      case PropType.BYTE:
        parts.push(Uint8Array.from([value as number]));
        break;
      case PropType.U16:
        parts.push(u16(value as number));
        break;
      case PropType.U32:
        parts.push(u32(value as number));
        break;
      case PropType.VARINT:
        parts.push(varint(value as number));
        break;
      case PropType.UTF8:
        parts.push(str(value as string));
        break;
      case PropType.BINARY:
        parts.push(bin(value as Bytes));
        break;
      case PropType.UTF8_PAIR: {
        const [k, v] = value as [string, string];
        parts.push(str(k), str(v));
        break;
      }
    }
  }
  const body = cat(...parts);
  return cat(varint(body.length), body);
}

/** Fixed header (type << 4 | flags) + remaining length + body. */
export function packet(type: number, flags: number, body: Bytes): Bytes {
  return cat([(type << 4) | flags], varint(body.length), body);
}

export interface ConnectOpts {
  level?: 3 | 4 | 5;
  name?: string;
  clientId?: string;
  clean?: boolean;
  keepAlive?: number;
  username?: string;
  password?: string;
  will?: { topic: string; payload: string; qos?: number; retain?: boolean; props?: Prop[] };
  props?: Prop[];
  reservedBit?: boolean;
}

export function connect(o: ConnectOpts = {}): Bytes {
  const level = o.level ?? 4;
  const name = o.name ?? (level === 3 ? 'MQIsdp' : 'MQTT');
  let flags = 0;
  if (o.clean ?? true) flags |= 0x02;
  if (o.will) flags |= 0x04 | ((o.will.qos ?? 0) << 3) | (o.will.retain ? 0x20 : 0);
  if (o.password !== undefined) flags |= 0x40;
  if (o.username !== undefined) flags |= 0x80;
  if (o.reservedBit) flags |= 0x01;
  const parts: Bytes[] = [str(name), Uint8Array.from([level, flags]), u16(o.keepAlive ?? 60)];
  if (level === 5) parts.push(props(o.props));
  parts.push(str(o.clientId ?? 'dev-1'));
  if (o.will) {
    if (level === 5) parts.push(props(o.will.props));
    parts.push(str(o.will.topic), bin(utf8(o.will.payload)));
  }
  if (o.username !== undefined) parts.push(str(o.username));
  if (o.password !== undefined) parts.push(bin(utf8(o.password)));
  return packet(1, 0, cat(...parts));
}

export function connack(o: { v5?: boolean; sp?: boolean; code?: number; props?: Prop[] } = {}): Bytes {
  const body = cat([o.sp ? 1 : 0, o.code ?? 0], o.v5 ? props(o.props) : []);
  return packet(2, 0, body);
}

export interface PublishOpts {
  topic?: string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  id?: number;
  payload?: Bytes | string;
  v5?: boolean;
  props?: Prop[];
}

export function publish(o: PublishOpts = {}): Bytes {
  const qos = o.qos ?? 0;
  const flags = (o.dup ? 8 : 0) | (qos << 1) | (o.retain ? 1 : 0);
  const payload = typeof o.payload === 'string' ? utf8(o.payload) : (o.payload ?? utf8('21.5'));
  const body = cat(
    str(o.topic ?? 'ward/3/spo2'),
    qos > 0 ? u16(o.id ?? 1) : [],
    o.v5 ? props(o.props) : [],
    payload,
  );
  return packet(3, flags, body);
}

/** PUBACK (4), PUBREC (5), PUBREL (6), PUBCOMP (7); 5.0 reason code and properties are optional. */
export function ack(type: 4 | 5 | 6 | 7, id: number, o: { code?: number; props?: Prop[] } = {}): Bytes {
  const tail = o.code === undefined ? [] : cat([o.code], o.props ? props(o.props) : []);
  return packet(type, type === 6 ? 2 : 0, cat(u16(id), tail));
}

export function subscribe(
  id: number,
  filters: Array<[string, number]>,
  o: { v5?: boolean; props?: Prop[] } = {},
): Bytes {
  const parts: Bytes[] = [u16(id)];
  if (o.v5) parts.push(props(o.props));
  for (const [f, q] of filters) parts.push(str(f), Uint8Array.from([q]));
  return packet(8, 2, cat(...parts));
}

export function suback(id: number, codes: number[], o: { v5?: boolean; props?: Prop[] } = {}): Bytes {
  return packet(9, 0, cat(u16(id), o.v5 ? props(o.props) : [], codes));
}

export function unsubscribe(id: number, filters: string[], o: { v5?: boolean } = {}): Bytes {
  return packet(10, 2, cat(u16(id), o.v5 ? props() : [], ...filters.map(str)));
}

export function unsuback(id: number, o: { v5?: boolean; codes?: number[] } = {}): Bytes {
  return packet(11, 0, cat(u16(id), o.v5 ? cat(props(), o.codes ?? [0]) : []));
}

export const pingreq = (): Bytes => packet(12, 0, new Uint8Array(0));
export const pingresp = (): Bytes => packet(13, 0, new Uint8Array(0));

export function disconnect(o: { code?: number; props?: Prop[] } = {}): Bytes {
  return packet(
    14,
    0,
    o.code === undefined ? new Uint8Array(0) : cat([o.code], o.props ? props(o.props) : []),
  );
}

export function auth(code: number, p: Prop[] = []): Bytes {
  return packet(15, 0, cat([code], props(p)));
}
