// The wardwatch console (issue 10): sign-in, alert triage by incident, a finding's detail with its incident, the
// exposures and the audit trail. The view lives in the URL's query string, so a link in a ticket opens the same view.
import { ApiError, api, setCsrf } from './api.js';
import { byId, fill, h, type Child } from './dom.js';
import {
  SEVERITIES,
  STATUSES,
  type AuditEntry,
  type BaselineReview,
  type BaselineSummary,
  type Device,
  type Endpoint,
  type Exposure,
  type FindingDetail,
  type Incident,
  type Me,
  type Rule,
  type Status,
} from './types.js';

const PAGE_SIZE = 25;
/** Filters of the alerts view, in the order the form shows them; each is a query parameter of the URL and the API. */
const ALERT_FILTERS = [
  'severity',
  'status',
  'rule',
  'device',
  'zone',
  'agent',
  'since',
  'until',
  'q',
] as const;
const EXPOSURE_FILTERS = ['severity', 'rule', 'device', 'agent'] as const;
type Sort = 'time' | 'severity' | 'rule' | 'findings';

let me: Me | null = null;
let rules: Rule[] = [];

function params(): URLSearchParams {
  return new URLSearchParams(window.location.search);
}

/** Moves to a view: the URL first (deep link, back button), then the page. */
function go(p: URLSearchParams): void {
  const qs = p.toString();
  window.history.pushState(null, '', qs ? `?${qs}` : window.location.pathname);
  say('');
  void render();
}

function link(p: URLSearchParams, ...children: Child[]): HTMLAnchorElement {
  const a = h('a', { href: `?${p.toString()}` }, ...children);
  a.addEventListener('click', (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    go(p);
  });
  return a;
}

/** A line under the header: an error (red) or, with ok, the outcome of an action. Cleared on every move. */
function say(text: string, ok = false): void {
  const m = byId('msg');
  m.textContent = text;
  m.className = ok ? 'ok' : '';
}

function sev(s: string): HTMLSpanElement {
  return h('span', { class: `sev sev-${s}` }, s);
}

function endpoint(e: Endpoint | undefined): string {
  if (!e) return '';
  const where = `${e.ip}${e.port !== undefined ? `:${e.port}` : ''}`;
  return e.name ? `${e.name} (${where})` : where;
}

function isAdmin(): boolean {
  return me?.role === 'admin';
}

function adminOnly(): string | undefined {
  return isAdmin() ? undefined : 'needs the admin role';
}

/** datetime-local value (read as UTC) → RFC 3339 for the API, and back. */
function toRfc3339(v: string): string {
  if (v === '') return '';
  return /T\d\d:\d\d$/.test(v) ? `${v}:00Z` : `${v}Z`;
}

function fromRfc3339(v: string): string {
  return v.replace(/(\.\d+)?Z$/, '');
}

// ---- sign-in ----------------------------------------------------------------------------------------------------

async function loadSession(): Promise<boolean> {
  try {
    me = await api.get<Me>('/api/session');
    setCsrf(me.csrf);
    return true;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 400)) return false;
    throw e;
  }
}

function signInView(): void {
  byId('tabs').hidden = true;
  fill(byId('who'));
  const token = h('input', {
    type: 'password',
    id: 'token',
    name: 'token',
    placeholder: 'read or admin token',
  });
  const form = h(
    'form',
    { class: 'signin', id: 'signin' },
    h('h2', {}, 'Sign in'),
    h(
      'p',
      { class: 'muted' },
      'Paste a read or admin token from the collector’s tokens file. It is exchanged for a session cookie and not kept by the page.',
    ),
    h('label', { for: 'token' }, 'Token'),
    token,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    api
      .post<Me>('/api/session', { token: token.value })
      .then((m) => {
        me = m;
        setCsrf(m.csrf);
        token.value = '';
        say('');
        return render();
      })
      .catch((err: unknown) =>
        say(err instanceof Error ? `Sign-in failed: ${err.message}` : 'Sign-in failed'),
      );
  });
  fill(byId('main'), form);
  token.focus();
}

