// The console in a real browser (issue 10): Debian's chromium driven by playwright-core against a collector fed by a
// real agent replaying scenario captures, plus one crafted finding whose packet-borne strings are HTML. Sign in,
// filter, open a finding's evidence, acknowledge and resolve with a comment, exposures, text-only rendering.
// Screenshots go to a temporary folder, or to docs/screenshots/ (the README shows them) when
// WARDWATCH_SCREENSHOTS=1, so that a test run does not rewrite tracked files.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../agent/wire/finding.js';
import { formatTs } from '../../agent/wire/time.js';
import type { RunningCollector } from '../../collector/main.js';
import { TOKENS, makeFinding, tempDir, waitFor } from '../collector/helpers.js';
import { openTestAgent, startTestCollector } from '../helpers/collector.js';
import { FIXTURES, REPO_ROOT } from '../helpers/paths.js';
import { BIN, tracked } from '../helpers/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const IN_CI = process.env.WARDWATCH_CI !== undefined;
const CONSOLE_BUILT = existsSync(path.join(REPO_ROOT, 'dist/collector/console/main.js'));
const CAPTURES = ['dicom-ae-enumeration', 'mqtt-anonymous', 'dicom-cleartext-credentials'].map((n) =>
  path.join(FIXTURES, 'scenarios', `${n}.pcap`),
);
const SITE = path.join(FIXTURES, 'site.yaml');
const SHOTS = process.env.WARDWATCH_SCREENSHOTS
  ? path.join(REPO_ROOT, 'docs/screenshots')
  : mkdtempSync(path.join(tmpdir(), 'ww-shots-'));
const HOSTILE = '<img src=x onerror=alert(1)>';
const READY = (view: string): string => `body[data-ready="${view}"]`;

