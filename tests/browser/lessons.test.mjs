// A student in a real browser (Debian's chromium, driven by playwright-core): clicks through
// every lesson, and lets the browser itself enforce what the lessons teach — HttpOnly, cookie
// paths, Secure on 127.0.0.1, browser-session cookies, cookie ages and a sliding session.
//
// Each test starts its own `sessionlab serve` (fresh SQLite database, random port) and its own
// chromium on a fresh profile, so every test begins with no cookies.
//
//   node --test tests/browser/*.test.mjs        (scripts/browser-test.sh builds and runs it)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { launchBrowser } from './browser.mjs';
import { repoRoot, startServer } from './server.mjs';

const SCREENSHOTS = path.join(repoRoot, 'target', 'screenshots');

/** The lessons, their views in teaching order, and what each view's page says (its h1). */
const LESSONS = {
  basic: {
    set: 'Session setting up...........',
    get: 'Your name from the session',
    del: 'You session has been deleted successfully',
  },
  dict: {
    set: 'Session setting up...........',
    get: 'Get Session',
    del: 'You session has been deleted successfully',
    flush: 'Session flushed',
  },
  timeout: {
    set: 'Session setting up...........',
    get: 'Your name from the session',
    del: 'You session has been deleted successfully',
  },
  testcookie: {
    set: 'Set Test Cookie..........',
    check: 'Check Test Cookie',
    del: 'Your cookie has been deleted successfully',
  },
  settings: {
    set: 'Session setting up...........',
    get: 'Your name from the session',
    del: 'You session has been deleted successfully',
  },
  pagesession: {
    set: 'Session setting up...........',
    get: 'Your name from the session',
    del: 'You session has been deleted successfully',
  },
};

/** What the reading view shows right after `set/` (the first `.answer` on the page). */
const ANSWER_AFTER_SET = {
  basic: ['get', 'Sonam rathore'],
  dict: ['get', 'Sonam Ronaldo'],
  timeout: ['get', 'Sonam'],
  testcookie: ['check', 'True'],
  settings: ['get', 'Sonam'],
  pagesession: ['get', 'Sonam'],
};

const TEST_OPTIONS = { timeout: 60_000 };

/**
 * Runs `body` with a fresh server (started with `env`) and a fresh browser; on failure the
 * error carries the server's last log lines. Both are stopped whatever happens.
 */
function lab(body, { env, args } = {}) {
  return async (t) => {
    const server = await startServer({ env });
    let browser;
    try {
      browser = await launchBrowser({ args });
      await body({ t, server, browser, url: server.url, page: await browser.page() });
    } catch (error) {
      if (error instanceof Error) {
        error.message += `\n--- sessionlab stderr (last lines) ---\n${server.logs()}`;
      }
      throw error;
    } finally {
      await browser?.close();
      await server.stop();
    }
  };
}

/** A view's JSON answer, fetched from inside the page: the browser decides which cookies go. */
async function fetchJson(page, pathname) {
  const { status, body } = await page.evaluate(async (p) => {
    const response = await fetch(p, { headers: { Accept: 'application/json' } });
    return { status: response.status, body: await response.text() };
  }, pathname);
  assert.equal(status, 200, `GET ${pathname} (JSON): ${body}`);
  return JSON.parse(body);
}

/** Navigates to `pathname`, asserting a 200 that is not the error page. */
async function visit(page, url, pathname) {
  const response = await page.goto(new URL(pathname, url).href);
  assert.ok(response, `no response for ${pathname}`);
  assert.equal(response.status(), 200, `GET ${pathname}`);
  await assertNoErrorPage(page, pathname);
  return response;
}

async function assertNoErrorPage(page, where) {
  assert.equal(await page.locator('p.status').count(), 0, `${where} rendered the error page`);
  const status = await page.evaluate(
    () => performance.getEntriesByType('navigation')[0]?.responseStatus,
  );
  assert.equal(status, 200, `${where}: HTTP status of the navigation`);
}

const h1 = async (page) => (await page.locator('h1').first().innerText()).trim();
const answer = async (page) => (await page.locator('.answer').first().innerText()).trim();

/** The browser's cookies named `name` (all paths). */
async function cookiesNamed(context, name) {
  return (await context.cookies()).filter((c) => c.name === name);
}

/** The browser's only cookie named `name`: it must have kept exactly one. */
async function oneCookie(context, name) {
  const all = await context.cookies();
  const named = all.filter((c) => c.name === name);
  assert.equal(
    named.length,
    1,
    `the browser should hold one ${name} cookie; it holds ${JSON.stringify(all)}`,
  );
  return named[0];
}

