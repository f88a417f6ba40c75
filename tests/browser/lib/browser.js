// Debian's chromium, headless, driven by playwright-core; every page is
// watched for dialogs (alert/confirm/prompt) and script errors.
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const OUTPUT = path.join(__dirname, '..', 'output');

function executable() {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (p && fs.existsSync(p)) return p;
  }
  throw new Error('chromium not found: run make deps (Debian package chromium), or set CHROMIUM');
}

async function launch() {
  // --no-sandbox: the tests run as root on CI, where Chromium's sandbox cannot start
  return chromium.launch({ executablePath: executable(), headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

// a page whose dialogs and uncaught errors are recorded in page.problems
async function watchedPage(context) {
  const page = await context.newPage();
  page.problems = [];
  page.on('dialog', async (d) => {
    page.problems.push(`dialog ${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => page.problems.push(`script error: ${e.message}`));
  return page;
}

async function screenshot(page, name, fullPage) {
  fs.mkdirSync(OUTPUT, { recursive: true });
  const file = path.join(OUTPUT, name);
  await page.screenshot({ path: file, fullPage: !!fullPage });
  return file;
}

// opens url in a new context each time (the previous one is closed), with
// the page's language set to lang when given, as the page remembers it
function opener(browser, viewport) {
  let context = null;
  return async function open(url, lang) {
    if (context) await context.close();
    context = await browser.newContext({ viewport });
    if (lang) await context.addInitScript((l) => localStorage.setItem('cm-review-lang', l), lang);
    const page = await watchedPage(context);
    await page.goto(url);
    return page;
  };
}

module.exports = { launch, watchedPage, screenshot, opener, OUTPUT };