function header(): void {
  const tabs = byId('tabs');
  tabs.hidden = false;
  const view = params().get('view') ?? 'alerts';
  for (const a of Array.from(tabs.querySelectorAll('a'))) {
    const v = a.dataset.view ?? '';
    a.classList.toggle(
      'active',
      v === view || (view === 'finding' && v === 'alerts') || (view === 'baseline' && v === 'baselines'),
    );
    a.onclick = (e) => {
      e.preventDefault();
      go(new URLSearchParams({ view: v }));
    };
  }
  const out = h('button', { type: 'button', id: 'signout' }, 'Sign out');
  out.addEventListener('click', () => {
    api
      .del('/api/session')
      .catch(() => undefined)
      .then(() => {
        me = null;
        setCsrf('');
        go(new URLSearchParams());
      });
  });
  fill(byId('who'), `${me?.name ?? ''} (${me?.role ?? ''})`, out);
}

// ---- alerts (one row per incident) ------------------------------------------------------------------------------

function filterForm(names: readonly string[], p: URLSearchParams, view: string): HTMLFormElement {
  const form = h('form', { class: 'filters', id: 'filters' });
  for (const name of names) {
    let input: HTMLInputElement | HTMLSelectElement;
    const v = p.get(name) ?? '';
    if (name === 'severity') {
      input = h('select', { name }, h('option', { value: '' }, 'any'));
      for (const s of SEVERITIES) input.append(h('option', { value: s }, `≥ ${s}`));
      input.value = v;
    } else if (name === 'status') {
      input = h(
        'select',
        { name },
        h('option', { value: 'open,acknowledged' }, 'open or acknowledged'),
        h('option', { value: '' }, 'any'),
      );
      for (const s of STATUSES) input.append(h('option', { value: s }, s));
      input.value = p.has('status') ? v : 'open,acknowledged';
    } else if (name === 'since' || name === 'until') {
      input = h('input', { name, type: 'datetime-local', value: fromRfc3339(v) });
      input.setAttribute('step', '1');
    } else if (name === 'rule') {
      input = h('input', { name, value: v, placeholder: 'rule id' });
      input.setAttribute('list', 'rule-ids');
    } else {
      input = h('input', {
        name,
        value: v,
        placeholder: name === 'q' ? 'rule or title contains' : name === 'device' ? 'IP, MAC or asset' : name,
      });
    }
    const label =
      { q: 'text', since: 'since (UTC)', until: 'until (UTC)' }[name as 'q' | 'since' | 'until'] ?? name;
    form.append(h('label', {}, label, input));
  }
  form.append(
    h('datalist', { id: 'rule-ids' }, ...rules.map((r) => h('option', { value: r.id }, r.title))),
    h('button', { type: 'submit', id: 'apply' }, 'Apply'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams({ view });
    for (const el of Array.from(form.elements)) {
      if (!(el instanceof HTMLInputElement || el instanceof HTMLSelectElement) || el.name === '') continue;
      const value = el.name === 'since' || el.name === 'until' ? toRfc3339(el.value) : el.value.trim();
      // "open or acknowledged" is the default: left out of the URL; "any" is an explicit empty status.
      if (el.name === 'status') {
        if (value !== 'open,acknowledged') next.set('status', value);
      } else if (value !== '') next.set(el.name, value);
    }
    for (const k of ['sort', 'order']) {
      const s = p.get(k);
      if (s !== null) next.set(k, s);
    }
    go(next);
  });
  return form;
}