/** Clicks a link that leads to another page and waits for that page to load. */
async function follow(page, link, url) {
  const href = await link.getAttribute('href');
  const target = new URL(href, url).href;
  await Promise.all([page.waitForURL(target, { waitUntil: 'load' }), link.click()]);
  return href;
}

const DJANGO_KEY = /^[a-z0-9]{32}$/;

test(
  'a student clicks through every lesson and every view; each page renders (screenshots in target/screenshots/)',
  TEST_OPTIONS,
  lab(async ({ t, url, page }) => {
    await mkdir(SCREENSHOTS, { recursive: true });
    await visit(page, url, '/');
    assert.match(await h1(page), /session framework/);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'index.png'), fullPage: true });

    const lessonHrefs = await page
      .locator('ol.lessons > li > a')
      .evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    assert.deepEqual(
      lessonHrefs,
      Object.keys(LESSONS).map((slug) => `/${slug}/`),
    );

    const shots = ['index.png'];
    for (const [slug, views] of Object.entries(LESSONS)) {
      // From the index, by its link.
      await follow(page, page.locator('a.brand'), url);
      const lessonLink = page.locator(`ol.lessons > li > a[href="/${slug}/"]`);
      const title = (await lessonLink.locator('strong').innerText()).trim();
      await follow(page, lessonLink, url);
      await assertNoErrorPage(page, `/${slug}/`);
      assert.equal(await page.title(), `${title} · sessionlab`);
      assert.ok((await h1(page)).length > 0, `/${slug}/ has a heading`);
      const settingsTable = page.locator('section.settings');
      assert.equal(await settingsTable.count(), 1, `/${slug}/ shows its settings`);
      const viewHrefs = await page
        .locator('nav.views a')
        .evaluateAll((links) => links.map((a) => a.getAttribute('href')));
      assert.deepEqual(
        viewHrefs,
        Object.keys(views).map((v) => `/${slug}/${v}/`),
      );
      await page.screenshot({ path: path.join(SCREENSHOTS, `${slug}.png`), fullPage: true });
      shots.push(`${slug}.png`);

      for (const [view, heading] of Object.entries(views)) {
        const where = `/${slug}/${view}/`;
        await follow(page, page.locator(`nav.views a[href="${where}"]`), url);
        await assertNoErrorPage(page, where);
        assert.equal(await h1(page), heading, `${where} heading`);
        assert.equal(
          await page.locator('nav.views a[aria-current="page"]').getAttribute('href'),
          where,
        );
        const [reader, expected] = ANSWER_AFTER_SET[slug];
        if (view === reader) {
          assert.equal(await answer(page), expected, `${where} right after set/`);
        }
        await page.screenshot({
          path: path.join(SCREENSHOTS, `${slug}-${view}.png`),
          fullPage: true,
        });
        shots.push(`${slug}-${view}.png`);
        // Back to the lesson page by its breadcrumb.
        await follow(page, page.locator(`p.crumbs a[href="/${slug}/"]`), url);
      }
    }
    t.diagnostic(`screenshots in ${SCREENSHOTS}: ${shots.join(' ')}`);
  }),
);

test(
  'HttpOnly: document.cookie on /basic/get/ has no sessionid, yet the server sees the session',
  TEST_OPTIONS,
  lab(async ({ url, page, browser }) => {
    await visit(page, url, '/basic/set/');
    await visit(page, url, '/basic/get/');
    assert.equal(await answer(page), 'Sonam rathore');

    // Scripts can read and write ordinary cookies here, just not the HttpOnly session cookie.
    const visible = await page.evaluate(() => {
      document.cookie = 'probe=visible; path=/basic/';
      return document.cookie;
    });
    assert.match(visible, /(^|; )probe=visible($|;)/);
    assert.doesNotMatch(visible, /sessionid/);

    const json = await fetchJson(page, '/basic/get/');
    assert.equal(json.context.name, 'Sonam');
    assert.equal(json.context.lname, 'rathore');

    const cookie = await oneCookie(browser.context, 'sessionid');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.path, '/basic/');
    assert.equal(cookie.sameSite, 'Lax');
    assert.equal(cookie.secure, false);
    assert.match(cookie.value, DJANGO_KEY);
  }),
);

