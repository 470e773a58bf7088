// Synthetic application payloads for the benchmark capture: MQTT 3.1.1, HL7 v2.5 over MLLP, DICOM PS3.8 PDUs with PS3.7 commands, DNS (RFC 1035). No patient data.

const enc = new TextEncoder();

/** A growable byte builder: big-endian by default, like the wire formats here (DICOM data is the exception). */
export class Bytes {
  private buf = new Uint8Array(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): this {
    this.room(1);
    this.buf[this.length++] = v & 255;
    return this;
  }

  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }

  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }

  u16le(v: number): this {
    return this.u8(v).u8(v >>> 8);
  }

  u32le(v: number): this {
    return this.u16le(v & 0xffff).u16le(v >>> 16);
  }

  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  text(s: string): this {
    return this.bytes(enc.encode(s));
  }

  fill(v: number, n: number): this {
    this.room(n);
    this.buf.fill(v, this.length, this.length + n);
    this.length += n;
    return this;
  }

  /** Overwrites a big-endian uint32 already written (for lengths known at the end). */
  setU32(at: number, v: number): void {
    this.buf[at] = (v >>> 24) & 255;
    this.buf[at + 1] = (v >>> 16) & 255;
    this.buf[at + 2] = (v >>> 8) & 255;
    this.buf[at + 3] = v & 255;
  }

  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

// ---- MQTT 3.1.1 (OASIS, section 2 fixed header, section 3 control packets) ----

function mqttPacket(first: number, body: Uint8Array): Uint8Array {
  const b = new Bytes().u8(first);
  let len = body.length;
  do {
    let digit = len % 128;
    len = Math.floor(len / 128);
    if (len > 0) digit |= 0x80;
    b.u8(digit);
  } while (len > 0);
  return b.bytes(body).done();
}

function mqttString(b: Bytes, s: string): Bytes {
  const t = enc.encode(s);
  return b.u16(t.length).bytes(t);
}

export function mqttConnect(
  clientId: string,
  username: string,
  password: string,
  keepAlive: number,
): Uint8Array {
  const b = new Bytes();
  mqttString(b, 'MQTT')
    .u8(4)
    .u8(0x80 | 0x40 | 0x02)
    .u16(keepAlive);
  mqttString(b, clientId);
  mqttString(b, username);
  mqttString(b, password);
  return mqttPacket(0x10, b.done());
}

export function mqttConnack(): Uint8Array {
  return mqttPacket(0x20, new Uint8Array([0, 0]));
}

export function mqttPublish(topic: string, payload: Uint8Array, qos: 0 | 1, packetId: number): Uint8Array {
  const b = new Bytes();
  mqttString(b, topic);
  if (qos > 0) b.u16(packetId);
  b.bytes(payload);
  return mqttPacket(0x30 | (qos << 1), b.done());
}

export function mqttPuback(packetId: number): Uint8Array {
  return mqttPacket(0x40, new Uint8Array([packetId >>> 8, packetId & 255]));
}

export function mqttSubscribe(packetId: number, filter: string, qos: number): Uint8Array {
  const b = new Bytes().u16(packetId);
  mqttString(b, filter).u8(qos);
  return mqttPacket(0x82, b.done());
}

export function mqttSuback(packetId: number, qos: number): Uint8Array {
  return mqttPacket(0x90, new Uint8Array([packetId >>> 8, packetId & 255, qos]));
}

export const MQTT_PINGREQ = new Uint8Array([0xc0, 0]);
export const MQTT_PINGRESP = new Uint8Array([0xd0, 0]);
export const MQTT_DISCONNECT = new Uint8Array([0xe0, 0]);

/** A device telemetry reading: synthetic values, no patient identifiers. */
export function telemetry(seq: number, value: number): Uint8Array {
  return enc.encode(`{"seq":${seq},"rate_ml_h":${value.toFixed(1)},"state":"running","battery":87}`);
}

// ---- HL7 v2.5 (chapter 2 message structure) over MLLP (HL7 transport specification, release 2) ----

function mllp(message: string): Uint8Array {
  const body = enc.encode(message);
  const out = new Uint8Array(body.length + 3);
  out[0] = 0x0b;
  out.set(body, 1);
  out[body.length + 1] = 0x1c;
  out[body.length + 2] = 0x0d;
  return out;
}

