// The review page on the real thing: the demo's nginx with the module, its
// Redis and comment backend (tests/browser/run starts them and passes
// CM_BASE, CM_USER, CM_PASSWORD).  A reader posts through the article's
// form, a moderator decides with the keyboard, the article shows the result.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { launch, watchedPage, screenshot } = require('./lib/browser');
const { until } = require('./lib/demo');

const BASE = process.env.CM_BASE;
// demo/backend.py, behind nginx: GET /api/comments lists what it stored
const BACKEND = process.env.CM_BACKEND;
const LOGIN = { username: process.env.CM_USER || '', password: process.env.CM_PASSWORD || '' };
const REVIEW = `${BASE}/moderation/`;
const ADMIN_SRC = path.join(__dirname, '..', '..', 'ngx_module', 'admin');
// the page waits this long before it sends a decision (review.js UNDO_MS), plus slack
const SENT_MS = 4000 + 2500;

const run = `${process.pid}${Date.now() % 100000}`;
const tok = (what) => `${what}${run}`;
// a first-time author's link is held for a moderator (rules/reputation.rules)
const HELD = {
  approve: { name: 'Rina Approve', email: `rina${run}@example.com`, text: `Setuju, baca juga https://example.org/opini ${tok('approveme')}` },
  reject: { name: 'Joko Reject', email: `joko${run}@example.com`, text: `Info lengkap di https://example.net/promo ${tok('rejectme')}` },
  undo: { name: 'Tono Undo', email: `tono${run}@example.com`, text: `Menurut saya www.example.co.id/berita ${tok('undome')}` },
  trust: { name: 'Tari Trust', email: `tari${run}@example.com`, text: `Sumber resmi: https://example.go.id/data ${tok('trustme')}` },
  block: { name: 'Bima Block', email: `bima${run}@example.com`, text: `Mampir ke https://example.info/klik ${tok('blockme')}` },
  hostile: {
    name: '<img src=x onerror=alert(2)>Mallory', email: `mallory${run}@example.com`,
    text: `<script>alert(1)</script> <img src=x onerror=alert(1)> <a href="javascript:alert(1)">klik</a> `
      + `javascript:alert(1) https://example.org/x ${tok('hostile')}`,
  },
};

assert.ok(BASE, 'CM_BASE is not set: run tests/browser/run');

let browser, reader, moderator, review;
// the bodies the reader's browser posted, by token
const posted = {};

before(async () => {
  browser = await launch();
  reader = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  moderator = await browser.newContext({ viewport: { width: 1360, height: 900 }, httpCredentials: LOGIN });
  reader.setDefaultTimeout(10000);
  moderator.setDefaultTimeout(10000);
});

after(async () => {
  if (browser) await browser.close();
});

async function articleText() {
  const res = await reader.request.get(`${BASE}/`);
  return res.text();
}

// the state of the comment whose text holds token, from the admin API
async function stateOf(token, state) {
  const res = await moderator.request.get(`${REVIEW}api/comments?state=${state}&q=${encodeURIComponent(token)}`);
  assert.equal(res.status(), 200);
  const data = await res.json();
  return data.comments.filter((c) => c.text.includes(token));
}

// moves the review page's cursor onto the card holding token with j/k
async function cursorTo(token) {
  const cards = review.locator('.card');
  const texts = await cards.evaluateAll((n) => n.map((c) => c.textContent));
  const want = texts.findIndex((t) => t.includes(token));
  assert.ok(want >= 0, `no card holds ${token}`);
  const now = await cards.evaluateAll((n) => n.findIndex((c) => c.classList.contains('cur')));
  const key = want > now ? 'j' : 'k';
  for (let i = 0; i < Math.abs(want - now); i++) await review.keyboard.press(key);
  assert.match(await review.locator('.card.cur').textContent(), new RegExp(token));
}

