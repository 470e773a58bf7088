// Small loopback actors for make-scenarios.sh: an HL7 v2 MLLP sender and receiver (HL7 v2.x ch. 2, MLLP), TCP listeners, a connect scanner.
// All patient data here is fake (TEST^ALPHA...). Only 127.0.0.1 is ever contacted.
// Usage:
//   node make-scenarios-tools.mjs mllp-serve PORT [ACK_CODE [TS]]     answer every message (ACK, or ADR^A19 for QRY^A19);
//        TS: MSH-7 of the answers (YYYYMMDDHHMMSS, default 20261128100001)
//   node make-scenarios-tools.mjs mllp-send PORT KEY=VALUE...          app, fac, type, version, pid, count, gap (ms),
//        per_conn (1: one connection per message), control (prefix), start (first number), repeat_control (1: same id),
//        ts (MSH-7/EVN-2 time, YYYYMMDDHHMMSS, default 20261128100000), patients (first fake patient number, default 0:
//        message n is about TEST^PATIENT(patients + n % 50), id FAKE(1000 + patients + n % 50))
//   node make-scenarios-tools.mjs listen PORT BANNER                   accept and write BANNER, then close
//   node make-scenarios-tools.mjs scan PORT...                         connect to each 127.0.0.1:PORT in turn
import net from 'node:net';
import process from 'node:process';
import { setTimeout } from 'node:timers';

const [cmd, ...args] = process.argv.slice(2);
const VT = '\x0b';
const END = '\x1c\x0d';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function segmentsFor(type, n, ts = '20261128100000', patients = 0) {
  const k = patients + (n % 50);
  const pid = `PID|1||FAKE${String(1000 + k).padStart(4, '0')}^^^HOSP^MR||TEST^PATIENT${k}||19700101|F`;
  const code = type.split('^')[0];
  switch (code) {
    case 'ORU':
      return [
        pid,
        `OBR|1||ORD${n}|8867-4^Heart rate^LN`,
        `OBX|1|NM|8867-4^Heart rate^LN||${60 + (n % 30)}|/min|||||F`,
      ];
    case 'ADT':
      return [`EVN|${type.split('^')[1] ?? 'A01'}|${ts}`, pid, 'PV1|1|I|ICU^01^01'];
    case 'QRY':
      return [`QRD|${ts}|R|I|Q${n}|||10^RD|*|DEM`];
    case 'QBP':
      return [`QPD|IHE PDQ Query|Q${n}|@PID.5.1^T*`, 'RCP|I|50^RD'];
    case 'RGV':
      return [
        pid,
        `ORC|RE|ORD${n}`,
        `RXG|1||${ts}|0338-0049^Heparin^NDC|5|mL`,
        'OBX|1|NM|RATE^Infusion rate||5|mL/h|||||F',
      ];
    case 'RDE':
      return [pid, `ORC|NW|ORD${n}`, `RXE|^^^${ts}|0338-0049^Heparin^NDC|5||mL`];
    default:
      return [pid];
  }
}

function buildMessage(o, n) {
  const ts = o.ts ?? '20261128100000';
  const control =
    o.repeat_control === '1' ? `${o.control ?? 'MSG'}` : `${o.control ?? 'MSG'}${String(n).padStart(5, '0')}`;
  const msh = `MSH|^~\\&|${o.app ?? 'SENDER'}|${o.fac ?? 'HOSP'}|ENGINE|HOSP|${ts}||${o.type ?? 'ORU^R01'}|${control}|${o.pid ?? 'P'}|${o.version ?? '2.6'}`;
  return [msh, ...segmentsFor(o.type ?? 'ORU^R01', n, ts, Number(o.patients ?? 0))].join('\r') + '\r';
}

function parseKv(list) {
  const o = {};
  for (const a of list) {
    const i = a.indexOf('=');
    o[a.slice(0, i)] = a.slice(i + 1);
  }
  return o;
}

