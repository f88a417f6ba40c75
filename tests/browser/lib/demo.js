// What the tests on the demo share: where it runs (tests/browser/run sets
// CM_BASE, CM_USER, CM_PASSWORD, CM_DEMO_RUN), its nginx's pid (the rules
// change without a reload), a reader posting through the article's form,
// and waiting for something to become true.
'use strict';

const { before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { launch, watchedPage } = require('./browser');

const BASE = process.env.CM_BASE;
const RUN_DIR = process.env.CM_DEMO_RUN;
const LOGIN = { username: process.env.CM_USER || '', password: process.env.CM_PASSWORD || '' };
const REVIEW = `${BASE}/moderation/`;
// the workers look for a new published version this often, plus slack
const SWITCH_MS = 2500;

const run = `${process.pid}${Date.now() % 100000}`;
const tok = (what) => `${what}${run}`;

function nginxPid() {
  return fs.readFileSync(path.join(RUN_DIR, 'nginx.pid'), 'utf8').trim();
}

// what nginx did with a comment posted through the article's form:
// "rejected", "queued" or "posted" (accepted, on to the backend); the
// e-mail is made from the name, or new each time with fresh
async function postComment(reader, name, text, fresh) {
  const p = await watchedPage(reader);
  await p.goto(`${BASE}/`);
  const who = `${name.toLowerCase().replace(/\W/g, '')}${run}${fresh ? Math.random().toString(36).slice(2, 7) : ''}`;
  await p.fill('form.comment-form input[name="name"]', name);
  await p.fill('form.comment-form input[name="email"]', `${who}@example.com`);
  await p.fill('form.comment-form textarea[name="comment"]', text);
  await Promise.all([p.waitForURL(/[?&](cm|posted)=/), p.click('form.comment-form button[type="submit"]')]);
  const url = new URL(p.url());
  assert.deepEqual(p.problems, []);
  await p.close();
  return url.searchParams.get('cm') || (url.searchParams.get('posted') ? 'posted' : '?');
}

// the browser, a reader (no login) and an editor (the demo's login)
async function openDemo() {
  const browser = await launch();
  const reader = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const editor = await browser.newContext({ viewport: { width: 1360, height: 1000 }, httpCredentials: LOGIN });
  reader.setDefaultTimeout(10000);
  editor.setDefaultTimeout(15000);
  return { browser, reader, editor };
}

// a test file's demo: its browser, reader and editor contexts opened before
// the tests and closed after them; postComment(name, text) as its reader
function useDemo(fresh) {
  assert.ok(BASE, 'CM_BASE is not set: run tests/browser/run');
  const demo = {};
  before(async () => { Object.assign(demo, await openDemo()); });
  after(async () => { if (demo.browser) await demo.browser.close(); });
  demo.postComment = (name, text) => postComment(demo.reader, name, text, fresh);
  return demo;
}

async function until(what, fn, ms) {
  const end = Date.now() + (ms || 10000);
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

module.exports = { BASE, RUN_DIR, LOGIN, REVIEW, SWITCH_MS, tok, nginxPid, postComment, until, openDemo, useDemo };
