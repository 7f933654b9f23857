// Starts the real `sessionlab serve` binary for one test: on a port the OS picks, on a fresh
// SQLite database in its own temp dir, with the test's env overrides. Waits for the start-up
// line that names the address, keeps draining stderr (so the server never blocks on a full
// pipe), and on stop() kills the server and removes the temp dir.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The repository root (tests/browser/../..). */
export const repoRoot = path.resolve(here, '..', '..');

/** The binary under test: SESSIONLAB_BIN, else ../../target/debug/sessionlab from this file. */
export const sessionlabBin = process.env.SESSIONLAB_BIN
  ? path.resolve(process.env.SESSIONLAB_BIN)
  : path.resolve(here, '..', '..', 'target', 'debug', 'sessionlab');

const ADDRESS = /http:\/\/127\.0\.0\.1:(\d+)\//;
// tracing colours its output even into a pipe.
const ANSI = /\x1b\[[0-9;]*m/g;
const KEEP_LINES = 200;
const START_TIMEOUT_MS = 20_000;

// Servers still running when node exits (a test crashed before its stop()) are killed.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `sessionlab serve`.
 *
 * @param {{ env?: Record<string, string> }} [options] extra environment, e.g.
 *   `{ APP__LESSONS__PAGESESSION__COOKIE_AGE: '3' }`.
 * @returns {Promise<{ url: string, port: number, logs: () => string, stop: () => Promise<void> }>}
 *   `url` is the root, with its trailing slash: `http://127.0.0.1:PORT/`.
 */
export async function startServer({ env = {} } = {}) {
  if (!existsSync(sessionlabBin)) {
    throw new Error(
      `sessionlab binary not found at ${sessionlabBin}: build it (cargo build) or set SESSIONLAB_BIN`,
    );
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sessionlab-browser-'));

  // The developer's own APP__* settings and profile must not leak into the tests.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('APP__') && k !== 'APP_PROFILE'),
  );
  const child = spawn(sessionlabBin, ['serve'], {
    cwd: dir,
    env: {
      ...inherited,
      APP_CONFIG_DIR: path.join(repoRoot, 'config'),
      APP__SERVER__PORT: '0',
      APP__DATABASE__URL: `sqlite://${dir}/s.sqlite3`,
      RUST_LOG: 'info',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  running.add(child);

  const lines = [];
  const exited = new Promise((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const logs = () => lines.join('\n');

  let port;
  try {
    port = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`sessionlab did not announce its address within ${START_TIMEOUT_MS} ms:\n${logs()}`)),
        START_TIMEOUT_MS,
      );
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${sessionlabBin}: ${error.message}`));
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`sessionlab exited (code ${code}, signal ${signal}) before serving:\n${logs()}`));
      });
      // Read stderr line by line for as long as the server runs: the start-up line resolves,
      // every line is kept (the last KEEP_LINES) for failure messages.
      readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (raw) => {
        const line = raw.replace(ANSI, '');
        lines.push(line);
        if (lines.length > KEEP_LINES) lines.shift();
        const match = line.match(ADDRESS);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  let stopped;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  return { url: `http://127.0.0.1:${port}/`, port, logs, stop };
}