test('a reader\'s comments are held when posted through the article\'s form', async () => {
  const page = await watchedPage(reader);
  page.on('request', (req) => {
    if (req.method() !== 'POST') return;
    const body = req.postData() || '';
    for (const c of Object.values(HELD)) {
      const token = c.text.split(' ').pop();
      if (body.includes(token)) posted[token] = body;
    }
  });
  for (const c of Object.values(HELD)) {
    await page.goto(`${BASE}/`);
    await page.getByText('Tulis komentar Anda').waitFor();
    await page.fill('form.comment-form input[name="name"]', c.name);
    await page.fill('form.comment-form input[name="email"]', c.email);
    await page.fill('form.comment-form textarea[name="comment"]', c.text);
    await Promise.all([page.waitForURL(/cm=queued/), page.click('form.comment-form button[type="submit"]')]);
    assert.match(await page.locator('#cm-notice').textContent(), /menunggu moderasi/);
  }
  const html = await articleText();
  for (const c of Object.values(HELD)) assert.ok(!html.includes(c.text.split(' ').pop()), 'held, not published');
  assert.deepEqual(page.problems, []);
  assert.equal(Object.keys(posted).length, Object.keys(HELD).length);
  await page.close();
});

// what the backend stored with token in it
async function stored(token) {
  const res = await reader.request.get(`${BACKEND}/api/comments`);
  return (await res.json()).filter((r) => (r.body || '').includes(token) || (r.comment || '').includes(token));
}

test('the review page needs the login, and is the one in ngx_module/admin/', async () => {
  const anon = await browser.newContext();
  const res = await anon.request.get(REVIEW);
  assert.equal(res.status(), 401);
  await anon.close();
  for (const [file, type] of [['', /^text\/html/], ['review.js', /javascript/], ['rules.js', /javascript/],
    ['review.css', /^text\/css/]]) {
    const r = await moderator.request.get(REVIEW + file);
    assert.equal(r.status(), 200, file);
    assert.match(r.headers()['content-type'], type);
    assert.ok((await r.body()).equals(fs.readFileSync(path.join(ADMIN_SRC, file || 'index.html'))),
      `${file || 'index.html'} as served differs from ngx_module/admin/ (make regenerates the header)`);
  }
});

test('the moderator sees the held comments, in Indonesian, with counts', async () => {
  review = await watchedPage(moderator);
  await review.goto(REVIEW);
  await review.waitForSelector(`.card:has-text("${tok('approveme')}")`);
  assert.equal(await review.locator('[data-state="pending"] span[data-t]').textContent(), 'Menunggu');
  await review.waitForFunction(() => Number(document.querySelector('[data-count="pending"]').textContent) >= 4);
  assert.equal(await review.locator('#user').textContent(), LOGIN.username);
  const card = review.locator(`.card:has-text("${tok('approveme')}")`);
  assert.ok((await card.locator('.chip').allTextContents()).includes('link-first-time'));
  // the marks are the bytes [start, end) of the text that the API names
  const [c] = await stateOf(tok('approveme'), 'pending');
  const raw = Buffer.from(c.text);
  const want = [...new Set(c.spans.filter((sp) => sp.field === 'text')
    .map((sp) => raw.subarray(sp.start, sp.end).toString()))];
  assert.ok(want.length > 0 && want[0].startsWith('https://'), JSON.stringify(c.spans));
  assert.deepEqual(await card.locator('.text mark').allTextContents(), want);
});

test('the hostile comment is inert: its markup is text, nothing ran, no dialog', async () => {
  const card = review.locator(`.card:has-text("${tok('hostile')}")`);
  assert.equal(await card.locator('.text').textContent(), HELD.hostile.text);
  assert.equal(await card.locator('.name').textContent(), HELD.hostile.name);
  assert.equal(await card.locator('script, img, a, iframe').count(), 0);
  assert.equal(await review.locator('.cards img, .cards script, .cards a').count(), 0);
  await card.locator('.text').hover();
  await card.locator('.text').click();
  await review.waitForTimeout(500);
  assert.deepEqual(review.problems, []);
});