function hl7Ts(n: number): string {
  return `20261128${String(100000 + (n % 100000)).slice(1)}0`;
}

/** An observation result from a monitor; patient fields are obviously synthetic placeholders. */
export function hl7Oru(controlId: string, device: number, observations: number): Uint8Array {
  const segs = [
    `MSH|^~\\&|MONITOR${device}|WARD3|HIS|HOSP|${hl7Ts(device)}||ORU^R01^ORU_R01|${controlId}|P|2.5`,
    `PID|1||SYN${device}^^^SYNTH^MR||SYNTHETIC^TEST||19000101|U`,
    `OBR|1|${controlId}||MDC_OBS^Vital signs^MDC|||${hl7Ts(device)}`,
  ];
  for (let i = 0; i < observations; i++) {
    segs.push(
      `OBX|${i + 1}|NM|1500${i}^MDC_SYNTH_${i}^MDC||${(50 + i * 3) % 200}|/min^per minute^UCUM|||||F|||${hl7Ts(i)}||||MON-${device}`,
    );
  }
  return mllp(segs.join('\r') + '\r');
}

export function hl7Adt(controlId: string, device: number): Uint8Array {
  const segs = [
    `MSH|^~\\&|ADT1|HOSP|LAB|HOSP|${hl7Ts(device)}||ADT^A01^ADT_A01|${controlId}|P|2.5`,
    `EVN|A01|${hl7Ts(device)}`,
    `PID|1||SYN${device}^^^SYNTH^MR||SYNTHETIC^TEST||19000101|U`,
    `PV1|1|I|WARD3^${device % 40}^1`,
  ];
  return mllp(segs.join('\r') + '\r');
}

export function hl7Ack(controlId: string, ackId: string): Uint8Array {
  return mllp(
    `MSH|^~\\&|HIS|HOSP|MONITOR|WARD3|20261128000000||ACK^R01^ACK|${ackId}|P|2.5\rMSA|AA|${controlId}\r`,
  );
}

// ---- DICOM PS3.8 upper layer PDUs and PS3.7 DIMSE commands (implicit VR little endian) ----

const APP_CONTEXT = '1.2.840.10008.3.1.1.1';
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const IMPL_CLASS_UID = '1.2.826.0.1.3680043.10.999.1';

function pad16(ae: string): string {
  return ae.padEnd(16, ' ').slice(0, 16);
}

function uidItem(type: number, uid: string): Bytes {
  const t = enc.encode(uid);
  return new Bytes().u8(type).u8(0).u16(t.length).bytes(t);
}

function associate(type: 1 | 2, called: string, calling: string, sopClass: string): Uint8Array {
  const items = new Bytes();
  items.bytes(uidItem(0x10, APP_CONTEXT).done());
  const pc = new Bytes();
  if (type === 1) pc.bytes(uidItem(0x30, sopClass).done());
  pc.bytes(uidItem(0x40, IMPLICIT_LE).done());
  const pcBody = pc.done();
  items
    .u8(type === 1 ? 0x20 : 0x21)
    .u8(0)
    .u16(4 + pcBody.length)
    .u8(1)
    .u8(0)
    .u8(0)
    .u8(0)
    .bytes(pcBody);
  const ui = new Bytes();
  ui.u8(0x51).u8(0).u16(4).u32(16384);
  ui.bytes(uidItem(0x52, IMPL_CLASS_UID).done());
  const ver = enc.encode('WARDWATCH_BENCH');
  ui.u8(0x55).u8(0).u16(ver.length).bytes(ver);
  const uiBody = ui.done();
  items.u8(0x50).u8(0).u16(uiBody.length).bytes(uiBody);
  const body = new Bytes()
    .u16(1)
    .u16(0)
    .text(pad16(called))
    .text(pad16(calling))
    .fill(0, 32)
    .bytes(items.done())
    .done();
  return new Bytes().u8(type).u8(0).u32(body.length).bytes(body).done();
}

export function dicomAssociateRq(called: string, calling: string): Uint8Array {
  return associate(1, called, calling, CT_IMAGE_STORAGE);
}

export function dicomAssociateAc(called: string, calling: string): Uint8Array {
  return associate(2, called, calling, CT_IMAGE_STORAGE);
}

