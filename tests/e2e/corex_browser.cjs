// Drives coreX's page in headless Chromium (puppeteer-core from web/node_modules), as a user
// would, for tests/e2e/test_corex.py. Prints one JSON object with what it saw.
//   node corex_browser.cjs BASE_URL TOKEN ARTIFACTS_DIR
// BASE_URL: http://ADDR:PORT (coreX). Screenshots go to ARTIFACTS_DIR.
"use strict";
const path = require("path");
const puppeteer = require(path.join(__dirname, "..", "..", "web", "node_modules", "puppeteer-core"));

const [base, token, artifacts] = process.argv.slice(2);
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(page, fn, arg, what, timeout = 10000) {
  try {
    return await page.waitForFunction(fn, { timeout, polling: 50 }, arg);
  } catch (e) {
    throw new Error(`timed out waiting for ${what}`);
  }
}

// The terminal's lines as text (the active buffer: what is on screen plus scrollback).
const lines = (page) =>
  page.evaluate(() => {
    const b = window.corex.term.buffer.active;
    const out = [];
    for (let i = 0; i < b.length; i++) out.push(b.getLine(i).translateToString(true));
    return out;
  });

async function typeAndWait(page, command, pattern, what) {
  await page.keyboard.type(command + "\n", { delay: 5 });
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    const found = (await lines(page)).map((l) => l.trim()).find((l) => new RegExp(pattern).test(l));
    if (found) return found;
    await sleep(50);
  }
  throw new Error(`no ${what} in the terminal: ${JSON.stringify(await lines(page))}`);
}

async function termBox(page) {
  return page.evaluate(() => {
    const r = document.getElementById("terminal").getBoundingClientRect();
    return { x: r.x, y: r.y, width: r.width, height: r.height };
  });
}

(async () => {
  const out = { screenshots: {} };
  const browser = await puppeteer.launch({
    executablePath: browserPath,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 800 });
    // First load with the token: it becomes a cookie and the page comes back without it.
    await page.goto(`${base}/?token=${encodeURIComponent(token)}`, { waitUntil: "load" });
    out.index_url = page.url();
    await waitFor(page, () => document.querySelector("#processes td"), null, "the process list");

    // Start sh from the form: the browser goes to its terminal.
    await page.type("#command", process.env.COREX_SHELL || "sh");
    await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.keyboard.press("Enter")]);
    out.terminal_url = page.url();
    await waitFor(page, () => window.corex && window.corex.state.connected, null, "the WebSocket");
    await page.focus(".xterm-helper-textarea");
    await sleep(200);
    out.echo = await typeAndWait(page, "echo hi-$RANDOM", "^hi-[0-9]+$", "echoed line");

    const size1 = await typeAndWait(page, "stty size", "^[0-9]+ [0-9]+$", "stty size");
    out.stty_before = size1;
    out.term_before = await page.evaluate(() => [window.corex.term.rows, window.corex.term.cols]);
    await page.setViewport({ width: 760, height: 520 });
    await waitFor(page, (cols) => window.corex.term.cols < cols, out.term_before[1], "the terminal to fit the smaller window");
    await sleep(300);
    await page.keyboard.type("clear\n");
    await sleep(200);
    out.stty_after = await typeAndWait(page, "stty size", "^[0-9]+ [0-9]+$", "stty size after the resize");
    out.term_after = await page.evaluate(() => [window.corex.term.rows, window.corex.term.cols]);
    await page.keyboard.type("echo screenshot-marker\n");
    await sleep(400);
    await page.setViewport({ width: 1200, height: 800 });
    await sleep(400);
    out.terminal_box = await termBox(page);
    out.screenshots.terminal = path.join(artifacts, "corex-terminal.png");
    await page.screenshot({ path: out.screenshots.terminal });

    // The index beside it; kill -9 the shell there: both pages show it exited.
    const index = await browser.newPage();
    await index.setViewport({ width: 1200, height: 800 });
    await index.goto(`${base}/`, { waitUntil: "load" });
    const id = out.terminal_url.split("/").pop();
    await waitFor(index, (id) => document.querySelector(`tr[data-id="${id}"][data-state="running"]`), id, "the running shell in the list");
    out.screenshots.index = path.join(artifacts, "corex-index.png");
    await index.screenshot({ path: out.screenshots.index });
    await index.click(`tr[data-id="${id}"] button[data-action="kill"]`);
    await waitFor(index, (id) => {
      const row = document.querySelector(`tr[data-id="${id}"]`);
      return row && /exited/.test(row.textContent) ? row.textContent : null;
    }, id, "the shell shown exited on the index");
    out.index_row_after_kill = await index.evaluate((id) => document.querySelector(`tr[data-id="${id}"] .state`).textContent, id);
    out.terminal_after_kill = (await waitFor(page, () => window.corex.state.exited, null, "the terminal page to show the exit")).toString();
    out.terminal_after_kill = await page.evaluate(() => window.corex.state.exited);
    out.status_after_kill = await page.evaluate(() => document.getElementById("status").textContent);
    out.screenshots.index_after_kill = path.join(artifacts, "corex-index-exited.png");
    await index.screenshot({ path: out.screenshots.index_after_kill });
    out.ok = true;
  } catch (e) {
    out.ok = false;
    out.error = String(e && e.stack || e);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
})();