test(
  "Path: the /basic/ session cookie is not sent to /dict/get/, whose session is its own",
  TEST_OPTIONS,
  lab(async ({ url, page, browser }) => {
    await visit(page, url, '/basic/set/');
    const basic = await oneCookie(browser.context, 'sessionid');
    assert.equal(basic.path, '/basic/');
    assert.deepEqual(
      await browser.context.cookies(new URL('/dict/get/', url).href),
      [],
      'the browser has no cookie to send to /dict/get/',
    );

    await visit(page, url, '/dict/get/');
    assert.equal(await answer(page), 'None None');
    const json = await fetchJson(page, '/dict/get/');
    assert.equal(json.context.name, null);
    assert.equal(json.context.lname, null);
    assert.deepEqual(json.session.keys, ['age']);

    // setdefault('age') gave /dict/ a session of its own, under its own path and key.
    const byPath = Object.fromEntries(
      (await cookiesNamed(browser.context, 'sessionid')).map((c) => [c.path, c.value]),
    );
    assert.deepEqual(Object.keys(byPath).sort(), ['/basic/', '/dict/']);
    assert.equal(byPath['/basic/'], basic.value, 'the /basic/ cookie is untouched');
    assert.notEqual(byPath['/dict/'], basic.value);

    await visit(page, url, '/basic/get/');
    assert.equal(await answer(page), 'Sonam rathore', '/basic/ still has its session');
  }),
);

test(
  'Secure: the settings lesson’s sessionname cookie is kept and sent back on http://127.0.0.1',
  TEST_OPTIONS,
  lab(async ({ url, page, browser }) => {
    await visit(page, url, '/settings/set/');
    const cookie = await oneCookie(browser.context, 'sessionname');
    assert.equal(cookie.secure, true);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.path, '/settings/');
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    assert.deepEqual(await cookiesNamed(browser.context, 'sessionid'), []);

    await visit(page, url, '/settings/get/');
    assert.equal(await answer(page), 'Sonam');
    const json = await fetchJson(page, '/settings/get/');
    assert.equal(json.context.name, 'Sonam');
    assert.equal(json.session.cookie_age, 400);
    assert.equal(json.session.expiry_age, 600);
  }),
);

test(
  'timeout: after set_expiry(600) the /timeout/ cookie expires about 600 s ahead',
  TEST_OPTIONS,
  lab(async ({ url, page, browser }) => {
    const before = Date.now() / 1000;
    await visit(page, url, '/timeout/set/');
    const after = Date.now() / 1000;
    const cookie = await oneCookie(browser.context, 'sessionid');
    assert.equal(cookie.path, '/timeout/');
    assert.ok(
      cookie.expires >= before + 600 - 2 && cookie.expires <= after + 600 + 2,
      `expires ${cookie.expires} should be ~600 s after ${before.toFixed(0)}`,
    );

    await visit(page, url, '/timeout/get/');
    assert.equal(await answer(page), 'Sonam');
    const json = await fetchJson(page, '/timeout/get/');
    assert.equal(json.session.expiry_age, 600);
    assert.equal(json.session.cookie_age, 1209600);
  }),
);

test(
  'test cookie: set → check True → del → check False; del again explains instead of failing (200)',
  TEST_OPTIONS,
  lab(async ({ url, page }) => {
    await visit(page, url, '/testcookie/set/');
    assert.equal(await h1(page), 'Set Test Cookie..........');

    await visit(page, url, '/testcookie/check/');
    assert.equal(await answer(page), 'True');

    await visit(page, url, '/testcookie/del/');
    assert.equal(await h1(page), 'Your cookie has been deleted successfully');

    await visit(page, url, '/testcookie/check/');
    assert.equal(await answer(page), 'False');

    const again = await visit(page, url, '/testcookie/del/');
    assert.equal(again.status(), 200);
    assert.equal(await h1(page), 'There was no test cookie to delete');
    assert.match(await page.locator('section.result').innerText(), /KeyError\('testcookie'\)/);
  }),
);

test(
  'expire at browser close: the session cookie (expires -1) is gone after the browser restarts',
  TEST_OPTIONS,
  lab(
    async ({ url, page, browser }) => {
      await visit(page, url, '/testcookie/set/');
      const cookie = await oneCookie(browser.context, 'sessionid');
      assert.equal(cookie.path, '/testcookie/');
      assert.equal(cookie.expires, -1, 'a browser-session cookie');
      await visit(page, url, '/testcookie/check/');
      assert.equal(await answer(page), 'True', 'the cookie works while the browser is open');

      // The control: a persistent (two-week) cookie in the same profile.
      await visit(page, url, '/basic/set/');
      const [basic] = (await cookiesNamed(browser.context, 'sessionid')).filter(
        (c) => c.path === '/basic/',
      );
      assert.ok(basic, 'the browser kept the /basic/ cookie');
      assert.ok(basic.expires > Date.now() / 1000 + 1209600 - 60, 'a persistent cookie');

      // Quit the browser and start it again on the same profile.
      const context = await browser.restart();
      const again = context.pages()[0] ?? (await context.newPage());
      const left = await cookiesNamed(context, 'sessionid');
      assert.deepEqual(
        left.map((c) => c.path),
        ['/basic/'],
        'only the persistent cookie survives the restart',
      );

      await visit(again, url, '/testcookie/check/');
      assert.equal(await answer(again), 'False');
      await visit(again, url, '/basic/get/');
      assert.equal(await answer(again), 'Sonam rathore', 'the profile itself kept its cookies');
    },
    { env: { APP__LESSONS__TESTCOOKIE__EXPIRE_AT_BROWSER_CLOSE: 'true' } },
  ),
);