export const DICOM_RELEASE_RQ = new Uint8Array([5, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
export const DICOM_RELEASE_RP = new Uint8Array([6, 0, 0, 0, 0, 4, 0, 0, 0, 0]);

/** One implicit-VR little-endian element. */
function element(b: Bytes, group: number, elem: number, value: Uint8Array): void {
  b.u16le(group).u16le(elem).u32le(value.length).bytes(value);
}

function uidValue(uid: string): Uint8Array {
  const t = enc.encode(uid);
  if (t.length % 2 === 0) return t;
  const p = new Uint8Array(t.length + 1);
  p.set(t);
  return p;
}

function u16le(v: number): Uint8Array {
  return new Uint8Array([v & 255, v >>> 8]);
}

function command(fields: (b: Bytes) => void): Uint8Array {
  const body = new Bytes();
  fields(body);
  const rest = body.done();
  const b = new Bytes();
  element(
    b,
    0,
    0,
    new Uint8Array([
      rest.length & 255,
      (rest.length >>> 8) & 255,
      (rest.length >>> 16) & 255,
      rest.length >>> 24,
    ]),
  );
  return b.bytes(rest).done();
}

/** A P-DATA-TF PDU holding one PDV (PS3.8 9.3.5): `isCommand` and `last` set the message control header. */
export function dicomPData(pdv: Uint8Array, isCommand: boolean, last: boolean): Uint8Array {
  const mch = (isCommand ? 1 : 0) | (last ? 2 : 0);
  return new Bytes()
    .u8(4)
    .u8(0)
    .u32(pdv.length + 6)
    .u32(pdv.length + 2)
    .u8(1)
    .u8(mch)
    .bytes(pdv)
    .done();
}

export function dicomCStoreRq(messageId: number, sopInstance: string): Uint8Array {
  return command((b) => {
    element(b, 0, 0x0002, uidValue(CT_IMAGE_STORAGE));
    element(b, 0, 0x0100, u16le(0x0001));
    element(b, 0, 0x0110, u16le(messageId));
    element(b, 0, 0x0700, u16le(0));
    element(b, 0, 0x0800, u16le(0x0000));
    element(b, 0, 0x1000, uidValue(sopInstance));
  });
}

export function dicomCStoreRsp(messageId: number, sopInstance: string): Uint8Array {
  return command((b) => {
    element(b, 0, 0x0002, uidValue(CT_IMAGE_STORAGE));
    element(b, 0, 0x0100, u16le(0x8001));
    element(b, 0, 0x0120, u16le(messageId));
    element(b, 0, 0x0800, u16le(0x0101));
    element(b, 0, 0x0900, u16le(0));
    element(b, 0, 0x1000, uidValue(sopInstance));
  });
}

/** A synthetic CT image data set of about `size` bytes: identifying attributes only, pixel data a pattern. */
export function dicomDataset(sopInstance: string, size: number): Uint8Array {
  const b = new Bytes();
  element(b, 0x0008, 0x0016, uidValue(CT_IMAGE_STORAGE));
  element(b, 0x0008, 0x0018, uidValue(sopInstance));
  element(b, 0x0008, 0x0060, enc.encode('CT'));
  element(b, 0x0028, 0x0010, u16le(512));
  element(b, 0x0028, 0x0011, u16le(512));
  const pixels = Math.max(0, size - b.length - 8) & ~1;
  const px = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) px[i] = (i * 31 + (i >>> 9)) & 255;
  element(b, 0x7fe0, 0x0010, px);
  return b.done();
}

// ---- DNS (RFC 1035 section 4) ----

function dnsName(b: Bytes, name: string): void {
  for (const label of name.split('.')) {
    const t = enc.encode(label);
    b.u8(t.length).bytes(t);
  }
  b.u8(0);
}

export function dnsQuery(id: number, name: string): Uint8Array {
  const b = new Bytes().u16(id).u16(0x0100).u16(1).u16(0).u16(0).u16(0);
  dnsName(b, name);
  return b.u16(1).u16(1).done();
}

export function dnsResponse(id: number, name: string, addr: number): Uint8Array {
  const b = new Bytes().u16(id).u16(0x8180).u16(1).u16(1).u16(0).u16(0);
  dnsName(b, name);
  b.u16(1).u16(1);
  return b.u16(0xc00c).u16(1).u16(1).u32(300).u16(4).u32(addr).done();
}