async function alertsView(): Promise<void> {
  const p = params();
  const query = new URLSearchParams();
  for (const k of ALERT_FILTERS) {
    const v = p.get(k);
    if (v !== null && v !== '') query.set(k, v);
  }
  if (!p.has('status')) query.set('status', 'open,acknowledged');
  const page = Math.max(1, Number(p.get('page') ?? '1') || 1);
  const sort = p.get('sort') ?? 'time';
  const order = p.get('order') ?? 'desc';
  query.set('sort', sort);
  query.set('order', order);
  query.set('limit', String(PAGE_SIZE));
  query.set('offset', String((page - 1) * PAGE_SIZE));
  const res = await api.get<{ incidents: Incident[]; total: number }>(`/api/incidents?${query.toString()}`);

  const selected = new Map<string, Incident>();
  const keyOf = (i: Incident): string => `${i.agent}\u0000${i.incident}`;
  const th = (label: string, key?: Sort): HTMLTableCellElement => {
    if (!key) return h('th', {}, label);
    const next = new URLSearchParams(p);
    next.set('sort', key);
    next.set('order', sort === key && order === 'desc' ? 'asc' : 'desc');
    next.delete('page');
    const arrow = sort === key ? (order === 'desc' ? ' ▼' : ' ▲') : '';
    const b = h('button', { type: 'button', class: 'sort', data: { sort: key } }, label + arrow);
    b.addEventListener('click', () => go(next));
    return h('th', {}, b);
  };
  const all = h('input', { type: 'checkbox', title: 'select every row on this page' });
  const boxes: HTMLInputElement[] = [];
  const body = h('tbody', {});
  for (const i of res.incidents) {
    const f = i.opener;
    const box = h('input', { type: 'checkbox', title: 'select' });
    box.addEventListener('change', () => {
      if (box.checked) selected.set(keyOf(i), i);
      else selected.delete(keyOf(i));
    });
    boxes.push(box);
    const detail = new URLSearchParams({ view: 'finding', id: i.incident, agent: i.agent });
    body.append(
      h(
        'tr',
        { class: 'row', data: { incident: i.incident, rules: i.rules.join(' ') } },
        h('td', {}, box),
        h('td', { class: 'ts' }, i.last_seen),
        h('td', {}, sev(i.severity)),
        h('td', {}, i.rules.join(', ')),
        h('td', {}, link(detail, f.title)),
        h('td', {}, endpoint(f.device)),
        h('td', {}, endpoint(f.peer)),
        h('td', {}, String(i.findings)),
        h(
          'td',
          { class: `status-${i.status}` },
          i.status,
          i.status_by ? h('div', { class: 'muted' }, `by ${i.status_by}`) : null,
        ),
        h('td', {}, i.agent),
      ),
    );
  }
  all.addEventListener('change', () => {
    for (const [n, b] of boxes.entries()) {
      b.checked = all.checked;
      const i = res.incidents[n];
      if (!i) continue;
      if (all.checked) selected.set(keyOf(i), i);
      else selected.delete(keyOf(i));
    }
  });
  if (res.incidents.length === 0)
    body.append(h('tr', {}, h('td', { colspan: '10', class: 'muted' }, 'No alerts match.')));

  const comment = h('input', { id: 'bulk-comment', placeholder: 'comment for the selected alerts' });
  const bulk = (to: Status, label: string): HTMLButtonElement => {
    const b = h(
      'button',
      { type: 'button', disabled: !isAdmin(), title: adminOnly(), data: { bulk: to } },
      label,
    );
    b.addEventListener('click', () => {
      if (selected.size === 0) return say('Select at least one alert.');
      const items = [...selected.values()].map((i) => ({ agent: i.agent, id: i.incident }));
      api
        .post<{ changed: unknown[] }>('/api/findings/status', { items, status: to, comment: comment.value })
        .then((r) => {
          say('');
          byId('msg').textContent = '';
          void render().then(() => say(`${r.changed.length} incident(s) now ${to}.`, true));
        })
        .catch((e: unknown) => say(e instanceof Error ? e.message : String(e)));
    });
    return b;
  };

  const first = (page - 1) * PAGE_SIZE;
  const pager = h('div', { class: 'bar' });
  if (page > 1) {
    const prev = new URLSearchParams(p);
    prev.set('page', String(page - 1));
    pager.append(link(prev, '← previous'));
  }
  pager.append(
    h(
      'span',
      { id: 'count' },
      res.total === 0
        ? '0 incidents'
        : `${first + 1}–${first + res.incidents.length} of ${res.total} incidents`,
    ),
  );
  if (first + res.incidents.length < res.total) {
    const next = new URLSearchParams(p);
    next.set('page', String(page + 1));
    pager.append(link(next, 'next →'));
  }

  fill(
    byId('main'),
    filterForm(ALERT_FILTERS, p, 'alerts'),
    h(
      'div',
      { class: 'bar' },
      comment,
      bulk('acknowledged', 'Acknowledge'),
      bulk('resolved', 'Resolve'),
      bulk('false-positive', 'False positive'),
      bulk('open', 'Reopen'),
    ),
    h(
      'table',
      { id: 'alerts' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, all),
          th('last seen', 'time'),
          th('severity', 'severity'),
          th('rules', 'rule'),
          h('th', {}, 'title'),
          h('th', {}, 'device'),
          h('th', {}, 'peer'),
          th('alerts', 'findings'),
          h('th', {}, 'status'),
          h('th', {}, 'agent'),
        ),
      ),
      body,
    ),
    pager,
  );
}

// ---- one finding and its incident -------------------------------------------------------------------------------

