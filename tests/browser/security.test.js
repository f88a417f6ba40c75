// XSS on the review page, on the real thing (docs/security-review.md): the
// demo's nginx with the module and Redis (tests/browser/run starts it).
// Comments whose every field carries markup, event handlers, javascript:
// URLs and U+202E are stored through the comment endpoint, with a hostile
// User-Agent; an editor publishes rules whose note, list lines and publish
// note do the same, then rolls back with another; a moderator rejects one
// (the audit log).  Every view is opened: the lists, the detail with the
// author's history, the audit log, the rules tab, the versions and a diff.
// No dialog, no script error, no element the payloads would create, no
// live javascript: link, and each value shown literally.  The page's CSP
// would stop inline handlers anyway: the DOM checks hold without it.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { launch, watchedPage } = require('./lib/browser');

const BASE = process.env.CM_BASE;
const LOGIN = { username: process.env.CM_USER || '', password: process.env.CM_PASSWORD || '' };
const REVIEW = `${BASE}/moderation/`;

const run = `${process.pid}${Date.now() % 100000}`;
const TOKEN = `xssprobe${run}`;

// each sets window.__pwned if it ever runs
const P = {
  img: '<img src=x onerror="window.__pwned=1;alert(1)">',
  svg: '"><svg onload="window.__pwned=2;alert(2)">',
  script: '<script>window.__pwned=3;alert(3)</script>',
  js: 'javascript:window.__pwned=4;alert(4)',
  rlo: '\u202Egnp.exe',
};

const FIELDS = {
  name: `${P.img}Mallory${P.rlo}`,
  email: `mallory${run}@example.com${P.svg}`,
  url: P.js,
  comment: `${P.script} ${P.img} <a href="${P.js}">klik</a> ${P.svg} https://example.org/x ${TOKEN}`,
  article_id: `1${P.svg}`,
};
const AGENT = `Mozilla/5.0 ${P.img} ${P.svg}`;
const NOTE = `${P.img} ${P.svg} ${P.js} ${P.rlo}`;

// nothing the payloads would create, anywhere on the page
const FOREIGN = 'img, svg, script:not([src]), iframe, object, embed, a[href^="javascript:" i], [onerror], [onload]';

assert.ok(BASE, 'CM_BASE is not set: run tests/browser/run');

let browser, moderator, page, csrf, held, versionBefore;

before(async () => {
  browser = await launch();
  moderator = await browser.newContext({ viewport: { width: 1360, height: 1000 }, httpCredentials: LOGIN });
  moderator.setDefaultTimeout(10000);
  const session = await (await moderator.request.get(`${REVIEW}api/session`)).json();
  csrf = session.csrf;
});

after(async () => {
  if (browser) await browser.close();
});

async function post(path, data) {
  const res = await moderator.request.post(`${REVIEW}api/${path}`, { data, headers: { 'X-CSRF-Token': csrf } });
  assert.ok(res.status() < 300, `${path}: ${res.status()} ${await res.text()}`);
  return res.json();
}

async function find(state) {
  const res = await moderator.request.get(`${REVIEW}api/comments?state=${state}&q=${TOKEN}&limit=200`);
  return (await res.json()).comments;
}

async function clean(p) {
  assert.equal(await p.locator(FOREIGN).count(), 0, 'no element from a payload');
  assert.equal(await p.evaluate(() => window.__pwned), undefined, 'no payload ran');
  assert.deepEqual(p.problems, []);
}

test('hostile comments are stored through the comment endpoint', async () => {
  const reader = await browser.newContext();
  for (const n of [1, 2]) {
    const res = await reader.request.post(`${BASE}/comments`, {
      form: { ...FIELDS, comment: `${FIELDS.comment} #${n}` },
      headers: { 'User-Agent': AGENT, Accept: 'application/json' },
    });
    assert.ok([202, 403].includes(res.status()), `posted: ${res.status()}`);
  }
  await reader.close();
  held = await find('pending');
  assert.equal(held.length, 2, 'both held (a first-time author\'s link)');
  assert.equal(held[0].name, FIELDS.name, 'stored as sent');
});

test('an editor publishes rules with hostile notes and list lines', async () => {
  const src = await (await moderator.request.get(`${REVIEW}api/rules/source`)).json();
  versionBefore = src.version;
  const files = { ...src.files };
  files[src.entry] += `\nrule xss-probe\n    words "${TOKEN}zz"\n    score 1\n    note "${NOTE.replace(/"/g, "'")}"\n`;
  files['lists/xss-probe.txt'] = `# ${P.script}\n${TOKEN}${P.img.replace(/[ "]/g, '')}\n`;
  files[src.entry] += `\nrule xss-probe-list\n    words-file lists/xss-probe.txt\n    score 1\n`;
  const res = await post('rules/publish', { entry: src.entry, files, note: NOTE });
  assert.equal(res.ok, true, JSON.stringify(res));
  // a moderator's decision with the audit log's other fields
  const r = await post(`comments/${held[1].id}/reject`, {});
  assert.equal(r.ok, true);
});

