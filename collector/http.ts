// Collector HTTP: open /metrics and /healthz, the JSON API under /api/ (read role for GET, admin role for writes,
// by bearer token or by the console's session cookie with a CSRF token) and the console's static files (issue 10).
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { FINDING_CLASSES, SEVERITIES, type Finding, type Severity } from '../agent/wire/finding.js';
import {
  MAX_REVIEW_ITEMS,
  ReviewError,
  approve,
  approveDeviation,
  putDocument,
  reject,
  reviewOf,
} from './baseline-review.js';
import { jsonDepth } from './limits.js';
import type { CollectorMetrics } from './metrics.js';
import {
  SESSION_COOKIE,
  SESSION_TTL_MS,
  Sessions,
  cookieValue,
  sameSecret,
  type Session,
} from './session.js';
import {
  BadQueryError,
  INCIDENT_SORTS,
  TRIAGE_STATUSES,
  TransitionError,
  type ExposureQuery,
  type FindingQuery,
  type IncidentQuery,
  type IncidentSort,
  type Store,
  type StoredDevice,
  type TriageStatus,
} from './store.js';
import type { Credential, Tokens } from './tokens.js';

export interface HttpOptions {
  store: Store;
  metrics: CollectorMetrics;
  tokens: Tokens;
  logger: Logger;
  connected: () => Set<string>;
  /** Called before each /metrics scrape (the ingest applies stats it has not flushed yet). */
  beforeScrape?: () => void;
  /** Served over TLS: the session cookie gets `Secure`. */
  secure?: boolean;
  /** Where the built console is (default: found next to this module or in dist/). */
  consoleDir?: string;
}

/**
 * Every response: no MIME sniffing, no framing (clickjacking), no inline script or style (the console has none), no
 * third-party origin of any kind (nothing comes from a CDN), no referrer leaking a deep link's filters.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

const HERE = path.dirname(fileURLToPath(import.meta.url));
/**
 * The console as built by `npm run build` (tsc output plus the copied HTML and CSS): next to this module when it runs
 * from dist/, in dist/ when the sources run directly (tests).
 */
export function findConsoleDir(): string | null {
  for (const d of [path.join(HERE, 'console'), path.join(HERE, '..', 'dist', 'collector', 'console')])
    if (existsSync(path.join(d, 'main.js')) && existsSync(path.join(d, 'index.html'))) return d;
  return null;
}

const STATIC_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Longest filter value quoted back in an error. */
const QUOTE_MAX = 64;
function quote(v: string): string {
  return JSON.stringify(v.length > QUOTE_MAX ? `${v.slice(0, QUOTE_MAX)}…` : v);
}

const MAX_BODY = 1024 * 1024;
/** A body over MAX_BODY is read and discarded up to this much so the client sees the 413; past it the socket is cut. */
const MAX_DISCARD = 64 * 1024 * 1024;
/** Deepest JSON body accepted (serializing deeper values overflows the stack). */
const MAX_BODY_DEPTH = 64;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

interface Auth {
  cred: Credential;
  session: Session | null;
}