// In CI a missing browser fails here instead of skipping the suite below.
describe.runIf(IN_CI)('console prerequisites', () => {
  it('has chromium and the built console', () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} (apt-get install chromium)`).toBe(true);
    expect(CONSOLE_BUILT, 'dist/collector/console (npm run build)').toBe(true);
  });
});

const CAN_RUN = existsSync(CHROMIUM) && CONSOLE_BUILT && existsSync(BIN);
if (!CAN_RUN && !IN_CI) console.warn(`console browser test skipped: needs ${CHROMIUM}, npm run build`);

describe.skipIf(!CAN_RUN && !IN_CI)('console in chromium', () => {
  const children = tracked();
  let col: RunningCollector;
  let ctx: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  let crafted: Finding;

  beforeAll(async () => {
    const dir = tempDir('ww-console-');
    col = await startTestCollector({ dir });
    // A real agent replays the scenario captures (agent-b of the test tokens file) and announces its rules.
    const agent = children.spawn(
      process.execPath,
      [
        BIN,
        'agent',
        '--pcap',
        ...CAPTURES,
        '--collector',
        col.wsUrl,
        '--token',
        TOKENS.agentB,
        '--agent-id',
        'agent-b',
        '--spool',
        path.join(dir, 'spool'),
        '--site',
        SITE,
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const code = await new Promise<number>((resolve) => agent.on('exit', (c) => resolve(c ?? -1)));
    expect(code).toBe(0);
    // A finding whose packet-borne strings (AE title, asset name as a device could announce it) are HTML.
    crafted = makeFinding(1, 'agent-a', {
      id: 'crafted-ae-title',
      ts: formatTs(Date.now() * 1000),
      rule: 'dicom.unknown-calling-ae',
      severity: 'critical',
      title: `Unknown DICOM AE title ${HOSTILE}`,
      proto: 'dicom',
      device: { ip: '10.20.30.66', name: HOSTILE },
      evidence: { calling_ae: HOSTILE, called_ae: 'PACS' },
      class: 'alert',
      incident: 'crafted-ae-title',
    });
    // And a second, unrelated incident, so there is more than one to act on in bulk.
    const other = makeFinding(2, 'agent-a', {
      id: 'crafted-second',
      ts: formatTs(Date.now() * 1000),
      rule: 'hl7.internet',
      severity: 'high',
      title: 'HL7 to the internet',
      proto: 'hl7',
      class: 'alert',
      incident: 'crafted-second',
    });
    const t = await openTestAgent(col.wsUrl, { version: 'crafted' });
    t.send(crafted);
    t.send(other);
    await t.flush();
    await waitFor(
      async () => (await col.store.getFindings('crafted-second')).length === 1,
      'the crafted findings stored',
    );
    await t.close();

    mkdirSync(SHOTS, { recursive: true });
    ctx = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'ww-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    // alert(1) from an injected onerror would open a dialog: recorded, and the test asserts there is none.
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });

  afterAll(async () => {
    await ctx?.close();
    children.killAll();
    await col?.close();
  });

  it('serves the page with a strict CSP, nosniff and no framing', async () => {
    const res = await page.goto(col.url);
    const hdr = res?.headers() ?? {};
    expect(hdr['content-security-policy']).toContain("script-src 'self'");
    expect(hdr['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(hdr['content-security-policy']).not.toContain('unsafe-inline');
    expect(hdr['x-content-type-options']).toBe('nosniff');
    expect(hdr['x-frame-options']).toBe('DENY');
  });

  it('signs in with a token exchanged for an HttpOnly cookie the page cannot read', async () => {
    await page.locator('#signin').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'console-signin.png') });
    await page.fill('#token', TOKENS.admin);
    await page.click('#signin button[type=submit]');
    await page.locator(READY('alerts')).waitFor();
    await expect(page.locator('#who').textContent()).resolves.toContain('biomed (admin)');
    const cookies = await ctx.cookies(col.url);
    const session = cookies.find((c) => c.name === 'ww_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    // Evaluated in the page (as strings: the tests are type-checked without the DOM library).
    expect(await page.evaluate<string>('document.cookie')).not.toContain('ww_session');
    expect(await page.evaluate<number>('sessionStorage.length + localStorage.length')).toBe(0);
    const rows = page.locator('#alerts tbody tr.row');
    expect(await rows.count()).toBeGreaterThan(1);
    await page.screenshot({ path: path.join(SHOTS, 'console-alerts.png'), fullPage: true });
  });

  it('filters by severity and text, and the URL carries the view', async () => {
    await page.selectOption('#filters select[name=severity]', 'high');
    await page.fill('#filters input[name=q]', 'enumeration');
    await page.click('#apply');
    await page.waitForURL(/severity=high/);
    await page.locator(READY('alerts')).waitFor();
    await page.locator('#count', { hasText: /of 1 incidents/ }).waitFor();
    const url = new URL(page.url());
    expect(url.searchParams.get('q')).toBe('enumeration');
    // One incident (the scan): only its alerts that match count, and they are of that rule.
    const rows = page.locator('#alerts tbody tr.row');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-rules')).toBe('dicom.ae-enumeration');
    // The same URL in a fresh load (a link in a ticket) gives the same view.
    await page.goto(page.url());
    await page.locator('#count', { hasText: /of 1 incidents/ }).waitFor();
    expect(await page.inputValue('#filters input[name=q]')).toBe('enumeration');
  });

  it("opens a finding with its evidence, the rule's description, ATT&CK ids and device card", async () => {
    await page.click('#alerts tbody tr.row td a');
    await page.locator(READY('finding')).waitFor();
    expect(new URL(page.url()).searchParams.get('view')).toBe('finding');
    await expect(page.locator('#evidence pre').textContent()).resolves.toMatch(/\{/);
    const summary = (await page.locator('#summary').textContent()) ?? '';
    expect(summary).toMatch(/ATT&CK for ICST0\d{3}/);
    expect(summary).toMatch(/repeat count\d+/);
    expect(summary).toMatch(/first seen2026-/);
    // The incident opened by another rule holds the enumeration alerts, listed as its updates.
    const updates = (await page.locator('#updates').textContent()) ?? '';
    expect(updates).toContain('dicom.ae-enumeration');
    expect(updates).toContain('opened');
    // Announced by the agent in its hello: the rule's description and remediation.
    const rule = (await page.locator('#rule').textContent()) ?? '';
    expect(rule).toContain('remediation');
    expect(rule).not.toContain('No description');
    await expect(page.locator('#device-card').textContent()).resolves.toContain('address');
    await page.screenshot({ path: path.join(SHOTS, 'console-finding.png'), fullPage: true });
  });

  it('acknowledges then resolves with comments, each change in the audit trail', async () => {
    await page.fill('#comment', 'looking into it');
    await page.click('button[data-action=acknowledged]');
    await page.locator('#status', { hasText: 'acknowledged' }).waitFor();
    await page.fill('#comment', 'scanner test by biomed, ticket 4711');
    await page.click('button[data-action=resolved]');
    await page.locator('#status', { hasText: 'resolved' }).waitFor();
    const history = await page.locator('#history tbody tr').allTextContents();
    expect(history).toHaveLength(2);
    expect(history[0]).toContain('scanner test by biomed, ticket 4711');
    expect(history[1]).toContain('looking into it');
    // The API tells the same story.
    const r = await fetch(`${col.url}/api/audit`, { headers: { authorization: `Bearer ${TOKENS.read}` } });
    const audit = (await r.json()) as { audit: Array<{ by: string; to: string; comment: string }> };
    expect(audit.audit.map((a) => [a.by, a.to, a.comment])).toEqual([
      ['biomed', 'resolved', 'scanner test by biomed, ticket 4711'],
      ['biomed', 'acknowledged', 'looking into it'],
    ]);
    await page.screenshot({ path: path.join(SHOTS, 'console-resolved.png'), fullPage: true });
    // Resolved incidents leave the default view (open or acknowledged).
    await page.goto(`${col.url}/?view=alerts&q=enumeration`);
    await page.locator('#count', { hasText: '0 incidents' }).waitFor();
  });

  it('acknowledges several incidents at once', async () => {
    await page.goto(`${col.url}/?view=alerts`);
    await page.locator(READY('alerts')).waitFor();
    const before = await page.locator('#alerts tbody tr.row').count();
    expect(before).toBeGreaterThanOrEqual(2);
    await page.locator('#alerts tbody tr.row input[type=checkbox]').nth(0).check();
    await page.locator('#alerts tbody tr.row input[type=checkbox]').nth(1).check();
    await page.fill('#bulk-comment', 'triage round');
    await page.click('button[data-bulk=acknowledged]');
    await page.locator('#msg', { hasText: '2 incident(s) now acknowledged' }).waitFor();
    const statuses = await page.locator('#alerts tbody tr.row td.status-acknowledged').count();
    expect(statuses).toBe(2);
  });

  it('lists exposures in their own tab', async () => {
    await page.click('#tabs a[data-view=exposures]');
    await page.locator(READY('exposures')).waitFor();
    const text = (await page.locator('#exposures tbody').textContent()) ?? '';
    expect(text).toContain('mqtt.anonymous-accepted');
    expect(text).toContain('dicom.cleartext-credentials');
    await page.screenshot({ path: path.join(SHOTS, 'console-exposures.png'), fullPage: true });
  });

  it("reviews a device's learned baseline, approves one item and sees it approved", async () => {
    // The agent's replay uploaded what it learned at its end.
    await waitFor(async () => (await col.store.listBaselines()).length > 0, "the agent's learned baselines");
    await page.click('#tabs a[data-view=baselines]');
    await page.locator(READY('baselines')).waitFor();
    await page.locator('#baselines tbody tr.row td a').first().click();
    await page.locator(READY('baseline')).waitFor();
    const device = new URL(page.url()).searchParams.get('device') ?? '';
    const first = page.locator('#review tbody tr.review-new').first();
    const id = (await first.getAttribute('data-item')) ?? '';
    expect(id).not.toBe('');
    const label = (await first.locator('td.item').textContent()) ?? '';
    await page.fill('#comment', 'known link, ticket 4712');
    await first.locator('button[data-action=approve]').click();
    await page.locator('#msg', { hasText: `Approved` }).waitFor();
    const row = page.locator(`#review tbody tr[data-item=${JSON.stringify(id)}]`);
    await expect(row.locator('.review').textContent()).resolves.toBe('approved');
    await expect(row.locator('td.item').textContent()).resolves.toBe(label);
    await page.screenshot({ path: path.join(SHOTS, 'console-baseline.png'), fullPage: true });
    // The API tells the same: approved, by whom, audited with the comment.
    const auth = { headers: { authorization: `Bearer ${TOKENS.read}` } };
    const review = (await (
      await fetch(`${col.url}/api/baselines/${encodeURIComponent(device)}`, auth)
    ).json()) as {
      items: Array<{ id: string; status: string }>;
      approved_by: string;
    };
    expect(review.items.find((i) => i.id === id)?.status).toBe('approved');
    expect(review.approved_by).toBe('biomed');
    const audit = (await (
      await fetch(`${col.url}/api/audit?incident=${encodeURIComponent(`baseline:${device}`)}`, auth)
    ).json()) as { audit: Array<{ to: string; comment: string }> };
    expect(audit.audit).toEqual([
      expect.objectContaining({ to: 'approved', comment: `${id}: known link, ticket 4712` }),
    ]);
  });

  it('approves a baseline deviation into the baseline from its finding', async () => {
    const device = (await col.store.listBaselines())[0]?.device ?? '';
    const deviation = makeFinding(3, 'agent-a', {
      id: 'crafted-deviation',
      ts: formatTs(Date.now() * 1000),
      rule: 'baseline.new-dicom-command',
      severity: 'medium',
      title: 'New DICOM command',
      proto: 'dicom',
      device: { ip: device },
      evidence: { command: 'C-GET-RQ' },
      class: 'alert',
      incident: 'crafted-deviation',
    });
    const t = await openTestAgent(col.wsUrl, { version: 'crafted' });
    t.send(deviation);
    await t.flush();
    await waitFor(
      async () => (await col.store.getFindings('crafted-deviation')).length === 1,
      'the deviation stored',
    );
    await t.close();
    await page.goto(`${col.url}/?view=finding&id=crafted-deviation&agent=agent-a`);
    await page.locator(READY('finding')).waitFor();
    await page.click('#approve-baseline');
    await page.locator('#msg', { hasText: `Approved into the baseline of ${device}` }).waitFor();
    expect((await col.store.latestBaseline(device, 'approved'))?.document.dicom?.commands).toContain(
      'C-GET-RQ',
    );
  });

  it('renders an AE title of <img src=x onerror=alert(1)> as text', async () => {
    await page.goto(`${col.url}/?view=alerts&severity=critical`);
    await page.locator(READY('alerts')).waitFor();
    const row = page.locator('#alerts tbody tr.row', { hasText: HOSTILE });
    await expect(row.textContent()).resolves.toContain(HOSTILE);
    await row.locator('td a').click();
    await page.locator(READY('finding')).waitFor();
    await expect(page.locator('#finding-title').textContent()).resolves.toContain(HOSTILE);
    await expect(page.locator('#evidence pre').textContent()).resolves.toContain(HOSTILE);
    await expect(page.locator('#device-card').textContent()).resolves.toContain(HOSTILE);
    // No element was made of it and nothing ran.
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'console-hostile-ae-title.png'), fullPage: true });
  });

  it('renders a learned AE title of <img src=x onerror=alert(1)> in the baseline review as text', async () => {
    const t = await openTestAgent(col.wsUrl, { version: 'crafted' });
    t.sendLearned({
      version: 1,
      learned_from: '',
      learned_to: '',
      devices: [
        {
          ip: '10.20.30.66',
          macs: [],
          peers: [],
          dicom: {
            ae_titles: [HOSTILE],
            ae_pairs: [],
            sop_classes: [],
            commands: [],
            move_destinations: [],
            implementations: [],
          },
          volume: {
            hours: 1,
            active_hours: [],
            messages_per_hour: { min: 0, max: 1 },
            bytes_per_hour: { min: 0, max: 1 },
            rejects_per_hour: { min: 0, max: 0 },
            naks_per_hour: { min: 0, max: 0 },
          },
        },
      ],
    });
    await waitFor(
      async () => (await col.store.latestBaseline('10.20.30.66', 'learned')) !== null,
      'the crafted upload',
    );
    await t.close();
    await page.goto(`${col.url}/?view=baseline&device=10.20.30.66`);
    await page.locator(READY('baseline')).waitFor();
    await expect(page.locator('#review').textContent()).resolves.toContain(HOSTILE);
    expect(await page.locator('img').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('signs out: the cookie no longer opens the API', async () => {
    await page.click('#signout');
    await page.locator('#signin').waitFor();
    const status = await page.evaluate<number>("fetch('/api/incidents').then((r) => r.status)");
    expect(status).toBe(401);
  });
});
