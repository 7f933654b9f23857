// The playground in a real browser: a student fills in the forms with the keyboard; hostile
// keys and values stay text (no script runs); a form posted from another site is refused by
// the CSRF check; and the page fits a phone-sized screen.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';

import { launchBrowser } from './browser.mjs';
import { repoRoot, startServer } from './server.mjs';

const SCREENSHOTS = path.join(repoRoot, 'target', 'screenshots');
const TEST_OPTIONS = { timeout: 60_000 };

async function withLab(body, { viewport } = {}) {
  const server = await startServer();
  let browser;
  try {
    browser = await launchBrowser({ viewport });
    await body({ server, browser, page: await browser.page() });
  } catch (error) {
    if (error instanceof Error) error.message += `\n--- sessionlab stderr ---\n${server.logs()}`;
    throw error;
  } finally {
    await browser?.close();
    await server.stop();
  }
}

/** Fills a form field by its label and submits with the keyboard (Enter on the button). */
async function submitOperation(page, heading, fields) {
  const form = page.locator('form', { has: page.locator(`h3#op-${heading}`) });
  for (const [label, value] of Object.entries(fields)) {
    await form.getByLabel(label, { exact: true }).fill(value);
  }
  await Promise.all([page.waitForNavigation(), form.locator('button[type=submit]').press('Enter')]);
}

test('a student sets, reads and flushes values through the forms', TEST_OPTIONS, () =>
  withLab(async ({ server, browser, page }) => {
    await page.goto(new URL('/playground/', server.url).href);
    await submitOperation(page, 'set', { Key: 'name', 'Value (JSON)': '"Sonam"' });
    assert.match(await page.locator('.result .message').innerText(), /name/);
    await submitOperation(page, 'setdefault', { Key: 'age', 'Value (JSON)': '"26"' });
    const state = await page.locator('section.session-state').innerText();
    assert.ok(state.indexOf('name') < state.indexOf('age'), `insertion order: ${state}`);
    const session = (await browser.context.cookies()).find((c) => c.name === 'sessionid');
    assert.equal(session?.path, '/playground/');
    assert.equal(session?.httpOnly, true);
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, 'playground.png'), fullPage: true });

    await submitOperation(page, 'flush', {});
    const after = (await browser.context.cookies()).filter((c) => c.name === 'sessionid');
    assert.equal(after.length, 0, 'flush deleted the cookie in the browser');
  }),
);

test('hostile keys and values stay text: no script runs', TEST_OPTIONS, () =>
  withLab(async ({ server, page }) => {
    const dialogs = [];
    page.on('dialog', async (d) => {
      dialogs.push(d.message());
      await d.dismiss();
    });
    await page.goto(new URL('/playground/', server.url).href);
    await page.evaluate(() => {
      window.__pwned = false;
    });
    const hostileKey = '<script>alert(2)</script>';
    const hostileValue = '<img src=x onerror="window.__pwned=true;alert(1)">';
    await submitOperation(page, 'set', { Key: hostileKey, 'Value (JSON)': JSON.stringify(hostileValue) });
    await page.goto(new URL('/playground/', server.url).href);
    assert.deepEqual(dialogs, [], 'no alert fired');
    assert.equal(await page.evaluate(() => window.__pwned === true), false);
    assert.equal(await page.locator('section.session-state img').count(), 0, 'no element was injected');
    const shown = await page.locator('section.session-state').innerText();
    assert.ok(shown.includes(hostileKey), `the key is shown as text: ${shown}`);
    assert.ok(shown.includes('onerror'), 'the value is shown as text');
  }),
);

test('a form posted from another site is refused by the CSRF check', TEST_OPTIONS, async () => {
  // A "malicious" site on another origin that auto-submits a form to the playground.
  const evil = http.createServer((req, res) => {
    const target = req.url.slice(1);
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(`<form id="f" method="post" action="${target}/playground/set/">
      <input name="key" value="pwned"><input name="value" value="true"></form>
      <script>document.getElementById('f').submit()</script>`);
  });
  await new Promise((resolve) => evil.listen(0, '127.0.0.1', resolve));
  try {
    await withLab(async ({ server, browser, page }) => {
      await page.goto(new URL('/playground/', server.url).href); // the student has a csrftoken
      const evilUrl = `http://localhost:${evil.address().port}/${server.url.replace(/\/$/, '')}`;
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/playground/set/')),
        page.goto(evilUrl),
      ]);
      assert.equal(response.status(), 403);
      assert.match(await page.locator('body').innerText(), /CSRF verification failed/);
      await page.goto(new URL('/playground/', server.url).href);
      assert.ok(!(await page.locator('section.session-state').innerText()).includes('pwned'));
      const cookies = await browser.context.cookies();
      assert.ok(cookies.some((c) => c.name === 'csrftoken'));
    });
  } finally {
    evil.close();
  }
});

test('the playground fits a phone-sized screen', TEST_OPTIONS, () =>
  withLab(
    async ({ server, page }) => {
      await page.goto(new URL('/playground/', server.url).href);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
      for (const lesson of ['basic', 'settings', 'dict']) {
        await page.goto(new URL(`/${lesson}/`, server.url).href);
        const o = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(o <= 0, `/${lesson}/ scrolls sideways by ${o}px`);
      }
      await mkdir(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'playground-phone.png'), fullPage: true });
    },
    { viewport: { width: 390, height: 844 } },
  ),
);