function dl(rows: Array<[string, Child]>): HTMLDListElement {
  const d = h('dl', {});
  for (const [k, v] of rows)
    if (v !== undefined && v !== null && v !== '') d.append(h('dt', {}, k), h('dd', {}, v));
  return d;
}

function deviceCard(title: string, e: Endpoint | undefined, d: Device | null, id: string): HTMLElement {
  if (!e) return h('section', { class: 'card', id }, h('h3', {}, title), h('p', { class: 'muted' }, 'none'));
  const attrs = h('tbody', {});
  for (const a of d?.attributes ?? [])
    attrs.append(
      h('tr', {}, h('td', {}, a.name), h('td', {}, a.value), h('td', { class: 'muted' }, a.source)),
    );
  return h(
    'section',
    { class: 'card', id },
    h('h3', {}, title),
    dl([
      ['address', endpoint(e)],
      ['MAC', e.mac ?? d?.mac],
      ['vendor', e.vendor ?? d?.vendor],
      ['asset', e.name ?? d?.name],
      ['protocols', d?.protocols?.join(', ')],
      ['first seen', d?.first_seen],
      ['last seen', d?.last_seen],
      ['baseline', d?.baseline_state],
      [
        'exposures',
        d?.exposures && d.exposures.length > 0 ? d.exposures.map((x) => x.rule).join(', ') : undefined,
      ],
    ]),
    d ? null : h('p', { class: 'muted' }, 'Not in the device inventory yet.'),
    (d?.attributes?.length ?? 0) > 0
      ? h(
          'table',
          {},
          h('thead', {}, h('tr', {}, h('th', {}, 'attribute'), h('th', {}, 'value'), h('th', {}, 'source'))),
          attrs,
        )
      : null,
  );
}