test('the pending list shows every field as text', async () => {
  page = await watchedPage(moderator);
  await page.goto(`${REVIEW}#pending`);
  await page.fill('#q', TOKEN);
  await page.keyboard.press('Enter');
  const card = page.locator(`.card[data-id="${held[0].id}"]`);
  await card.waitFor();
  assert.equal(await card.locator('.name').textContent(), FIELDS.name);
  assert.equal(await card.locator('.email').textContent(), FIELDS.email);
  assert.equal(await card.locator('.url code').textContent(), FIELDS.url);
  assert.equal(await card.locator('.text').textContent(), `${FIELDS.comment} #1`);
  assert.match(await card.textContent(), /1"><svg onload=/, 'the article as text');
  assert.equal(await card.locator('a').count(), 0, 'no link at all: javascript: cannot be clicked');
  // U+202E reorders its own field and nothing around it
  // (in one turn of the page's script: the list may be drawn again between
  // two calls, and a detached element has no computed style)
  const fields = ['.name', '.email', '.text', '.url code'];
  const bidi = await card.evaluate((c, sels) =>
    sels.map((s) => getComputedStyle(c.querySelector(s)).unicodeBidi), fields);
  assert.deepEqual(bidi, fields.map(() => 'isolate'), fields.join(' '));
  await card.locator('.url code').click();
  await card.locator('.name').hover();
  await page.waitForTimeout(200);
  await clean(page);
});

test('the detail and the author\'s history show the User-Agent and fields as text', async () => {
  const card = page.locator(`.card[data-id="${held[0].id}"]`);
  await card.locator('[data-act="history"]').click();
  await card.locator('.details dd').first().waitFor();
  const dds = await card.locator('.details dd').allTextContents();
  assert.ok(dds.includes(AGENT), `the User-Agent literally: ${dds.join(' | ')}`);
  const hist = await card.textContent();
  assert.ok(hist.includes(`${FIELDS.comment} #2`), 'the other comment, in the history, as text');
  await clean(page);
});

test('the rejected list and the audit log', async () => {
  await page.goto(`${REVIEW}#rejected`);
  await page.reload();
  await page.fill('#q', TOKEN);
  await page.keyboard.press('Enter');
  const card = page.locator(`.card[data-id="${held[1].id}"]`);
  await card.waitFor();
  assert.equal(await card.locator('.name').textContent(), FIELDS.name);
  await clean(page);

  await page.goto(`${REVIEW}#audit`);
  await page.reload();
  const notes = page.locator('.entry .note');
  await notes.first().waitFor();
  assert.ok((await notes.allTextContents()).includes(NOTE), 'the publish note, literally');
  assert.ok((await page.locator('.entry .cid').allTextContents()).includes(held[1].id));
  await clean(page);
});

test('the rules tab: the rule\'s note, the versions, the diff', async () => {
  await page.goto(`${REVIEW}#rules`);
  const row = page.locator('#rules-body tr[data-rule="xss-probe"]');
  await row.waitFor();
  assert.ok((await row.textContent()).includes(NOTE.replace(/"/g, "'")), 'the note as text');
  await page.selectOption('#rules-file', 'lists/xss-probe.txt');
  assert.ok((await page.inputValue('#rules-text')).includes(P.script), 'the list in the editor, as text');
  const active = page.locator('.version.active');
  await active.waitFor();
  assert.equal(await active.locator('.v-note').textContent(), NOTE);
  assert.equal(await active.locator('.v-note').evaluate((e) => getComputedStyle(e).unicodeBidi), 'isolate');
  await active.locator('[data-diff]').click();
  await active.locator('.diff-line').first().waitFor();
  const diff = await active.locator('.diff').textContent();
  assert.ok(diff.includes(`# ${P.script}`), `the added lines as text: ${diff.slice(0, 200)}`);
  await clean(page);
});

test('a rollback with a hostile note: the audit log shows it as text', async () => {
  const res = await post('rules/rollback', { version: versionBefore, note: `${P.svg} back` });
  assert.equal(res.ok, true);
  // a new load: the tab switch alone may show the audit log as it was
  await page.goto(`${REVIEW}#audit`);
  await page.reload();
  await page.locator('.entry .note').first().waitFor();
  const notes = await page.locator('.entry .note').allTextContents();
  assert.ok(notes.includes(`${P.svg} back`), notes.join(' | '));
  await page.goto(`${REVIEW}#rules`);
  await page.locator('.version').first().waitFor();
  await clean(page);
});
