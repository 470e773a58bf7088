// The console's API (issue 10): sessions by cookie with CSRF, security headers, incidents with filters and sorting,
// a finding's detail, status changes (one, bulk, workflow, audit), announced rules, one device, static files,
// and the metrics fed by triage and by announced rules.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../agent/wire/finding.js';
import type { RuleInfo } from '../../agent/wire/messages.js';
import type { RunningCollector } from '../../collector/main.js';
import { SqliteStore } from '../../collector/store.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';
import { storeBackends } from '../helpers/postgres.js';
import { TOKENS, makeFinding, tempDir, waitFor } from './helpers.js';

const RULES: RuleInfo[] = [
  {
    id: 'dicom.unknown-calling-ae',
    title: 'Unknown DICOM AE title associates to the PACS',
    severity: 'high',
    attack: ['T0864', 'T0848'],
    description: 'An A-ASSOCIATE-RQ reached the PACS with an AE title nothing knows.',
    remediation: 'Identify the host; add its AE title to the site file if legitimate.',
    class: 'alert',
  },
  {
    id: 'mqtt.anonymous-accepted',
    title: 'Broker accepted an anonymous MQTT client',
    severity: 'high',
    attack: ['T0812'],
    description: 'Anonymous login accepted.',
    remediation: 'Require credentials.',
    class: 'exposure',
  },
  {
    id: 'hl7.internet',
    title: 'HL7 to the internet',
    severity: 'critical',
    attack: ['T0885'],
    description: 'HL7 left the site.',
    remediation: 'Block it.',
  },
];

/** Incident i1: an opener and two updates (one with a zone in its evidence) and a closing summary; i2 alone; an exposure. */
function findings(): Finding[] {
  const at = (s: number): string => new Date(Date.UTC(2026, 10, 28, 10, 0, s)).toISOString();
  return [
    makeFinding(1, 'agent-a', {
      id: 'i1',
      ts: at(1),
      rule: 'network.unlisted-clinical-device',
      severity: 'medium',
      title: 'Device not in the site inventory',
      device: { ip: '10.20.30.99', mac: '28:cd:c1:30:00:99' },
      class: 'alert',
      incident: 'i1',
    }),
    makeFinding(2, 'agent-a', {
      id: 'i1-u1',
      ts: at(2),
      rule: 'dicom.unknown-calling-ae',
      severity: 'high',
      title: 'Unknown DICOM AE title associates to the PACS',
      device: { ip: '10.20.30.99', mac: '28:cd:c1:30:00:99' },
      evidence: { calling_ae: 'SCANNER', 'src.zone': 'medical-devices' },
      count: 3,
      class: 'alert',
      incident: 'i1',
    }),
    makeFinding(3, 'agent-a', {
      id: 'i1-summary',
      ts: at(3),
      rule: 'network.unlisted-clinical-device',
      severity: 'high',
      title: 'Device not in the site inventory',
      device: { ip: '10.20.30.99', mac: '28:cd:c1:30:00:99' },
      evidence: { incident_rules: ['network.unlisted-clinical-device', 'dicom.unknown-calling-ae'] },
      count: 4,
      class: 'alert',
      incident: 'i1',
    }),
    makeFinding(4, 'agent-a', {
      id: 'i2',
      ts: at(4),
      rule: 'hl7.internet',
      severity: 'critical',
      title: 'HL7 to the internet',
      device: { ip: '10.20.10.5', name: 'lis' },
      class: 'alert',
      incident: 'i2',
    }),
    makeFinding(5, 'agent-a', {
      id: 'x1',
      ts: at(5),
      rule: 'mqtt.anonymous-accepted',
      severity: 'high',
      title: 'Broker accepted an anonymous MQTT client',
      class: 'exposure',
    }),
  ];
}

let col: RunningCollector;
let dir: string;

function bearer(token: string, init: RequestInit = {}): RequestInit {
  return {
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
  };
}

async function json<T>(r: Promise<Response> | Response): Promise<T> {
  return (await (await r).json()) as T;
}

function getApi(p: string, token = TOKENS.read): Promise<Response> {
  return fetch(`${col.url}${p}`, bearer(token));
}