async function findingView(): Promise<void> {
  const p = params();
  const id = p.get('id') ?? '';
  const agent = p.get('agent');
  const qs = agent ? `?agent=${encodeURIComponent(agent)}` : '';
  const d = await api.get<FindingDetail>(`/api/findings/${encodeURIComponent(id)}${qs}`);
  const f = d.finding;
  const inc = d.incident;
  const members = inc?.findings ?? [f];
  const summary = members.find((m) => m.evidence.incident_rules !== undefined);
  // A closing summary restates the incident's alerts: counting it too would double them.
  const occurrences = members.filter((m) => m !== summary).reduce((n, m) => n + (m.count ?? 1), 0);
  const times = members.map((m) => m.ts).sort();

  const note = h('textarea', { id: 'comment', placeholder: 'comment (kept in the audit trail)' });
  const act = (to: Status, label: string, allowed: boolean): HTMLButtonElement => {
    const b = h(
      'button',
      { type: 'button', disabled: !isAdmin() || !allowed, title: adminOnly(), data: { action: to } },
      label,
    );
    b.addEventListener('click', () => {
      api
        .post(`/api/findings/${encodeURIComponent(f.id)}/status`, {
          agent: f.agent,
          status: to,
          comment: note.value,
        })
        .then(() => render())
        .then(() => say(`Now ${to}.`, true))
        .catch((e: unknown) => say(e instanceof Error ? e.message : String(e)));
    });
    return b;
  };
  const status = inc?.status ?? 'open';
  const updates = h('tbody', {});
  for (const m of members) {
    const kind =
      m.id === inc?.incident
        ? 'opened'
        : m.evidence.incident_rules !== undefined
          ? 'closing summary'
          : 'update';
    updates.append(
      h(
        'tr',
        { class: m.id === f.id ? 'row current' : 'row' },
        h('td', { class: 'ts' }, m.ts),
        h('td', {}, kind),
        h('td', {}, sev(m.severity)),
        h('td', {}, m.rule),
        h('td', {}, link(new URLSearchParams({ view: 'finding', id: m.id, agent: m.agent }), m.title)),
        h('td', {}, String(m.count ?? 1)),
      ),
    );
  }
  const audit = h('tbody', {});
  for (const a of inc?.audit ?? []) audit.append(auditRow(a));

  fill(
    byId('main'),
    h('p', {}, link(new URLSearchParams({ view: 'alerts' }), '← alerts')),
    h('h2', { id: 'finding-title' }, sev(f.severity), ' ', f.title),
    h(
      'div',
      { class: 'cards' },
      h(
        'section',
        { class: 'card', id: 'summary' },
        h('h3', {}, 'Finding'),
        dl([
          ['rule', f.rule],
          ['ATT&CK for ICS', (d.rule?.attack ?? f.attack).join(', ')],
          ['protocol', f.proto],
          ['time', f.ts],
          ['agent', f.agent],
          ['id', f.id],
          ['repeat count', String(f.count ?? 1)],
          ['occurrences in the incident', inc ? String(occurrences) : undefined],
          ['first seen', times[0]],
          ['last seen', times[times.length - 1]],
          [
            'incident',
            inc ? `${members.length} alert(s)${summary ? ', closed by a summary' : ''}` : 'exposure',
          ],
        ]),
      ),
      h(
        'section',
        { class: 'card', id: 'triage' },
        h('h3', {}, 'Triage'),
        dl([
          ['status', h('span', { id: 'status', class: `status-${status}` }, status)],
          ['by', inc?.by ?? undefined],
          ['at', inc?.at ?? undefined],
          ['comment', inc?.comment],
        ]),
        inc ? note : null,
        inc
          ? h(
              'div',
              { class: 'bar' },
              act('acknowledged', 'Acknowledge', status === 'open'),
              act('resolved', 'Resolve', status === 'open' || status === 'acknowledged'),
              act('false-positive', 'False positive', status === 'open' || status === 'acknowledged'),
              act('open', 'Reopen', status !== 'open'),
              f.rule.startsWith('baseline.') ? approveDeviationButton(f.id, f.agent, note) : null,
            )
          : null,
      ),
    ),
    h(
      'section',
      { class: 'card', id: 'rule' },
      h('h3', {}, 'What it means'),
      d.rule
        ? dl([
            ['description', d.rule.description],
            ['remediation', d.rule.remediation],
          ])
        : h('p', { class: 'muted' }, 'No description: no connected agent announced this rule.'),
    ),
    h(
      'section',
      { class: 'card', id: 'evidence' },
      h('h3', {}, 'Evidence'),
      h('pre', {}, JSON.stringify(f.evidence, null, 2)),
    ),
    h(
      'div',
      { class: 'cards' },
      deviceCard('Device', f.device, d.device, 'device-card'),
      h(
        'p',
        {},
        link(
          new URLSearchParams({ view: 'baseline', device: f.device.ip }),
          `Baseline review of ${f.device.ip}`,
        ),
      ),
      deviceCard('Peer', f.peer, d.peer, 'peer-card'),
    ),
    inc
      ? h(
          'section',
          { class: 'card', id: 'updates' },
          h('h3', {}, 'Alerts of this incident'),
          h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'time'),
                h('th', {}, ''),
                h('th', {}, 'severity'),
                h('th', {}, 'rule'),
                h('th', {}, 'title'),
                h('th', {}, 'count'),
              ),
            ),
            updates,
          ),
        )
      : null,
    inc
      ? h(
          'section',
          { class: 'card', id: 'history' },
          h('h3', {}, 'Status history'),
          h('table', {}, auditHead(), audit),
        )
      : null,
  );
}

// ---- baseline review -------------------------------------------------------------------------------------------

/** "Approve into baseline" on a baseline deviation: the item it names joins the device's approved baseline. */
function approveDeviationButton(id: string, agent: string, note: HTMLTextAreaElement): HTMLButtonElement {
  const b = h(
    'button',
    { type: 'button', id: 'approve-baseline', disabled: !isAdmin(), title: adminOnly() },
    'Approve into baseline',
  );
  b.addEventListener('click', () => {
    api
      .post<{ device: string; version: number }>(`/api/findings/${encodeURIComponent(id)}/approve-baseline`, {
        agent,
        comment: note.value,
      })
      .then((r) =>
        say(`Approved into the baseline of ${r.device} (version ${r.version}); agents apply it now.`, true),
      )
      .catch((e: unknown) => say(e instanceof Error ? e.message : String(e)));
  });
  return b;
}

