/**
 * The web dashboard in a real (headless) browser against the service and simulated devices: the
 * grid, live state changes without a reload, a dry-run preview then apply, and a job's progress.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TalonSim } from '../../drivers/osprey-talon/simulator.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { apiKeyOf, hasRoute } from '../helpers/cli.js';
import { addFleet, type FleetSetup } from '../helpers/fleet.js';
import { startService, type TestService } from '../helpers/service.js';

const PROFILE = {
  name: 'studio-720p',
  config: {
    target: { protocol: 'rtmp', url: 'rtmp://127.0.0.1:1935/live', streamKey: 'WEB-KEY-1' },
    video: { codec: 'h264', width: 1280, height: 720, fps: 30, bitrateKbps: 2200 },
  },
};

describe('dashboard', () => {
  let svc: TestService;
  let f: FleetSetup;
  let browser: Browser;
  let page: Page;
  const tile = (name: string) => page.locator(`[data-device="${name}"]`);

  beforeAll(async () => {
    svc = await startService({ env: { POLL_INTERVAL_MS: '1000' } });
    f = await addFleet(
      svc,
      { 'osprey-talon': 4, 'teradek-vidiu': 2 },
      { labels: (i) => ({ site: i % 2 ? 'hamburg' : 'berlin' }) },
    );
    expect((await svc.request('POST', '/v1/profiles', PROFILE)).status).toBe(201);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const key = apiKeyOf(svc);
    if (key)
      await page.addInitScript(
        (k) => (globalThis as any).localStorage.setItem('encoder-fleet.apiKey', k),
        key,
      );
    page.setDefaultTimeout(15_000);
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.close();
    await f?.fleet.close();
  });

  it('shows every device in the grid with its state', async () => {
    await page.goto(svc.url);
    await expect.poll(() => page.locator('[data-device]').count()).toBe(6);
    await page.locator('.live.on').waitFor();
    // Polling has reached the devices: every tile shows a known state.
    await expect
      .poll(() => page.locator('[data-device] [data-state="unknown"]').count(), { timeout: 10_000 })
      .toBe(0);
    expect(await tile('osprey-talon-00001').innerText()).toMatch(/osprey-talon-00001\s+idle/);
    await screenshot(page, '1-grid');
  });

  it('shows a state change on a simulator without a reload', async () => {
    await page.evaluate(() => {
      (globalThis as any).__sameDocument = true;
    });
    const sim = f.fleet.byId('osprey-talon-00003')!;
    sim.reboot(8000);
    await tile('osprey-talon-00003').locator('[data-state="unreachable"]').waitFor({ timeout: 10_000 });
    expect(await page.evaluate(() => (globalThis as any).__sameDocument)).toBe(true);
    await screenshot(page, '2-live-state');
  });

  it('previews an apply as a dry run, then applies it after confirmation', async () => {
    await page.selectOption('select[name=vendor]', 'osprey-talon');
    await expect.poll(() => page.locator('[data-device]').count()).toBe(4);
    const writes = [...f.simOf.values()].map((s) => s.count('config'));
    await page.getByRole('button', { name: 'Apply profile…' }).click();
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    const preview = page.getByTestId('dry-run-preview');
    await preview.waitFor();
    expect(await preview.innerText()).toMatch(/video\.bitrateKbps/);
    await expect.poll(() => preview.locator('td.task-succeeded').count()).toBeGreaterThanOrEqual(3);
    expect([...f.simOf.values()].map((s) => s.count('config'))).toEqual(writes); // nothing written
    await screenshot(page, '3-dry-run-preview');

    await page.getByRole('button', { name: /^Apply studio-720p to 4 device/ }).click();
    await page.waitForURL(/#\/jobs\//);
    await expect
      .poll(() => page.getByTestId('job-state').innerText(), { timeout: 20_000 })
      .toMatch(/succeeded|partially_failed/);
    expect(await page.getByTestId('progress-pct').innerText()).toBe('100%');
    const applied = [...f.simOf.entries()].filter(
      ([, s]) => s.vendor === 'osprey-talon' && s.id !== 'osprey-talon-00003',
    );
    expect(applied.every(([id]) => f.simOf.get(id)!.count('config') > writes[f.ids.indexOf(id)]!)).toBe(true);
    await screenshot(page, '4-apply-job');
  });

  it("follows a start job's progress live to 100%", async () => {
    await page.goto(`${svc.url}/#/`);
    await page.fill('input[name=selector]', 'site=berlin');
    await page.selectOption('select[name=vendor]', 'osprey-talon');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('[data-device]').count()).toBe(2);
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByRole('button', { name: 'Start 2 device(s)' }).click();
    await page.waitForURL(/#\/jobs\//);
    await expect.poll(() => page.getByTestId('progress-pct').innerText(), { timeout: 20_000 }).toBe('100%');
    await expect.poll(() => page.getByTestId('job-state').innerText()).toBe('succeeded');
    await screenshot(page, '5-start-job');

    await page.goto(`${svc.url}/#/`);
    await tile('osprey-talon-00001').locator('[data-state="streaming"]').waitFor({ timeout: 10_000 });
    await screenshot(page, '6-grid-streaming');
  });

  it('shows a device with its bitrate history, and the calendar (or why there is none)', async () => {
    const id = [...f.simOf.entries()].find(([, s]) => s.id === 'osprey-talon-00001')![0];
    await page.goto(`${svc.url}/#/devices/${id}`);
    await page.locator('svg.sparkline').waitFor({ timeout: 15_000 });
    expect(await page.locator('pre.config').innerText()).toMatch(/"bitrateKbps": 2200/);
    const sim = f.simOf.get(id) as TalonSim;
    expect(await page.locator('[data-unit]').textContent()).toBe(
      `Talon 4K-SC · firmware 2.4.1 · serial ${sim.serial}`,
    );
    await screenshot(page, '7-device');
    await page.goto(`${svc.url}/#/schedules`);
    // The schedules API is built on its own branch: without it the page says why there is no calendar.
    await page.getByTestId(hasRoute('/v1/calendar') ? 'calendar' : 'calendar-missing').waitFor();
    await screenshot(page, '8-schedules');
  });
});