function post(p: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${col.url}${p}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function signIn(token: string): Promise<{ cookie: string; csrf: string; res: Response }> {
  const res = await post('/api/session', { token }, {});
  const set = res.headers.get('set-cookie') ?? '';
  const body = (await res.clone().json()) as { csrf?: string };
  return { cookie: set.split(';')[0] ?? '', csrf: body.csrf ?? '', res };
}

interface Incidents {
  incidents: Array<{
    agent: string;
    incident: string;
    severity: string;
    findings: number;
    occurrences: number;
    rules: string[];
    status: string;
    opener: Finding;
  }>;
  total: number;
}

const B = storeBackends();
beforeAll(() => B.setup());
afterAll(() => B.teardown());

// The console's API on each store: the same collector, findings and requests on SQLite and on PostgreSQL.
describe.each(B.backends)('console API on $name', (backend) => {
  beforeAll(async () => {
    dir = tempDir();
    col = await startTestCollector({ dir, db: await backend.fresh(dir) });
    // Through the wire, as an agent does: a hello announcing rules, then a batch.
    const t = await openTestAgent(col.wsUrl, { rules: RULES });
    for (const f of findings()) t.send(f);
    await t.flush();
    await waitFor(async () => (await col.store.countFindings()) === 5, 'the findings stored');
    await t.close();
    // The same id from another agent: /api/findings/ID must ask which one.
    await col.store.storeBatch('agent-b', 1, [
      makeFinding(9, 'agent-b', { id: 'i2', class: 'alert', incident: 'i2' }),
    ]);
    await col.store.mergeDevices('agent-a', [
      {
        id: '28:cd:c1:30:00:99',
        ip: '10.20.30.99',
        mac: '28:cd:c1:30:00:99',
        vendor: 'Raspberry Pi Trading Ltd',
      },
    ]);
  });

  afterAll(async () => {
    await col.close();
  });

  describe('sessions', () => {
    it('exchanges a read or admin token for an HttpOnly SameSite=Strict cookie, never an agent token', async () => {
      expect((await signIn('not-a-token')).res.status).toBe(401);
      expect((await signIn(TOKENS.agentA)).res.status).toBe(401);
      const s = await signIn(TOKENS.admin);
      expect(s.res.status).toBe(200);
      const set = s.res.headers.get('set-cookie') ?? '';
      expect(set).toMatch(/^ww_session=[A-Za-z0-9_-]{40,};/);
      expect(set).toContain('HttpOnly');
      expect(set).toContain('SameSite=Strict');
      expect(set).toContain('Path=/');
      expect(s.csrf.length).toBeGreaterThan(30);
      const me = await json<{ name: string; role: string; csrf: string }>(
        fetch(`${col.url}/api/session`, { headers: { cookie: s.cookie } }),
      );
      expect(me).toEqual({ name: 'biomed', role: 'admin', csrf: s.csrf });
      // The cookie opens the read API like a bearer token.
      expect((await fetch(`${col.url}/api/incidents`, { headers: { cookie: s.cookie } })).status).toBe(200);
    });

    it('refuses a sign-in from another origin', async () => {
      const r = await post('/api/session', { token: TOKENS.admin }, { origin: 'http://evil.example' });
      expect(r.status).toBe(403);
      expect(r.headers.get('set-cookie')).toBeNull();
    });

    it('needs the CSRF token and the same origin for writes made with the cookie; bearer writes need neither', async () => {
      const s = await signIn(TOKENS.admin);
      const body = { items: [{ agent: 'agent-a', id: 'i2' }], status: 'acknowledged', comment: 'csrf' };
      expect((await post('/api/findings/status', body, { cookie: s.cookie })).status).toBe(403);
      expect(
        (await post('/api/findings/status', body, { cookie: s.cookie, 'x-csrf-token': 'wrong' })).status,
      ).toBe(403);
      expect(
        (
          await post('/api/findings/status', body, {
            cookie: s.cookie,
            'x-csrf-token': s.csrf,
            origin: 'http://evil.example',
          })
        ).status,
      ).toBe(403);
      const ok = await post('/api/findings/status', body, {
        cookie: s.cookie,
        'x-csrf-token': s.csrf,
        origin: col.url,
      });
      expect(ok.status).toBe(200);
      const back = await post(
        '/api/findings/status',
        { ...body, status: 'open' },
        { authorization: `Bearer ${TOKENS.admin}` },
      );
      expect(back.status).toBe(200);
    });

    it('keeps a read session and a read token out of writes', async () => {
      const s = await signIn(TOKENS.read);
      const body = { items: [{ agent: 'agent-a', id: 'i2' }], status: 'acknowledged' };
      const r = await post('/api/findings/status', body, { cookie: s.cookie, 'x-csrf-token': s.csrf });
      expect(r.status).toBe(403);
      expect(await r.json()).toEqual({ error: 'admin role required' });
      expect(
        (await post('/api/findings/status', body, { authorization: `Bearer ${TOKENS.read}` })).status,
      ).toBe(403);
    });

    it('signs out: the cookie stops working', async () => {
      const s = await signIn(TOKENS.read);
      expect(
        (await fetch(`${col.url}/api/session`, { method: 'DELETE', headers: { cookie: s.cookie } })).status,
      ).toBe(403);
      const out = await fetch(`${col.url}/api/session`, {
        method: 'DELETE',
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
      });
      expect(out.status).toBe(200);
      expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
      expect((await fetch(`${col.url}/api/incidents`, { headers: { cookie: s.cookie } })).status).toBe(401);
    });
  });

  describe('headers and static files', () => {
    it('sends a strict CSP, nosniff and frame protection on pages, API and metrics', async () => {
      for (const p of ['/', '/api/incidents', '/metrics', '/console/main.js']) {
        const r = await getApi(p);
        const csp = r.headers.get('content-security-policy') ?? '';
        expect(csp, p).toContain("default-src 'none'");
        expect(csp, p).toContain("script-src 'self'");
        expect(csp, p).toContain("frame-ancestors 'none'");
        expect(csp, p).not.toContain('unsafe-inline');
        expect(r.headers.get('x-content-type-options'), p).toBe('nosniff');
        expect(r.headers.get('x-frame-options'), p).toBe('DENY');
      }
    });

    it('serves the built console and nothing else from disk', async () => {
      const page = await fetch(`${col.url}/?view=alerts&severity=high`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<script type="module" src="/console/main.js"></script>');
      expect(html).not.toMatch(/<script>|<style>|style=/);
      const js = await fetch(`${col.url}/console/main.js`);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(await js.text()).toContain('textContent');
      expect((await fetch(`${col.url}/console/console.css`)).status).toBe(200);
      for (const p of [
        '/console/nothing.js',
        '/console/..%2Fhttp.js',
        '/console/main.ts',
        '/console/tsconfig.json',
      ])
        expect((await fetch(`${col.url}${p}`)).status, p).toBe(404);
    });
  });

  describe('incidents', () => {
    it('groups alerts by incident with their highest severity, occurrences without the summary, and no exposures', async () => {
      const r = await json<Incidents>(getApi('/api/incidents?agent=agent-a'));
      expect(r.total).toBe(2);
      const [i2, i1] = r.incidents;
      expect(i2).toMatchObject({ incident: 'i2', severity: 'critical', findings: 1, status: 'open' });
      expect(i1).toMatchObject({
        incident: 'i1',
        severity: 'high',
        findings: 3,
        occurrences: 4,
        status: 'open',
      });
      expect(i1?.opener.id).toBe('i1');
      expect(i1?.rules).toEqual(['dicom.unknown-calling-ae', 'network.unlisted-clinical-device']);
    });

    it('filters by severity, rule, device, zone, agent, text, status and time', async () => {
      const ids = async (qs: string): Promise<string[]> =>
        (await json<Incidents>(getApi(`/api/incidents?agent=agent-a&${qs}`))).incidents.map(
          (i) => i.incident,
        );
      expect(await ids('severity=critical')).toEqual(['i2']);
      expect(await ids('rule=dicom.unknown-calling-ae')).toEqual(['i1']);
      expect(await ids('device=lis')).toEqual(['i2']);
      expect(await ids('device=28:cd:c1:30:00:99')).toEqual(['i1']);
      expect(await ids('zone=medical-devices')).toEqual(['i1']);
      expect(await ids('q=internet')).toEqual(['i2']);
      expect(await ids('q=UNKNOWN-CALLING')).toEqual(['i1']);
      expect(await ids('q=%25')).toEqual([]);
      expect(await ids('status=open')).toEqual(['i2', 'i1']);
      expect(await ids('status=resolved,false-positive')).toEqual([]);
      expect(await ids('since=2026-11-28T10:00:04Z')).toEqual(['i2']);
      expect(await ids('until=2026-11-28T10:00:02Z')).toEqual(['i1']);
      expect((await json<Incidents>(getApi('/api/incidents?agent=agent-b'))).total).toBe(1);
    });

    it('sorts and pages', async () => {
      const ids = async (qs: string): Promise<string[]> =>
        (await json<Incidents>(getApi(`/api/incidents?agent=agent-a&${qs}`))).incidents.map(
          (i) => i.incident,
        );
      expect(await ids('sort=severity&order=asc')).toEqual(['i1', 'i2']);
      expect(await ids('sort=findings')).toEqual(['i1', 'i2']);
      expect(await ids('sort=time&order=asc')).toEqual(['i1', 'i2']);
      const page2 = await json<Incidents>(getApi('/api/incidents?agent=agent-a&limit=1&offset=1'));
      expect(page2.total).toBe(2);
      expect(page2.incidents.map((i) => i.incident)).toEqual(['i1']);
    });

    it.each([
      ['/api/incidents?sevrity=high', 'unknown parameter "sevrity"'],
      ['/api/incidents?severity=urgent', 'unknown severity "urgent"'],
      ['/api/incidents?status=closed', 'unknown status "closed"'],
      ['/api/incidents?sort=colour', 'unknown sort "colour"'],
      ['/api/incidents?order=up', 'unknown order "up"'],
      ['/api/incidents?since=yesterday', 'bad since'],
      ['/api/incidents?offset=-1', 'bad offset'],
      ['/api/findings?sevrity=high', 'unknown parameter "sevrity"'],
      ['/api/findings?class=alerts', 'unknown class "alerts"'],
      ['/api/exposures?status=open', 'unknown parameter "status"'],
      ['/api/audit?who=me', 'unknown parameter "who"'],
      ['/api/devices?all=1', 'unknown parameter "all"'],
      ['/api/rules?x=1', 'unknown parameter "x"'],
      ['/api/findings/i1?agnt=agent-a', 'unknown parameter "agnt"'],
    ])('%s is a 400 naming it', async (p, msg) => {
      const r = await getApi(p);
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: string }).error).toContain(msg);
    });
  });

  describe('a finding in detail', () => {
    it('gives the finding, its rule, device and peer cards, and its incident with every alert', async () => {
      const d = await json<{
        finding: Finding;
        rule: RuleInfo | null;
        device: { id: string; vendor?: string } | null;
        peer: unknown;
        incident: { incident: string; status: string; findings: Finding[]; audit: unknown[] };
      }>(getApi('/api/findings/i1-u1'));
      expect(d.finding.id).toBe('i1-u1');
      expect(d.rule).toMatchObject({ id: 'dicom.unknown-calling-ae', remediation: RULES[0]?.remediation });
      expect(d.device).toMatchObject({ id: '28:cd:c1:30:00:99', vendor: 'Raspberry Pi Trading Ltd' });
      expect(d.peer).toBeNull();
      expect(d.incident.incident).toBe('i1');
      expect(d.incident.findings.map((f) => f.id)).toEqual(['i1', 'i1-u1', 'i1-summary']);
    });

    it('answers 404 for an unknown id and 409 for an id two agents used unless the agent is named', async () => {
      expect((await getApi('/api/findings/nope')).status).toBe(404);
      const amb = await getApi('/api/findings/i2');
      expect(amb.status).toBe(409);
      const one = await json<{ finding: Finding }>(getApi('/api/findings/i2?agent=agent-b'));
      expect(one.finding.agent).toBe('agent-b');
    });

    it('shows an exposure without an incident', async () => {
      const d = await json<{ finding: Finding; incident: unknown }>(getApi('/api/findings/x1'));
      expect(d.finding.class).toBe('exposure');
      expect(d.incident).toBeNull();
    });
  });

  describe('status workflow and audit', () => {
    const admin = (p: string, body: unknown): Promise<Response> =>
      post(p, body, { authorization: `Bearer ${TOKENS.admin}` });

    it('moves an incident open → acknowledged → resolved through any of its alerts, each change audited', async () => {
      const ack = await admin('/api/findings/i1-u1/status', { status: 'acknowledged', comment: 'on it' });
      expect(ack.status).toBe(200);
      expect(await ack.json()).toEqual({
        status: 'acknowledged',
        changed: [{ agent: 'agent-a', incident: 'i1', from: 'open' }],
        unchanged: 0,
      });
      // Moving to the status it has is a no-op, not an audit entry.
      expect(await json(admin('/api/findings/i1/status', { status: 'acknowledged' }))).toMatchObject({
        unchanged: 1,
      });
      expect(
        (await admin('/api/findings/i1/status', { status: 'resolved', comment: 'scanner test' })).status,
      ).toBe(200);
      const d = await json<{ incident: { status: string; by: string; comment: string; audit: unknown[] } }>(
        getApi('/api/findings/i1-summary'),
      );
      expect(d.incident).toMatchObject({ status: 'resolved', by: 'biomed', comment: 'scanner test' });
      const audit = await json<{ audit: Array<{ by: string; from: string; to: string; comment: string }> }>(
        getApi('/api/audit?incident=i1'),
      );
      expect(audit.audit.map((a) => [a.by, a.from, a.to, a.comment])).toEqual([
        ['biomed', 'acknowledged', 'resolved', 'scanner test'],
        ['biomed', 'open', 'acknowledged', 'on it'],
      ]);
      expect(d.incident.audit).toEqual(audit.audit);
    });

    it('refuses a move the workflow does not allow, and a bulk request with one is applied not at all', async () => {
      const bad = await admin('/api/findings/i1/status', { status: 'acknowledged' });
      expect(bad.status).toBe(409);
      expect(((await bad.json()) as { error: string }).error).toContain(
        'is resolved: cannot move to acknowledged',
      );
      const before = (await json<{ audit: unknown[] }>(getApi('/api/audit'))).audit.length;
      const bulk = await admin('/api/findings/status', {
        items: [
          { agent: 'agent-b', id: 'i2' },
          { agent: 'agent-a', id: 'i1' },
        ],
        status: 'acknowledged',
      });
      expect(bulk.status).toBe(409);
      expect((await json<{ audit: unknown[] }>(getApi('/api/audit'))).audit.length).toBe(before);
      expect(
        (await json<{ incident: { status: string } }>(getApi('/api/findings/i2?agent=agent-b'))).incident
          .status,
      ).toBe('open');
    });

    it('changes several incidents in one request and pages the audit trail', async () => {
      const r = await json<{ changed: unknown[] }>(
        admin('/api/findings/status', {
          items: [
            { agent: 'agent-b', id: 'i2' },
            { agent: 'agent-a', id: 'i2' },
          ],
          status: 'false-positive',
          comment: 'lab uplink test',
        }),
      );
      expect(r.changed).toHaveLength(2);
      const first = await json<{ audit: Array<{ seq: number }>; next: number | null }>(
        getApi('/api/audit?limit=1'),
      );
      expect(first.audit).toHaveLength(1);
      expect(first.next).not.toBeNull();
      const second = await json<{ audit: Array<{ seq: number }> }>(
        getApi(`/api/audit?limit=1&before=${first.next}`),
      );
      expect(second.audit[0]?.seq).toBeLessThan(first.audit[0]?.seq ?? 0);
      expect((await json<Incidents>(getApi('/api/incidents?status=false-positive'))).total).toBe(2);
    });

    it('refuses unknown alerts, exposures, unknown statuses and oversize comments', async () => {
      expect((await admin('/api/findings/nope/status', { status: 'resolved' })).status).toBe(404);
      expect(
        (await admin('/api/findings/status', { items: [{ agent: 'agent-a', id: 'x1' }], status: 'resolved' }))
          .status,
      ).toBe(404);
      const st = await admin('/api/findings/i1/status', { status: 'closed' });
      expect(st.status).toBe(400);
      expect(((await st.json()) as { error: string }).error).toContain('unknown status "closed"');
      expect(
        (await admin('/api/findings/i1/status', { status: 'open', comment: 'x'.repeat(2001) })).status,
      ).toBe(400);
      expect((await admin('/api/findings/status', { items: [], status: 'open' })).status).toBe(400);
      expect((await admin('/api/findings/status', { items: [{ id: 'i1' }], status: 'open' })).status).toBe(
        400,
      );
    });
  });

  describe('rules and devices', () => {
    it('lists the rules agents announced, with who announced them', async () => {
      const r = await json<{ rules: Array<RuleInfo & { agents: string[] }> }>(getApi('/api/rules'));
      expect(r.rules.map((x) => x.id)).toEqual([
        'dicom.unknown-calling-ae',
        'hl7.internet',
        'mqtt.anonymous-accepted',
      ]);
      expect(r.rules.every((x) => x.agents.join() === 'agent-a')).toBe(true);
      expect(await json(getApi('/api/rules/hl7.internet'))).toMatchObject({
        title: 'HL7 to the internet',
        attack: ['T0885'],
      });
      expect((await getApi('/api/rules/nope')).status).toBe(404);
    });

    it('finds one device by id, IP or MAC', async () => {
      for (const key of ['28:cd:c1:30:00:99', '10.20.30.99'])
        expect(await json(getApi(`/api/devices/${encodeURIComponent(key)}`))).toMatchObject({
          id: '28:cd:c1:30:00:99',
          agents: ['agent-a'],
        });
      expect((await getApi('/api/devices/10.9.9.9')).status).toBe(404);
    });
  });

  describe('metrics fed by triage and announced rules', () => {
    const value = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? Number.NaN);

    it('counts open and unacknowledged incidents by their highest severity', async () => {
      const m = async (): Promise<string> => (await fetch(`${col.url}/metrics`)).text();
      const admin = (id: string, agent: string, status: string): Promise<Response> =>
        post(`/api/findings/${id}/status`, { agent, status }, { authorization: `Bearer ${TOKENS.admin}` });
      // Reset the incidents the tests above moved.
      for (const [id, agent] of [
        ['i1', 'agent-a'],
        ['i2', 'agent-a'],
        ['i2', 'agent-b'],
      ] as const)
        await admin(id, agent, 'open');
      let t = await m();
      // agent-a's i2 and agent-b's i2 (a synthetic finding whose severity is critical) are critical, i1 is high.
      expect(value(t, /^wardwatch_alerts_open\{severity="critical"\} (\d+)$/m)).toBe(2);
      expect(value(t, /^wardwatch_alerts_unacknowledged\{severity="critical"\} (\d+)$/m)).toBe(2);
      expect(value(t, /^wardwatch_alerts_open\{severity="high"\} (\d+)$/m)).toBe(1);
      expect(value(t, /^wardwatch_alerts_unacknowledged\{severity="high"\} (\d+)$/m)).toBe(1);
      await admin('i2', 'agent-a', 'acknowledged');
      await admin('i2', 'agent-b', 'false-positive');
      await admin('i1', 'agent-a', 'resolved');
      t = await m();
      expect(value(t, /^wardwatch_alerts_open\{severity="critical"\} (\d+)$/m)).toBe(1);
      expect(value(t, /^wardwatch_alerts_unacknowledged\{severity="critical"\} (\d+)$/m)).toBe(0);
      expect(value(t, /^wardwatch_alerts_open\{severity="high"\} (\d+)$/m)).toBe(0);
      expect(value(t, /^wardwatch_alerts_unacknowledged\{severity="info"\} (\d+)$/m)).toBe(0);
    });

    it('shows the alert counters of announced rules at 0 before any finding, and again after a restart', async () => {
      const d = tempDir();
      const first = await startTestCollector({ dir: d });
      const t = await openTestAgent(first.wsUrl, { rules: RULES });
      await waitFor(async () => (await first.store.listRules()).length === RULES.length, 'rules stored');
      const before = await (await fetch(`${first.url}/metrics`)).text();
      expect(before).toMatch(
        /^wardwatch_findings_total\{rule="hl7.internet",severity="critical",agent="agent-a"\} 0$/m,
      );
      expect(before).toMatch(
        /^wardwatch_findings_total\{rule="dicom.unknown-calling-ae",severity="high",agent="agent-a"\} 0$/m,
      );
      // Exposures are not counted by wardwatch_findings_total: no series for them.
      expect(before).not.toContain('rule="mqtt.anonymous-accepted"');
      t.send(makeFinding(1, 'agent-a', { rule: 'hl7.internet', severity: 'critical', class: 'alert' }));
      await t.flush();
      await waitFor(async () => (await first.store.countFindings()) === 1, 'finding stored');
      expect(await (await fetch(`${first.url}/metrics`)).text()).toMatch(
        /^wardwatch_findings_total\{rule="hl7.internet",severity="critical",agent="agent-a"\} 1$/m,
      );
      await t.close();
      await first.close();
      // No agent connects: the series come from the store (announced rules and stored alerts), at 0.
      const second = await startTestCollector({ dir: d, tokensFile: path.join(d, 'tokens') });
      const after = await (await fetch(`${second.url}/metrics`)).text();
      expect(after).toMatch(
        /^wardwatch_findings_total\{rule="hl7.internet",severity="critical",agent="agent-a"\} 0$/m,
      );
      expect(after).toMatch(
        /^wardwatch_findings_total\{rule="dicom.unknown-calling-ae",severity="high",agent="agent-a"\} 0$/m,
      );
      await second.close();
    });

    it('refuses a hello whose announced rules break the schema', async () => {
      const d = tempDir();
      const c = await startTestCollector({ dir: d });
      const bad = [{ ...RULES[0], severity: 'urgent' }] as unknown as RuleInfo[];
      const t = await openTestAgent(c.wsUrl, {
        rules: bad,
        backoffMinMs: 60_000,
        backoffMaxMs: 60_000,
      }).catch((e: unknown) => e);
      await waitFor(
        async () =>
          /wardwatch_rejected_messages_total\{reason="schema"\} 1/.test(
            await (await fetch(`${c.url}/metrics`)).text(),
          ),
        'the hello refused',
      );
      expect(await c.store.listRules()).toEqual([]);
      if (t && typeof t === 'object' && 'close' in t) await (t as { close(): Promise<void> }).close();
      await c.close();
    });
  });
});