async function baselinesView(): Promise<void> {
  const res = await api.get<{ baselines: BaselineSummary[] }>('/api/baselines');
  const body = h('tbody', {});
  for (const b of res.baselines)
    body.append(
      h(
        'tr',
        { class: 'row' },
        h('td', {}, link(new URLSearchParams({ view: 'baseline', device: b.device }), b.device)),
        h('td', {}, b.learned?.name ?? ''),
        h('td', {}, b.learned?.vendor ?? ''),
        h('td', {}, b.learned_version === null ? '—' : String(b.learned_version)),
        h('td', {}, b.approved_version === null ? 'not approved' : String(b.approved_version)),
        h('td', {}, b.approved_by ?? ''),
        h('td', { class: 'ts' }, b.updated_at),
      ),
    );
  if (res.baselines.length === 0)
    body.append(
      h('tr', {}, h('td', { colspan: '7', class: 'muted' }, 'No agent has uploaded a baseline yet.')),
    );
  fill(
    byId('main'),
    h('h2', {}, 'Device baselines'),
    h(
      'table',
      { id: 'baselines' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            'device',
            'asset',
            'vendor',
            'learned version',
            'approved version',
            'approved by',
            'updated',
          ].map((t) => h('th', {}, t)),
        ),
      ),
      body,
    ),
  );
}

const REVIEW_ORDER: Record<string, number> = { new: 0, changed: 1, rejected: 2, approved: 3, gone: 4 };

async function baselineView(): Promise<void> {
  const device = params().get('device') ?? '';
  const r = await api.get<BaselineReview>(`/api/baselines/${encodeURIComponent(device)}`);
  const note = h('textarea', { id: 'comment', placeholder: 'comment (kept in the audit trail)' });
  const post = (action: 'approve' | 'reject', body: Record<string, unknown>, done: string): void => {
    api
      .post(`/api/baselines/${encodeURIComponent(r.device)}/${action}`, { ...body, comment: note.value })
      .then(() => render())
      .then(() => say(done, true))
      .catch((e: unknown) => say(e instanceof Error ? e.message : String(e)));
  };
  const button = (label: string, action: string, enabled: boolean, run: () => void): HTMLButtonElement => {
    const b = h(
      'button',
      { type: 'button', disabled: !isAdmin() || !enabled, title: adminOnly(), data: { action } },
      label,
    );
    b.addEventListener('click', run);
    return b;
  };
  const items = [...r.items].sort(
    (a, b) => (REVIEW_ORDER[a.status] ?? 9) - (REVIEW_ORDER[b.status] ?? 9) || a.facet.localeCompare(b.facet),
  );
  const body = h('tbody', {});
  for (const it of items)
    body.append(
      h(
        'tr',
        { class: `row review-${it.status}`, data: { item: it.id } },
        h('td', {}, h('span', { class: `review review-${it.status}` }, it.status)),
        h('td', {}, it.facet),
        h('td', { class: 'item' }, it.label),
        h(
          'td',
          {},
          button('Approve', 'approve', it.status !== 'approved' && it.status !== 'gone', () =>
            post('approve', { items: [it.id] }, `Approved ${it.facet}: ${it.label}.`),
          ),
          ' ',
          button('Reject', 'reject', it.status === 'new' || it.status === 'changed', () =>
            post('reject', { items: [it.id] }, `Rejected ${it.facet}: ${it.label}.`),
          ),
        ),
      ),
    );
  const pending = r.items.filter((i) => i.status === 'new' || i.status === 'changed').length;
  const versions = h('tbody', {});
  for (const v of r.versions)
    versions.append(
      h(
        'tr',
        {},
        h('td', {}, v.kind),
        h('td', {}, String(v.version)),
        h('td', {}, v.agent ?? v.by),
        h('td', { class: 'ts' }, v.at),
      ),
    );
  fill(
    byId('main'),
    h('p', {}, link(new URLSearchParams({ view: 'baselines' }), '← baselines')),
    h(
      'h2',
      { id: 'baseline-title' },
      `Baseline of ${r.device}`,
      r.learned?.name ? ` (${r.learned.name})` : '',
    ),
    dl([
      ['learned version', r.learned_version === null ? undefined : String(r.learned_version)],
      ['approved version', r.approved_version === null ? 'not approved yet' : String(r.approved_version)],
      ['approved by', r.approved_by ?? undefined],
      ['approved at', r.approved_at ?? undefined],
      ['to review', String(pending)],
    ]),
    note,
    h(
      'div',
      { class: 'bar' },
      button('Approve the whole device', 'approve-all', r.learned_version !== null, () =>
        post('approve', { all: true }, `Approved every learned item of ${r.device} that was not rejected.`),
      ),
    ),
    h(
      'table',
      { id: 'review' },
      h('thead', {}, h('tr', {}, ...['status', 'what', 'item', ''].map((t) => h('th', {}, t)))),
      body,
    ),
    h('h3', {}, 'Versions'),
    h(
      'table',
      { id: 'versions' },
      h('thead', {}, h('tr', {}, ...['kind', 'version', 'from', 'when'].map((t) => h('th', {}, t)))),
      versions,
    ),
  );
}