test(
  'sliding session: a 3 s cookie age survives visits every 2 s and expires 4 s after the last',
  TEST_OPTIONS,
  lab(
    async ({ t, url, page, browser }) => {
      await visit(page, url, '/pagesession/set/');
      const cookie = await oneCookie(browser.context, 'sessionid');
      assert.equal(cookie.path, '/pagesession/');
      const ahead = cookie.expires - Date.now() / 1000;
      assert.ok(ahead > 1 && ahead <= 4, `the cookie lives ~3 s (${ahead.toFixed(1)} s left)`);

      for (let visitNo = 1; visitNo <= 3; visitNo++) {
        await sleep(2_000);
        await visit(page, url, '/pagesession/get/');
        assert.equal(await h1(page), 'Your name from the session', `visit ${visitNo}`);
        assert.equal(await answer(page), 'Sonam', `visit ${visitNo}: the session slid`);
      }

      await sleep(4_000);
      const left = await cookiesNamed(browser.context, 'sessionid');
      t.diagnostic(
        left.length === 0
          ? 'the browser dropped the expired cookie'
          : 'the browser still sent the cookie; the server refused it',
      );
      await visit(page, url, '/pagesession/get/');
      assert.equal(await h1(page), 'Your session has Expired...');
      const json = await fetchJson(page, '/pagesession/get/');
      assert.equal(json.context.expired, true);
      assert.deepEqual(json.session.keys, []);
    },
    { env: { APP__LESSONS__PAGESESSION__COOKIE_AGE: '3' } },
  ),
);

test(
  'Back to a page the browser shows again from its HTTP cache: the inspector does not count its old seconds down again',
  TEST_OPTIONS,
  lab(
    async ({ url, page }) => {
      await visit(page, url, '/pagesession/set/');
      assert.equal(await page.locator('.countdown').innerText(), '3');
      await visit(page, url, '/pagesession/');

      // The session expires while the student reads on; then Back.
      await sleep(4_000);
      await page.goBack();
      const navigation = await page.evaluate(() => {
        const entry = performance.getEntriesByType('navigation')[0];
        return { type: entry.type, transferSize: entry.transferSize };
      });
      assert.deepEqual(
        navigation,
        { type: 'back_forward', transferSize: 0 },
        'the old answer came from the HTTP cache',
      );
      await sleep(1_500);

      const record = await page.locator('section.inspector').innerText();
      assert.match(
        record,
        /3 seconds left\. That count is from when this page was first loaded: your browser has shown it again from its cache/,
      );
    },
    {
      env: { APP__LESSONS__PAGESESSION__COOKIE_AGE: '3' },
      // Without the back/forward cache, Back loads the old answer from the HTTP cache and runs
      // its scripts again (as when the cache keeps no more pages, or for browsers without it).
      args: ['--disable-features=BackForwardCache'],
    },
  ),
);

test(
  "A lesson text's commands name the address the page was opened at",
  TEST_OPTIONS,
  lab(async ({ server, url, page }) => {
    // The server listens on 127.0.0.1 and writes its commands with that address; a student
    // who opened the page by another name (here `localhost`, in a classroom the server's
    // address on the network) reads them with that one.
    const byName = `http://localhost:${server.port}/`;
    await visit(page, byName, '/basic/');
    const opened = await page.locator('.lesson-text').innerText();
    assert.ok(opened.includes(`curl -s -D - -o /dev/null -c jar -b jar ${byName}basic/set/`), opened);
    assert.ok(!opened.includes('127.0.0.1:'), opened);

    await visit(page, url, '/basic/');
    const listening = await page.locator('.lesson-text').innerText();
    assert.ok(listening.includes(`-c jar -b jar ${url}basic/set/`), listening);
  }),
);