describe.each(B.backends)('reopening on $name', (backend) => {
  it('reopens a resolved incident when a new alert of it arrives, not for a closing summary or a false positive', async () => {
    const s = await backend.open(await backend.fresh(tempDir()));
    const [opener, update] = findings();
    await s.storeBatch('agent-a', 1, [opener as Finding]);
    await s.storeBatch('agent-b', 1, [{ ...(opener as Finding), agent: 'agent-b' }]);
    await s.setStatus([{ agent: 'agent-a', id: 'i1' }], 'resolved', 'soc', 'done');
    await s.setStatus([{ agent: 'agent-b', id: 'i1' }], 'false-positive', 'soc', 'lab');
    await s.storeBatch('agent-a', 2, [findings()[2] as Finding]);
    expect((await s.triageOf('agent-a', 'i1')).status).toBe('resolved');
    await s.storeBatch('agent-a', 3, [update as Finding]);
    await s.storeBatch('agent-b', 2, [{ ...(update as Finding), agent: 'agent-b' }]);
    expect(await s.triageOf('agent-a', 'i1')).toMatchObject({ status: 'open', by: 'wardwatch' });
    expect((await s.triageOf('agent-b', 'i1')).status).toBe('false-positive');
    expect((await s.listAudit({ agent: 'agent-a' })).audit[0]).toMatchObject({
      by: 'wardwatch',
      from: 'resolved',
      to: 'open',
      comment: 'new alert i1-u1 (dicom.unknown-calling-ae) after it was resolved',
    });
    await s.close();
  });
});

describe('schema version 2', () => {
  it('brings a version 1 database up, incidents taken from the stored JSON', async () => {
    const file = path.join(tempDir(), 'v1.db');
    const s = new SqliteStore(file);
    await s.storeBatch('agent-a', 1, findings());
    // Back to version 1 as the previous release left it.
    s.db.exec('DROP INDEX findings_incident; ALTER TABLE findings DROP COLUMN incident;');
    s.db.exec('DROP TABLE triage; DROP TABLE audit; DROP TABLE rules;');
    s.db.pragma('user_version = 1');
    await s.close();
    const again = new SqliteStore(file);
    const r = await again.queryIncidents({});
    expect(r.incidents.map((i) => [i.incident, i.findings])).toEqual([
      ['i2', 1],
      ['i1', 3],
    ]);
    await again.setStatus([{ agent: 'agent-a', id: 'i1' }], 'acknowledged', 'soc', '');
    expect((await again.triageOf('agent-a', 'i1')).status).toBe('acknowledged');
    await again.close();
  });
});