// ---- exposures and audit ----------------------------------------------------------------------------------------

async function exposuresView(): Promise<void> {
  const p = params();
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const k of [...EXPOSURE_FILTERS, 'cursor']) {
    const v = p.get(k);
    if (v !== null && v !== '') query.set(k, v);
  }
  const res = await api.get<{ exposures: Exposure[]; next: string | null }>(
    `/api/exposures?${query.toString()}`,
  );
  const body = h('tbody', {});
  for (const e of res.exposures) {
    body.append(
      h(
        'tr',
        { class: 'row' },
        h('td', { class: 'ts' }, e.last_seen),
        h('td', {}, sev(e.severity)),
        h('td', {}, e.rule),
        h('td', {}, link(new URLSearchParams({ view: 'finding', id: e.finding, agent: e.agent }), e.title)),
        h('td', {}, endpoint(e.device)),
        h('td', {}, String(e.count)),
        h('td', { class: 'ts' }, e.first_seen),
        h('td', {}, e.agent),
      ),
    );
  }
  if (res.exposures.length === 0)
    body.append(h('tr', {}, h('td', { colspan: '8', class: 'muted' }, 'No exposures match.')));
  const pager = h('div', { class: 'bar' });
  if (p.has('cursor')) {
    const first = new URLSearchParams(p);
    first.delete('cursor');
    pager.append(link(first, '← newest'));
  }
  if (res.next !== null) {
    const next = new URLSearchParams(p);
    next.set('cursor', res.next);
    pager.append(link(next, 'older →'));
  }
  fill(
    byId('main'),
    h(
      'p',
      { class: 'muted' },
      'Standing conditions of devices (cleartext credentials, anonymous logins, PHI in cleartext across zones): one row per device and rule, kept current; they do not page.',
    ),
    filterForm(EXPOSURE_FILTERS, p, 'exposures'),
    h(
      'table',
      { id: 'exposures' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['last seen', 'severity', 'rule', 'title', 'device', 'count', 'first seen', 'agent'].map((t) =>
            h('th', {}, t),
          ),
        ),
      ),
      body,
    ),
    pager,
  );
}

function auditHead(): HTMLTableSectionElement {
  return h(
    'thead',
    {},
    h('tr', {}, ...['when', 'who', 'from', 'to', 'comment', 'incident'].map((t) => h('th', {}, t))),
  );
}

function auditRow(a: AuditEntry): HTMLTableRowElement {
  return h(
    'tr',
    {},
    h('td', { class: 'ts' }, a.at),
    h('td', {}, a.by),
    h('td', {}, a.from),
    h('td', {}, a.to),
    h('td', {}, a.comment),
    h(
      'td',
      {},
      a.incident.startsWith('baseline:')
        ? link(
            new URLSearchParams({ view: 'baseline', device: a.incident.slice('baseline:'.length) }),
            a.incident,
          )
        : link(new URLSearchParams({ view: 'finding', id: a.incident, agent: a.agent }), a.incident),
    ),
  );
}

async function auditView(): Promise<void> {
  const res = await api.get<{ audit: AuditEntry[] }>('/api/audit?limit=200');
  const body = h('tbody', {});
  for (const a of res.audit) body.append(auditRow(a));
  fill(byId('main'), h('h2', {}, 'Every status change'), h('table', { id: 'audit' }, auditHead(), body));
}

// ---- router -----------------------------------------------------------------------------------------------------

async function render(): Promise<void> {
  try {
    if (me === null && !(await loadSession())) return signInView();
    if (rules.length === 0) rules = (await api.get<{ rules: Rule[] }>('/api/rules')).rules;
    header();
    const view = params().get('view') ?? 'alerts';
    if (view === 'finding') await findingView();
    else if (view === 'exposures') await exposuresView();
    else if (view === 'audit') await auditView();
    else if (view === 'baselines') await baselinesView();
    else if (view === 'baseline') await baselineView();
    else await alertsView();
    document.body.dataset.ready = view;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      me = null;
      return signInView();
    }
    say(e instanceof Error ? e.message : String(e));
  }
}

window.addEventListener('popstate', () => void render());
void render();
