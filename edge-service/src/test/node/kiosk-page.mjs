// Drives the kiosk page in Debian's headless Chromium like a touch-screen user:
//   node kiosk-page.mjs <baseUrl> <screenshot.png>
// Types a story start, taps Send, watches the answer stream in (at least two different non-empty
// lengths before it finishes, over a throttled download), then checks the route and the time to
// first token the page measured.
// Prints one JSON summary line last on stdout; exits 1 on any failure.
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.TANDEM_CHROMIUM || '/usr/bin/chromium';
const baseUrl = (process.argv[2] || '').replace(/\/+$/, '');
const screenshot = process.argv[3];
if (!/^https?:\/\//.test(baseUrl) || !screenshot) {
  console.error('usage: node kiosk-page.mjs <baseUrl> <screenshot.png>');
  process.exit(2);
}

const PROMPT = 'Once upon a time there was a little cat';
const summary = { ok: false, baseUrl, screenshot, prompt: PROMPT, failures: [] };
const consoleErrors = [];

function fail(message) {
  throw new Error(message);
}

let browser;
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
  summary.browser = browser.version();
  const context = await browser.newContext({ viewport: { width: 800, height: 480 }, hasTouch: true, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // The tiny model writes a 256-token story in well under a second, and on a busy machine Chromium
  // can then receive the whole event stream in one read, which would prove nothing about the page.
  // A throttled download (about 1.5 s for the story's ~60 KB of events) makes the page's incremental
  // rendering observable every time; the edge's own streaming is checked by the API tests.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: 40 * 1024, uploadThroughput: -1,
  });

  const response = await page.goto(baseUrl + '/', { waitUntil: 'load' });
  if (!response || response.status() !== 200) fail(`GET / answered ${response && response.status()}`);
  summary.title = await page.title();
  await page.locator('#model-status[data-state="ready"]').waitFor().catch(async () =>
    fail(`the page never reported the model ready: ${await page.locator('#model-status').textContent()}`));
  summary.status = await page.locator('#model-status').textContent();

  // Record every distinct length of the answer's text as the DOM changes, before sending.
  await page.evaluate(() => {
    window.__lengths = [];
    const log = document.getElementById('conversation');
    const observer = new MutationObserver(() => {
      const answers = log.querySelectorAll('.msg.assistant .text');
      const answer = answers[answers.length - 1];
      const length = answer ? answer.textContent.length : 0;
      const lengths = window.__lengths;
      if (length > 0 && lengths[lengths.length - 1] !== length) lengths.push(length);
    });
    observer.observe(log, { subtree: true, childList: true, characterData: true });
  });

  await page.locator('#prompt').fill(PROMPT);
  await page.locator('#send').tap();
  const answer = page.locator('.msg.assistant').last();
  await answer.locator('.text').filter({ hasText: /\S/ }).waitFor({ timeout: 20_000 }).catch(() =>
    fail('no streamed text appeared within 20 s'));
  await page.waitForFunction(() => {
    const a = [...document.querySelectorAll('.msg.assistant')].pop();
    return a && ['done', 'error', 'stopped'].includes(a.dataset.state);
  }, null, { timeout: 30_000 }).catch(() => fail('the answer did not finish within 30 s'));

  const state = await answer.getAttribute('data-state');
  const text = await answer.locator('.text').textContent();
  const lengths = await page.evaluate(() => window.__lengths);
  summary.state = state;
  summary.answer = text;
  summary.lengths = lengths.length > 12 ? [...lengths.slice(0, 6), '…', ...lengths.slice(-3)] : lengths;
  summary.distinctLengths = new Set(lengths).size;
  if (state !== 'done') {
    const alert = await page.locator('#alert-text').textContent();
    fail(`the answer ended in state "${state}": ${text} ${alert}`);
  }
  if (!text || !text.trim()) fail('the finished answer is empty');
  if (summary.distinctLengths < 2) {
    fail(`the answer did not grow while streaming: text lengths seen ${JSON.stringify(lengths)} (needs two different non-empty lengths)`);
  }
  if (lengths[lengths.length - 1] !== text.length) {
    fail(`the last length observed (${lengths[lengths.length - 1]}) is not the final answer's (${text.length})`);
  }

  const route = answer.locator('.meta .tag.route');
  summary.route = await route.getAttribute('data-route').catch(() => null);
  if (summary.route !== 'local') fail(`the route shown is ${JSON.stringify(summary.route)}, expected "local"`);
  summary.routeText = await route.textContent();
  const ttft = answer.locator('.meta .tag.ttft');
  summary.ttftText = await ttft.textContent().catch(() => null);
  if (!/first word after \d+ ms \(kiosk \d+ ms\)/.test(summary.ttftText || '')) {
    fail(`no time to first token in ms is shown: ${JSON.stringify(summary.ttftText)}`);
  }
  summary.reason = await answer.locator('.meta .reason').textContent().catch(() => null);
  if (!summary.reason) fail('the route reason from the final chunk is not shown');

  // The user's turn is in the log, the composer is ready for the next one.
  const userText = await page.locator('.msg.user .text').last().textContent();
  if (userText !== PROMPT) fail(`the user's message shows ${JSON.stringify(userText)}`);
  if (!(await page.locator('#send').isVisible()) || (await page.locator('#stop').isVisible())) {
    fail('after the answer, Send is not back or Stop is still shown');
  }
  if (consoleErrors.length) fail(`the page logged errors: ${consoleErrors.join(' | ')}`);
  // the story model continues the user's words: the answer shows the passage from them on
  if (!text.startsWith(PROMPT)) fail(`the answer does not read on from the user's words: ${JSON.stringify(text)}`);
  if (!/^Answered on this kiosk$/.test(summary.routeText || '')) fail(`the route is not in plain words: ${summary.routeText}`);

  // A fresh page with shorter answers for a twelve-turn conversation: the kiosk must keep going,
  // trimming its history to fit, without an error.
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.goto(baseUrl + '/?max_tokens=64', { waitUntil: 'load' });
  await page.locator('#model-status[data-state="ready"]').waitFor({ timeout: 10_000 });
  const turns = ['Once upon a time', 'The dog was happy', 'Then it rained', 'They went inside', 'Mom made soup', 'The cat slept',
    'The sun came out', 'They played in the park', 'A bird sang', 'Lily found a ball', 'They went home', 'The end came'];
  for (const [i, turn] of turns.entries()) {
    await page.locator('#prompt').fill(turn);
    await page.locator('#send').tap();
    await page.waitForFunction((n) => {
      const a = [...document.querySelectorAll('.msg.assistant')];
      return a.length === n && ['done', 'error', 'stopped'].includes(a[n - 1].dataset.state);
    }, i + 1, { timeout: 30_000 }).catch(() => fail(`turn ${i + 1} did not finish within 30 s`));
    const last = page.locator('.msg.assistant').last();
    const turnState = await last.getAttribute('data-state');
    if (turnState !== 'done') fail(`turn ${i + 1} ended "${turnState}": ${await page.locator('#alert-text').textContent()}`);
  }
  summary.turns = await page.locator('.msg.assistant').count();
  if (summary.turns !== 12) fail(`the conversation has ${summary.turns} answers, expected 12`);
  if (await page.locator('#alert').isVisible()) fail(`an alert is shown: ${await page.locator('#alert-text').textContent()}`);
  summary.trimNotices = await page.locator('.notice[data-kind="trimmed"]').count();
  if (summary.trimNotices < 1) fail('the kiosk never said it left older messages out');
  summary.trimNotice = await page.locator('.notice[data-kind="trimmed"]').first().textContent();
  if (consoleErrors.length) fail(`the page logged errors: ${consoleErrors.join(' | ')}`);

  await page.screenshot({ path: screenshot });
  summary.ok = true;
} catch (e) {
  summary.failures.push(e.message);
} finally {
  if (browser) await browser.close().catch(() => {});
}

console.log(JSON.stringify(summary));
if (!summary.ok) {
  console.error(`kiosk-page: ${summary.failures.join('; ')}`);
  process.exit(1);
}