test('? shows the keyboard help, Esc closes it', async () => {
  await review.keyboard.press('?');
  await review.locator('#help').waitFor({ state: 'visible' });
  const keys = await review.locator('#keys dt').allTextContents();
  for (const k of ['jk', 'a', 'r', 't', 'b', 'x', 'Shift A', 'Shift R', 'u', '/', 'Esc', '?']) {
    assert.ok(keys.includes(k), `help lists ${k}`);
  }
  await review.keyboard.press('Escape');
  await review.locator('#help').waitFor({ state: 'hidden' });
});

test('undo: a decision taken back with u is never sent', async () => {
  await cursorTo(tok('undome'));
  await review.keyboard.press('a');
  await review.locator('#toast').waitFor({ state: 'visible' });
  assert.equal(await review.locator(`.card:has-text("${tok('undome')}")`).count(), 0);
  await review.keyboard.press('u');
  await review.locator(`.card:has-text("${tok('undome')}")`).waitFor();
  await review.waitForTimeout(SENT_MS);
  assert.equal((await stateOf(tok('undome'), 'pending')).length, 1, 'still pending');
  assert.ok(!(await articleText()).includes(tok('undome')));
});

test('a approves with the keyboard: released to the site once', async () => {
  await cursorTo(tok('approveme'));
  await review.keyboard.press('a');
  await until('it is approved', async () => (await stateOf(tok('approveme'), 'approved')).length === 1, SENT_MS + 8000);
  await until('it is on the article', async () => (await articleText()).includes(tok('approveme')));
  const page = await watchedPage(reader);
  await page.goto(`${BASE}/`);
  await page.locator(`.comment-text:has-text("${tok('approveme')}")`).waitFor();
  assert.equal(await page.locator(`.comment-text:has-text("${tok('approveme')}")`).count(), 1);
  await page.close();
  const got = await stored(tok('approveme'));
  assert.equal(got.length, 1, 'the backend received it once');
  assert.equal(got[0].status, 'published');
  assert.equal(got[0].body, posted[tok('approveme')], 'byte for byte what the browser posted');
  assert.equal(got[0].headers['X-Comment-Moderation'], 'approved');
});

test('approving it again is refused (409) and releases nothing', async () => {
  const session = await (await moderator.request.get(`${REVIEW}api/session`)).json();
  const [c] = await stateOf(tok('approveme'), 'approved');
  const res = await moderator.request.post(`${REVIEW}api/comments/${encodeURIComponent(c.id)}/approve`,
    { data: {}, headers: { 'X-CSRF-Token': session.csrf } });
  assert.equal(res.status(), 409);
  assert.equal((await res.json()).ok, false);
  assert.equal((await stored(tok('approveme'))).length, 1);
});

test('r rejects: it moves to the rejected tab and stays off the article', async () => {
  await cursorTo(tok('rejectme'));
  await review.keyboard.press('r');
  await until('it is rejected', async () => (await stateOf(tok('rejectme'), 'rejected')).length === 1, SENT_MS + 8000);
  assert.ok(!(await articleText()).includes(tok('rejectme')));
  assert.deepEqual(await stored(tok('rejectme')), [], 'nothing reached the backend');
  await review.keyboard.press('2');
  await review.locator(`.card:has-text("${tok('rejectme')}")`).waitFor();
  assert.ok(await review.locator('[data-state="rejected"]').evaluate((b) => b.classList.contains('on')));
  await review.keyboard.press('1');
  await review.locator(`.card:has-text("${tok('hostile')}")`).waitFor();
});

test('a POST without the CSRF token is refused', async () => {
  const [c] = await stateOf(tok('undome'), 'pending');
  const res = await moderator.request.post(`${REVIEW}api/comments/${encodeURIComponent(c.id)}/approve`, { data: {} });
  assert.equal(res.status(), 403);
  assert.equal((await stateOf(tok('undome'), 'pending')).length, 1);
});

