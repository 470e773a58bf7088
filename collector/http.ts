// Collector HTTP: open /metrics and /healthz, the JSON API under /api/ (read token for GET, admin token for writes)
// and a small findings/baselines page (DESIGN.md "CLI" collector, "Metrics").
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { FINDING_CLASSES, SEVERITIES, type Severity } from '../agent/wire/finding.js';
import { jsonDepth } from './limits.js';
import type { CollectorMetrics } from './metrics.js';
import { BadQueryError, type ExposureQuery, type FindingQuery, type Store } from './store.js';
import type { Credential, Tokens } from './tokens.js';

export interface HttpOptions {
  store: Store;
  metrics: CollectorMetrics;
  tokens: Tokens;
  logger: Logger;
  connected: () => Set<string>;
  /** Called before each /metrics scrape (the ingest applies stats it has not flushed yet). */
  beforeScrape?: () => void;
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

function authorise(req: IncomingMessage, tokens: Tokens, need: 'read' | 'admin'): Credential {
  const h = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  if (!m || m[1] === undefined) throw new HttpError(401, 'missing bearer token');
  const c = tokens.lookup(m[1]);
  if (!c || c.role === 'agent') throw new HttpError(401, 'unknown token');
  if (need === 'admin' && c.role !== 'admin') throw new HttpError(403, 'admin token required');
  return c;
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
  if (sev === null) return undefined;
  if (!(SEVERITIES as readonly string[]).includes(sev)) throw new HttpError(400, 'unknown severity');
  return sev as Severity;
}

function exposureQuery(p: URLSearchParams): ExposureQuery {
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
  // Alerts unless asked otherwise: exposures are standing conditions, listed by /api/exposures.
  const q: FindingQuery = { class: 'alert' };
  const limit = limitParam(p);
  if (limit !== undefined) q.limit = limit;
  const sev = severityParam(p);
  if (sev !== undefined) q.severity = sev;
  const cls = p.get('class');
  if (cls !== null) {
    if (cls !== 'all' && !(FINDING_CLASSES as readonly string[]).includes(cls))
      throw new HttpError(400, 'class must be alert, exposure or all');
    q.class = cls as 'alert' | 'exposure' | 'all';
  }
  for (const k of ['cursor', 'since', 'until', 'rule', 'device', 'agent'] as const) {
    const v = p.get(k);
    if (v !== null && v !== '') q[k] = v;
  }
  return q;
}

export function createHttpHandler(o: HttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
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
      o.store.db.prepare('SELECT 1').get();
      sendJson(res, 200, { status: 'ok' });
      return;
    }
    if ((p === '/' || p === '/index.html') && method === 'GET') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy':
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
      });
      res.end(PAGE);
      return;
    }
    if (!p.startsWith('/api/')) throw new HttpError(404, 'not found');
    if (method === 'GET') {
      authorise(req, o.tokens, 'read');
      if (p === '/api/findings' || p === '/api/exposures') {
        try {
          sendJson(
            res,
            200,
            p === '/api/findings'
              ? o.store.queryFindings(findingQuery(url.searchParams))
              : o.store.queryExposures(exposureQuery(url.searchParams)),
          );
        } catch (e) {
          if (e instanceof BadQueryError) throw new HttpError(400, e.message);
          throw e;
        }
        return;
      }
      if (p === '/api/devices') {
        const limit = Number(url.searchParams.get('limit') ?? 10_000);
        sendJson(res, 200, {
          devices: o.store.listDevices(Number.isInteger(limit) && limit > 0 ? limit : 10_000),
        });
        return;
      }
      if (p === '/api/agents') {
        sendJson(res, 200, { agents: o.store.listAgents(o.connected()) });
        return;
      }
      if (p === '/api/baselines') {
        sendJson(res, 200, { baselines: o.store.listBaselines() });
        return;
      }
      const b = /^\/api\/baselines\/([^/]+)$/.exec(p);
      if (b && b[1] !== undefined) {
        const row = o.store.getBaseline(decodePart(b[1]));
        if (!row) throw new HttpError(404, 'no baseline for that device');
        sendJson(res, 200, row);
        return;
      }
      throw new HttpError(404, 'not found');
    }
    if (method === 'PUT') {
      const cred = authorise(req, o.tokens, 'admin');
      const b = /^\/api\/baselines\/([^/]+)(\/learned)?$/.exec(p);
      if (!b || b[1] === undefined) throw new HttpError(404, 'not found');
      const device = decodePart(b[1]);
      const body = await readBody(req);
      if (typeof body !== 'object' || body === null)
        throw new HttpError(400, 'baseline must be a JSON object');
      if (b[2]) o.store.putLearnedBaseline(device, body);
      else o.store.approveBaseline(device, body, cred.name);
      o.logger.info({ device, by: cred.name, learned: Boolean(b[2]) }, 'http: baseline updated');
      sendJson(res, 200, o.store.getBaseline(device));
      return;
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

/** The page keeps the read token in sessionStorage only and renders with textContent (no HTML injection). */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wardwatch</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:2em}td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
.critical{color:#fff;background:#a00}.high{color:#a00}.medium{color:#a60}.low{color:#555}.info{color:#888}
pre{margin:0;white-space:pre-wrap;font-size:12px}
</style></head><body>
<h1>wardwatch</h1>
<p><label>Read token <input id="tok" type="password" size="40"></label> <button id="go">Load</button> <span id="msg"></span></p>
<h2>Findings</h2>
<table><thead><tr><th>time</th><th>severity</th><th>rule</th><th>title</th><th>device</th><th>peer</th><th>agent</th></tr></thead><tbody id="f"></tbody></table>
<button id="more" hidden>More</button>
<h2>Exposures</h2>
<table><thead><tr><th>last seen</th><th>severity</th><th>rule</th><th>title</th><th>device</th><th>peer</th><th>count</th><th>first seen</th><th>agent</th></tr></thead><tbody id="x"></tbody></table>
<h2>Baselines</h2>
<table><thead><tr><th>device</th><th>approved by</th><th>approved at</th><th>learned</th><th>approved</th></tr></thead><tbody id="b"></tbody></table>
<script>
const $=(id)=>document.getElementById(id);let next=null;
$('tok').value=sessionStorage.getItem('ww-token')||'';
function cell(tr,text,cls){const td=document.createElement('td');if(cls)td.className=cls;td.textContent=text==null?'':String(text);tr.appendChild(td);return td}
function pre(tr,v){const td=document.createElement('td');const p=document.createElement('pre');p.textContent=v==null?'':JSON.stringify(v,null,1);td.appendChild(p);tr.appendChild(td)}
async function api(path){const r=await fetch(path,{headers:{authorization:'Bearer '+$('tok').value}});if(!r.ok)throw new Error(path+': '+r.status);return r.json()}
async function findings(more){const q='/api/findings?limit=100'+(more&&next?'&cursor='+encodeURIComponent(next):'');const j=await api(q);if(!more)$('f').textContent='';
for(const f of j.findings){const tr=document.createElement('tr');cell(tr,f.ts);cell(tr,f.severity,f.severity);cell(tr,f.rule);cell(tr,f.title);cell(tr,(f.device.name||'')+' '+f.device.ip);cell(tr,f.peer?f.peer.ip+(f.peer.port?':'+f.peer.port:''):'');cell(tr,f.agent);$('f').appendChild(tr)}
next=j.next;$('more').hidden=!next}
async function exposures(){const j=await api('/api/exposures?limit=200');$('x').textContent='';for(const e of j.exposures){const tr=document.createElement('tr');cell(tr,e.last_seen);cell(tr,e.severity,e.severity);cell(tr,e.rule);cell(tr,e.title);cell(tr,(e.device.name||'')+' '+e.device.ip);cell(tr,e.peer?e.peer.ip:'');cell(tr,e.count);cell(tr,e.first_seen);cell(tr,e.agent);$('x').appendChild(tr)}}
async function baselines(){const j=await api('/api/baselines');$('b').textContent='';for(const b of j.baselines){const tr=document.createElement('tr');cell(tr,b.device);cell(tr,b.approved_by);cell(tr,b.approved_at);pre(tr,b.learned);pre(tr,b.approved);$('b').appendChild(tr)}}
async function load(){sessionStorage.setItem('ww-token',$('tok').value);$('msg').textContent='';try{await findings(false);await exposures();await baselines()}catch(e){$('msg').textContent=e.message}}
$('go').onclick=load;$('more').onclick=()=>findings(true).catch(e=>$('msg').textContent=e.message);if($('tok').value)load();
</script></body></html>
`;