/** The origin this request was addressed to, as a browser would write it in `Origin`. */
function ownOrigin(req: IncomingMessage, secure: boolean): string {
  return `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}

/**
 * A bearer token (scripts, curl) or the console's session cookie. Writes need the admin role; a write made with the
 * cookie also needs the session's CSRF token in `x-csrf-token` and, when the browser sends one, a same-origin
 * `Origin` (SameSite=Strict already keeps the cookie off cross-site requests; these hold if a sibling site or an old
 * browser does not).
 */
function authorise(
  req: IncomingMessage,
  tokens: Tokens,
  sessions: Sessions,
  need: 'read' | 'admin',
  secure: boolean,
): Auth {
  const h = req.headers.authorization;
  let auth: Auth;
  if (h !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m || m[1] === undefined) throw new HttpError(401, 'missing bearer token');
    const c = tokens.lookup(m[1]);
    if (!c || c.role === 'agent') throw new HttpError(401, 'unknown token');
    auth = { cred: c, session: null };
  } else {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const s = id === null ? null : sessions.get(id);
    if (!s) throw new HttpError(401, id === null ? 'missing bearer token or session' : 'session expired');
    auth = { cred: s.cred, session: s };
  }
  if (need === 'admin' && auth.cred.role !== 'admin') throw new HttpError(403, 'admin role required');
  if (auth.session && req.method !== 'GET' && req.method !== 'HEAD') {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== ownOrigin(req, secure))
      throw new HttpError(403, 'cross-origin write refused');
    const csrf = req.headers['x-csrf-token'];
    if (typeof csrf !== 'string' || !sameSecret(csrf, auth.session.csrf))
      throw new HttpError(403, 'missing or wrong x-csrf-token');
  }
  return auth;
}

/**
 * Reads a JSON body of at most MAX_BODY bytes. A larger one is a 413, answered after the body was read (and
 * discarded) so the client gets the status instead of a reset; too deep or not JSON is a 400.
 */
function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = Number.isFinite(declared) && declared > MAX_BODY;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) over = true;
      if (over) {
        chunks.length = 0;
        if (size > MAX_DISCARD) {
          reject(new HttpError(413, `body over ${MAX_BODY} bytes`));
          req.destroy();
        }
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (over) return reject(new HttpError(413, `body over ${MAX_BODY} bytes`));
      let v: unknown;
      try {
        v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      } catch {
        return reject(new HttpError(400, 'body is not JSON'));
      }
      if (jsonDepth(v, MAX_BODY_DEPTH) > MAX_BODY_DEPTH)
        return reject(new HttpError(400, `body nested deeper than ${MAX_BODY_DEPTH}`));
      resolve(v);
    });
    req.on('error', reject);
  });
}

/** decodeURIComponent that answers 400 on malformed %-encoding instead of throwing a URIError. */
function decodePart(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new HttpError(400, 'malformed %-encoding in the path');
  }
}

function limitParam(p: URLSearchParams): number | undefined {
  const limit = p.get('limit');
  if (limit === null) return undefined;
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 1) throw new HttpError(400, 'limit must be a positive integer');
  return n;
}

function severityParam(p: URLSearchParams): Severity | undefined {
  const sev = p.get('severity');
  if (sev === null || sev === '') return undefined;
  if (!(SEVERITIES as readonly string[]).includes(sev))
    throw new HttpError(400, `unknown severity ${quote(sev)} (expected ${SEVERITIES.join(', ')})`);
  return sev as Severity;
}

/** Refuses a query parameter the route does not know, naming it (a typo must not silently widen a filter). */
function onlyParams(p: URLSearchParams, allowed: readonly string[]): void {
  for (const k of p.keys())
    if (!allowed.includes(k))
      throw new HttpError(400, `unknown parameter ${quote(k)} (expected ${allowed.join(', ')})`);
}

function statusParam(v: string): TriageStatus {
  if (!(TRIAGE_STATUSES as readonly string[]).includes(v))
    throw new HttpError(400, `unknown status ${quote(v)} (expected ${TRIAGE_STATUSES.join(', ')})`);
  return v as TriageStatus;
}

const INCIDENT_PARAMS = [
  'limit',
  'offset',
  'since',
  'until',
  'severity',
  'rule',
  'device',
  'agent',
  'zone',
  'status',
  'q',
  'sort',
  'order',
] as const;

function incidentQuery(p: URLSearchParams): IncidentQuery {
  onlyParams(p, INCIDENT_PARAMS);
  const q: IncidentQuery = {};
  const limit = limitParam(p);
  if (limit !== undefined) q.limit = limit;
  const offset = p.get('offset');
  if (offset !== null && offset !== '') {
    const n = Number(offset);
    if (!Number.isInteger(n) || n < 0) throw new HttpError(400, `bad offset ${quote(offset)}`);
    q.offset = n;
  }
  const sev = severityParam(p);
  if (sev !== undefined) q.severity = sev;
  for (const k of ['since', 'until', 'rule', 'device', 'agent', 'zone', 'q'] as const) {
    const v = p.get(k);
    if (v !== null && v !== '') q[k] = v;
  }
  const status = p.get('status');
  if (status !== null && status !== '') q.status = status.split(',').map(statusParam);
  const sort = p.get('sort');
  if (sort !== null && sort !== '') {
    if (!(INCIDENT_SORTS as readonly string[]).includes(sort))
      throw new HttpError(400, `unknown sort ${quote(sort)} (expected ${INCIDENT_SORTS.join(', ')})`);
    q.sort = sort as IncidentSort;
  }
  const order = p.get('order');
  if (order !== null && order !== '') {
    if (order !== 'asc' && order !== 'desc')
      throw new HttpError(400, `unknown order ${quote(order)} (expected asc, desc)`);
    q.order = order;
  }
  return q;
}

/** A JSON object body's string field, bounded. */
function bodyString(body: Record<string, unknown>, key: string, max: number, required: boolean): string {
  const v = body[key];
  if (v === undefined && !required) return '';
  if (typeof v !== 'string' || v.length > max)
    throw new HttpError(400, `${key} must be a string of at most ${max} characters`);
  return v;
}

function bodyObject(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HttpError(400, 'body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Largest comment stored with a status change, and most alerts changed by one request. */
const MAX_COMMENT = 2000;
const MAX_BULK = 1000;

function exposureQuery(p: URLSearchParams): ExposureQuery {
  onlyParams(p, ['limit', 'cursor', 'severity', 'rule', 'device', 'agent']);
  const q: ExposureQuery = {};
  const limit = limitParam(p);
  if (limit !== undefined) q.limit = limit;
  const sev = severityParam(p);
  if (sev !== undefined) q.severity = sev;
  for (const k of ['cursor', 'rule', 'device', 'agent'] as const) {
    const v = p.get(k);
    if (v !== null && v !== '') q[k] = v;
  }
  return q;
}

function findingQuery(p: URLSearchParams): FindingQuery {
  onlyParams(p, [
    'limit',
    'cursor',
    'since',
    'until',
    'severity',
    'rule',
    'device',
    'host',
    'agent',
    'class',
  ]);
  // Alerts unless asked otherwise: exposures are standing conditions, listed by /api/exposures.
  const q: FindingQuery = { class: 'alert' };
  const limit = limitParam(p);
  if (limit !== undefined) q.limit = limit;
  const sev = severityParam(p);
  if (sev !== undefined) q.severity = sev;
  const cls = p.get('class');
  if (cls !== null) {
    if (cls !== 'all' && !(FINDING_CLASSES as readonly string[]).includes(cls))
      throw new HttpError(400, `unknown class ${quote(cls)}: class must be alert, exposure or all`);
    q.class = cls as 'alert' | 'exposure' | 'all';
  }
  for (const k of ['cursor', 'since', 'until', 'rule', 'device', 'host', 'agent'] as const) {
    const v = p.get(k);
    if (v !== null && v !== '') q[k] = v;
  }
  return q;
}

/** A finding's device or peer as the inventory knows it (by MAC first: IPs move), or null. */
async function deviceCard(
  store: Store,
  e: { ip: string; mac?: string } | undefined,
): Promise<StoredDevice | null> {
  if (!e) return null;
  return (e.mac !== undefined ? await store.getDevice(e.mac) : null) ?? (await store.getDevice(e.ip));
}

export function createHttpHandler(o: HttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const sessions = new Sessions();
  const secure = o.secure ?? false;
  const consoleDir = o.consoleDir ?? findConsoleDir();

  const serveStatic = (res: ServerResponse, file: string): void => {
    if (consoleDir === null) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('the console is not built: run npm run build\n');
      return;
    }
    let body: Buffer;
    try {
      body = readFileSync(path.join(consoleDir, file));
    } catch {
      throw new HttpError(404, 'not found');
    }
    res.writeHead(200, {
      'content-type': STATIC_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    });
    res.end(body);
  };

  const get = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const p = url.pathname;
    const q = url.searchParams;
    if (p === '/api/session') {
      const a = authorise(req, o.tokens, sessions, 'read', secure);
      if (!a.session) throw new HttpError(400, 'no session: bearer tokens need none');
      sendJson(res, 200, { name: a.cred.name, role: a.cred.role, csrf: a.session.csrf });
      return;
    }
    authorise(req, o.tokens, sessions, 'read', secure);
    if (p === '/api/findings' || p === '/api/exposures') {
      sendJson(
        res,
        200,
        p === '/api/findings'
          ? await o.store.queryFindings(findingQuery(q))
          : await o.store.queryExposures(exposureQuery(q)),
      );
      return;
    }
    if (p === '/api/incidents') {
      sendJson(res, 200, await o.store.queryIncidents(incidentQuery(q)));
      return;
    }
    const f = /^\/api\/findings\/([^/]+)$/.exec(p);
    if (f && f[1] !== undefined) {
      onlyParams(q, ['agent']);
      const id = decodePart(f[1]);
      const agent = q.get('agent') ?? undefined;
      const found = await o.store.getFindings(id, agent);
      if (found.length === 0) throw new HttpError(404, 'no such finding');
      if (found.length > 1)
        throw new HttpError(409, `finding id ${quote(id)} exists for several agents: add ?agent=`);
      const finding = found[0] as Finding;
      const key = finding.class === 'exposure' ? null : await o.store.incidentOf(finding.agent, finding.id);
      sendJson(res, 200, {
        finding,
        rule: await o.store.getRule(finding.rule),
        device: await deviceCard(o.store, finding.device),
        peer: await deviceCard(o.store, finding.peer),
        incident:
          key === null
            ? null
            : {
                agent: finding.agent,
                incident: key,
                ...(await o.store.triageOf(finding.agent, key)),
                findings: await o.store.incidentFindings(finding.agent, key),
                audit: (await o.store.listAudit({ agent: finding.agent, incident: key })).audit,
              },
      });
      return;
    }
    if (p === '/api/rules') {
      onlyParams(q, []);
      sendJson(res, 200, { rules: await o.store.listRules() });
      return;
    }
    const r = /^\/api\/rules\/([^/]+)$/.exec(p);
    if (r && r[1] !== undefined) {
      const rule = await o.store.getRule(decodePart(r[1]));
      if (!rule) throw new HttpError(404, 'no agent announced that rule');
      sendJson(res, 200, rule);
      return;
    }
    if (p === '/api/audit') {
      onlyParams(q, ['limit', 'before', 'agent', 'incident']);
      const aq: { limit?: number; before?: number; agent?: string; incident?: string } = {};
      const limit = limitParam(q);
      if (limit !== undefined) aq.limit = limit;
      const before = q.get('before');
      if (before !== null && before !== '') {
        const n = Number(before);
        if (!Number.isInteger(n) || n < 0) throw new HttpError(400, `bad before ${quote(before)}`);
        aq.before = n;
      }
      for (const k of ['agent', 'incident'] as const) {
        const v = q.get(k);
        if (v !== null && v !== '') aq[k] = v;
      }
      sendJson(res, 200, await o.store.listAudit(aq));
      return;
    }
    if (p === '/api/devices') {
      onlyParams(q, ['limit']);
      const limit = limitParam(q) ?? 10_000;
      sendJson(res, 200, { devices: await o.store.listDevices(limit) });
      return;
    }
    const d = /^\/api\/devices\/([^/]+)$/.exec(p);
    if (d && d[1] !== undefined) {
      const dev = await o.store.getDevice(decodePart(d[1]));
      if (!dev) throw new HttpError(404, 'no such device');
      sendJson(res, 200, dev);
      return;
    }
    if (p === '/api/agents') {
      sendJson(res, 200, { agents: await o.store.listAgents(o.connected()) });
      return;
    }
    if (p === '/api/baselines') {
      sendJson(res, 200, { baselines: await o.store.listBaselines() });
      return;
    }
    const b = /^\/api\/baselines\/([^/]+)$/.exec(p);
    if (b && b[1] !== undefined) {
      onlyParams(q, []);
      const review = await reviewOf(o.store, decodePart(b[1]));
      if (!review) throw new HttpError(404, 'no baseline for that device');
      sendJson(res, 200, review);
      return;
    }
    throw new HttpError(404, 'not found');
  };

  /** Status changes of alerts (their incidents): admin role, all or nothing, each change audited. */
  const changeStatus = async (
    req: IncomingMessage,
    res: ServerResponse,
    auth: Auth,
    one: string | null,
  ): Promise<void> => {
    const body = bodyObject(await readBody(req));
    const status = statusParam(bodyString(body, 'status', 32, true));
    const comment = bodyString(body, 'comment', MAX_COMMENT, false);
    let items: Array<{ agent: string; id: string }>;
    if (one !== null) {
      const agent = bodyString(body, 'agent', 128, false);
      const found = await o.store.getFindings(one, agent === '' ? undefined : agent);
      if (found.length === 0) throw new HttpError(404, 'no such finding');
      if (found.length > 1)
        throw new HttpError(409, `finding id ${quote(one)} exists for several agents: give agent`);
      items = [{ agent: (found[0] as Finding).agent, id: one }];
    } else {
      const raw = body.items;
      if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_BULK)
        throw new HttpError(400, `items must be an array of 1 to ${MAX_BULK} {agent, id}`);
      items = raw.map((it) => {
        const x = bodyObject(it);
        return { agent: bodyString(x, 'agent', 128, true), id: bodyString(x, 'id', 256, true) };
      });
    }
    try {
      const r = await o.store.setStatus(items, status, auth.cred.name, comment);
      o.logger.info({ by: auth.cred.name, status, changed: r.changed.length }, 'http: triage status changed');
      sendJson(res, 200, { status, changed: r.changed, unchanged: r.unchanged });
    } catch (e) {
      if (e instanceof TransitionError) throw new HttpError(409, e.message);
      if (e instanceof BadQueryError) throw new HttpError(404, e.message);
      throw e;
    }
  };

  /** Item ids of an approve or reject body: `items`, or `all: true` where allowed. */
  const reviewItems = (body: Record<string, unknown>, allowAll: boolean): string[] | 'all' => {
    if (allowAll && body.all === true) return 'all';
    const raw = body.items;
    if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_REVIEW_ITEMS)
      throw new HttpError(
        400,
        `items must be an array of 1 to ${MAX_REVIEW_ITEMS} item ids${allowAll ? ' (or all: true)' : ''}`,
      );
    return raw.map((it) => {
      if (typeof it !== 'string' || it.length === 0 || it.length > 8192)
        throw new HttpError(400, 'each item must be an item id (a string)');
      return it;
    });
  };

  /** Baseline review writes: approve or reject items of a device, a deviation into the baseline (admin, audited). */
  const review = async (
    req: IncomingMessage,
    res: ServerResponse,
    auth: Auth,
    p: string,
  ): Promise<boolean> => {
    const by = auth.cred.name;
    const m = /^\/api\/baselines\/([^/]+)\/(approve|reject)$/.exec(p);
    const f = /^\/api\/findings\/([^/]+)\/approve-baseline$/.exec(p);
    if (!m && !f) return false;
    const body = bodyObject(await readBody(req));
    const comment = bodyString(body, 'comment', MAX_COMMENT, false);
    try {
      if (m && m[1] !== undefined) {
        const device = decodePart(m[1]);
        if (m[2] === 'approve') {
          const r = await approve(o.store, device, reviewItems(body, true), by, comment);
          o.logger.info(
            { device, by, version: r.version, items: r.applied.length },
            'http: baseline approved',
          );
        } else {
          const items = reviewItems(body, false);
          await reject(o.store, device, items === 'all' ? [] : items, by, comment);
          o.logger.info({ device, by, items: items.length }, 'http: baseline items rejected');
        }
        sendJson(res, 200, await reviewOf(o.store, device));
        return true;
      }
      const id = decodePart(f?.[1] ?? '');
      const agent = bodyString(body, 'agent', 128, false);
      const found = await o.store.getFindings(id, agent === '' ? undefined : agent);
      if (found.length === 0) throw new HttpError(404, 'no such finding');
      if (found.length > 1)
        throw new HttpError(409, `finding id ${quote(id)} exists for several agents: give agent`);
      const r = await approveDeviation(o.store, found[0] as Finding, by, comment);
      o.logger.info(
        { device: r.device, by, version: r.version, rule: (found[0] as Finding).rule },
        'http: deviation approved into the baseline',
      );
      sendJson(res, 200, { ...r, baseline: await reviewOf(o.store, r.device) });
      return true;
    } catch (e) {
      if (e instanceof ReviewError) throw new HttpError(e.status, e.message);
      throw e;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://collector');
    } catch {
      throw new HttpError(400, 'malformed request target');
    }
    const p = url.pathname;
    const method = req.method ?? 'GET';
    if (p === '/metrics' && method === 'GET') {
      o.beforeScrape?.();
      const body = await o.metrics.metrics();
      res.writeHead(200, { 'content-type': o.metrics.contentType });
      res.end(body);
      return;
    }
    if (p === '/healthz' && method === 'GET') {
      await o.store.ping();
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    // The console is one page: its views are in the query string, so deep links all load index.html.
    if ((p === '/' || p === '/index.html') && method === 'GET') return serveStatic(res, 'index.html');
    const asset = /^\/console\/([a-z0-9-]+\.(?:js|css))$/.exec(p);
    if (asset && asset[1] !== undefined && method === 'GET') return serveStatic(res, asset[1]);
    if (!p.startsWith('/api/')) throw new HttpError(404, 'not found');
    try {
      if (method === 'GET') return await get(req, res, url);
      if (p === '/api/session' && method === 'POST') {
        // Signing in: same-origin only (no login CSRF), a read or admin token for a cookie the page cannot read.
        const origin = req.headers.origin;
        if (origin !== undefined && origin !== ownOrigin(req, secure))
          throw new HttpError(403, 'cross-origin sign-in refused');
        const body = bodyObject(await readBody(req));
        const c = o.tokens.lookup(bodyString(body, 'token', 512, true));
        if (!c || c.role === 'agent') throw new HttpError(401, 'unknown token');
        const s = sessions.create(c);
        res.setHeader(
          'set-cookie',
          `${SESSION_COOKIE}=${s.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}${secure ? '; Secure' : ''}`,
        );
        o.logger.info({ name: c.name, role: c.role }, 'http: console session opened');
        sendJson(res, 200, { name: c.name, role: c.role, csrf: s.csrf });
        return;
      }
      if (p === '/api/session' && method === 'DELETE') {
        const a = authorise(req, o.tokens, sessions, 'read', secure);
        if (a.session) sessions.delete(a.session.id);
        res.setHeader('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
        sendJson(res, 200, { signed_out: true });
        return;
      }
      if (method === 'POST') {
        const auth = authorise(req, o.tokens, sessions, 'admin', secure);
        if (p === '/api/findings/status') return await changeStatus(req, res, auth, null);
        if (await review(req, res, auth, p)) return;
        const st = /^\/api\/findings\/([^/]+)\/status$/.exec(p);
        if (st && st[1] !== undefined) return await changeStatus(req, res, auth, decodePart(st[1]));
        throw new HttpError(404, 'not found');
      }
      if (method === 'PUT') {
        const auth = authorise(req, o.tokens, sessions, 'admin', secure);
        const b = /^\/api\/baselines\/([^/]+)(\/learned)?$/.exec(p);
        if (!b || b[1] === undefined) throw new HttpError(404, 'not found');
        // Whole documents from scripts: checked like an approval (schema, a known device) and versioned, never
        // free-form JSON (issue 10: the old PUT stored anything under any name, and no agent could use it).
        const body = await readBody(req);
        try {
          const r = await putDocument(
            o.store,
            decodePart(b[1]),
            b[2] ? 'learned' : 'approved',
            body,
            auth.cred.name,
          );
          o.logger.info(
            { device: r.device, by: auth.cred.name, learned: Boolean(b[2]), version: r.version },
            'http: baseline updated',
          );
          sendJson(res, 200, await reviewOf(o.store, r.device));
        } catch (e) {
          if (e instanceof ReviewError) throw new HttpError(e.status, e.message);
          throw e;
        }
        return;
      }
    } catch (e) {
      if (e instanceof BadQueryError) throw new HttpError(400, e.message);
      throw e;
    }
    throw new HttpError(405, 'method not allowed');
  };
  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) {
        o.metrics.httpRefusal(e.status);
        // Client mistakes: one line, no stack, the path without its query (never a body).
        if (e.status === 400 || e.status === 413)
          o.logger.warn(
            { method: req.method, path: (req.url ?? '').split('?')[0]?.slice(0, 200), status: e.status },
            `http: ${e.message}`,
          );
        const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
        if (e.status === 413) headers.connection = 'close';
        if (e.status === 401) headers['www-authenticate'] = 'Bearer realm="wardwatch"';
        if (!res.headersSent) res.writeHead(e.status, headers);
        res.end(JSON.stringify({ error: e.message }));
        return;
      }
      o.logger.error({ err: e, path: req.url }, 'http: request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internal error' }));
    });
  };
}