function field(msg, seg, idx) {
  const line = msg.split('\r').find((l) => l.startsWith(`${seg}|`));
  return line ? (line.split('|')[idx] ?? '') : '';
}

/** Read MLLP frames from a socket, calling `onMsg` for each. */
function frames(sock, onMsg) {
  let buf = '';
  sock.setEncoding('latin1');
  sock.on('data', (d) => {
    buf += d;
    for (;;) {
      const s = buf.indexOf(VT);
      const e = buf.indexOf(END, s + 1);
      if (s < 0 || e < 0) break;
      onMsg(buf.slice(s + 1, e));
      buf = buf.slice(e + 2);
    }
  });
}

if (cmd === 'mllp-serve') {
  const port = Number(args[0]);
  const ackCode = args[1] ?? 'AA';
  const ackTs = args[2] ?? '20261128100001';
  let n = 0;
  net
    .createServer((sock) => {
      sock.on('error', () => {});
      frames(sock, (msg) => {
        n++;
        const type = field(msg, 'MSH', 8);
        const ctrl = field(msg, 'MSH', 9);
        const [code, trig] = type.split('^');
        const head = (t) =>
          `MSH|^~\\&|ENGINE|HOSP|${field(msg, 'MSH', 2)}|${field(msg, 'MSH', 3)}|${ackTs}||${t}|ACK${n}|P|${field(msg, 'MSH', 11) || '2.6'}`;
        let reply;
        if (code === 'QRY' || code === 'QBP') {
          const rt = code === 'QRY' ? 'ADR^A19' : 'RSP^K22';
          const pids = [0, 1, 2].map(
            (i) => `PID|${i + 1}||FAKE${1000 + i}^^^HOSP^MR||TEST^PATIENT${i}||19700101|F`,
          );
          reply = [head(rt), `MSA|AA|${ctrl}`, ...pids].join('\r') + '\r';
        } else {
          reply = [head(`ACK^${trig ?? ''}`), `MSA|${ackCode}|${ctrl}`].join('\r') + '\r';
        }
        sock.write(VT + reply + END, 'latin1');
      });
    })
    .listen(port, '127.0.0.1');
} else if (cmd === 'mllp-send') {
  const port = Number(args[0]);
  const o = parseKv(args.slice(1));
  const count = Number(o.count ?? 1);
  const gap = Number(o.gap ?? 50);
  const perConn = o.per_conn === '1';
  const start = Number(o.start ?? 1);
  const open = () =>
    new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(s));
      s.on('error', reject);
    });
  const sendOne = (sock, text) =>
    new Promise((resolve) => {
      frames(sock, () => resolve());
      sock.write(VT + text + END, 'latin1');
      setTimeout(resolve, 2000);
    });
  let sock = perConn ? null : await open();
  for (let i = 0; i < count; i++) {
    if (perConn) sock = await open();
    sock.removeAllListeners('data');
    await sendOne(sock, buildMessage(o, start + i));
    if (perConn) {
      sock.end();
      await sleep(5);
    }
    if (i + 1 < count) await sleep(gap);
  }
  if (!perConn) sock.end();
  await sleep(20);
  process.exit(0);
} else if (cmd === 'listen') {
  const port = Number(args[0]);
  const banner = args[1] ?? '';
  net
    .createServer((sock) => {
      sock.on('error', () => {});
      sock.end(banner.replace(/\\r\\n/g, '\r\n'));
    })
    .listen(port, '127.0.0.1');
} else if (cmd === 'scan') {
  for (const p of args.map(Number)) {
    await new Promise((resolve) => {
      const s = net.connect(p, '127.0.0.1');
      // read (and drop) any banner so that the close arrives; give up on a silent peer after 300 ms
      s.on('data', () => {});
      s.on('connect', () => s.end());
      s.setTimeout(300, () => s.destroy());
      s.on('close', resolve);
      s.on('error', () => {});
    });
    await sleep(2);
  }
  process.exit(0);
} else {
  process.stderr.write(`unknown command ${cmd}\n`);
  process.exit(2);
}
