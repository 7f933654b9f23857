// Debian's chromium, driven by playwright-core (no browser download), with exactly the
// command-line switches below (and those a test adds) and a fresh profile (user data dir) per
// browser, so every test starts with no cookies. Playwright's own default switches are not added.

import { chromium } from 'playwright-core';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Starts chromium on the profile `userDataDir` (a new temp dir when omitted), with the extra
 * command-line switches `args` (such as `--disable-features=BackForwardCache`).
 *
 * `restart()` closes the browser gracefully (as a student quitting it: cookies are written to
 * the profile, session cookies are not) and starts it again on the same profile.
 * `close()` closes it and removes the profile if this helper created it.
 */
export async function launchBrowser({
  userDataDir,
  viewport = { width: 1280, height: 800 },
  args = [],
} = {}) {
  const ownDir = !userDataDir;
  const dir = userDataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'sessionlab-chromium-')));
  const open = () =>
    chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: true,
      // Exactly our switches; playwright still needs its pipe, the profile and a first page.
      ignoreDefaultArgs: true,
      args: [
        ...CHROMIUM_ARGS,
        ...args,
        `--user-data-dir=${dir}`,
        '--remote-debugging-pipe',
        'about:blank',
      ],
      viewport,
      timeout: 30_000,
    });
  let context = await open();
  const prepare = (ctx) => {
    ctx.setDefaultTimeout(10_000);
    ctx.setDefaultNavigationTimeout(10_000);
    return ctx;
  };
  prepare(context);
  const firstPage = async () => context.pages()[0] ?? (await context.newPage());

  return {
    get context() {
      return context;
    },
    page: firstPage,
    async restart() {
      await context.close();
      context = prepare(await open());
      return context;
    },
    async close() {
      await context.close().catch(() => {});
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