test('t approves and trusts the author', async () => {
  await cursorTo(tok('trustme'));
  await review.keyboard.press('t');
  await until('it is approved', async () => (await stateOf(tok('trustme'), 'approved')).length === 1, SENT_MS + 8000);
  const [c] = await stateOf(tok('trustme'), 'approved');
  const full = await (await moderator.request.get(`${REVIEW}api/comments/${encodeURIComponent(c.id)}`)).json();
  assert.ok(full.history.author.trusted, JSON.stringify(full.history.author));
  await until('it is on the article', async () => (await articleText()).includes(tok('trustme')));
});

test('b rejects and blocks the author: their next comment is refused', async () => {
  await cursorTo(tok('blockme'));
  await review.keyboard.press('b');
  await until('it is rejected', async () => (await stateOf(tok('blockme'), 'rejected')).length === 1, SENT_MS + 8000);
  const page = await watchedPage(reader);
  await page.goto(`${BASE}/`);
  await page.fill('form.comment-form input[name="name"]', HELD.block.name);
  await page.fill('form.comment-form input[name="email"]', HELD.block.email);
  await page.fill('form.comment-form textarea[name="comment"]', `Terima kasih beritanya ${tok('blocked')}`);
  await Promise.all([page.waitForURL(/cm=/), page.click('form.comment-form button[type="submit"]')]);
  assert.match(page.url(), /cm=rejected/);
  assert.ok(!(await articleText()).includes(tok('blocked')));
  await page.close();
});

test('h shows the author\'s history and the rules\' contributions', async () => {
  await review.reload();
  await review.locator(`.card:has-text("${tok('hostile')}")`).waitFor();
  await cursorTo(tok('hostile'));
  await review.keyboard.press('h');
  const panel = review.locator('.card.cur .history');
  await panel.locator('.stats').first().waitFor();
  assert.match(await panel.textContent(), /Penulis.*1\s*dilihat/s);
  assert.ok((await panel.locator('.hits .chip').allTextContents()).includes('link-url'));
  assert.match(await panel.locator('.details').textContent(), /POST \/comments application\/x-www-form-urlencoded/);
});

test('screenshot of the review page', async () => {
  await review.waitForFunction(() => /\d/.test(document.querySelector('[data-count="approved"]').textContent));
  const file = await screenshot(review, 'review.png');
  console.log(`# screenshot: ${file}`);
  assert.ok(fs.statSync(file).size > 10000);
  assert.deepEqual(review.problems, []);
});

test('x selects, shift-R rejects the selection in one go; the audit tab lists it', async () => {
  await review.keyboard.press('Escape');
  await cursorTo(tok('undome'));
  await review.keyboard.press('x');
  await cursorTo(tok('hostile'));
  await review.keyboard.press('x');
  assert.match(await review.locator('#bulk-count').textContent(), /^2 terpilih$/);
  await review.keyboard.press('Shift+R');
  await until('both are rejected', async () => (await stateOf(tok('undome'), 'rejected')).length === 1
    && (await stateOf(tok('hostile'), 'rejected')).length === 1, SENT_MS + 8000);
  assert.equal(await review.locator('.card').count(), 0);
  await review.keyboard.press('5');
  await review.locator('.entry').first().waitFor();
  const log = await review.locator('.entry').allTextContents();
  assert.ok(log.filter((e) => /moderator/.test(e) && /menolak/.test(e)).length >= 3, log.join('\n'));
  assert.ok(log.some((e) => /moderator/.test(e) && /menyetujui/.test(e) && /Menunggu \u2192 Disetujui/.test(e)), log.join('\n'));
  assert.deepEqual(review.problems, []);
});

test('the rejected tab\'s way back: a approves a rejected comment, and it is published', async () => {
  await review.keyboard.press('2');
  await review.locator(`.card:has-text("${tok('undome')}")`).waitFor();
  await cursorTo(tok('undome'));
  await review.keyboard.press('a');
  await until('it is approved', async () => (await stateOf(tok('undome'), 'approved')).length === 1, SENT_MS + 8000);
  await until('it is on the article', async () => (await articleText()).includes(tok('undome')));
  assert.equal((await stored(tok('undome'))).length, 1);
  assert.deepEqual(review.problems, []);
});
