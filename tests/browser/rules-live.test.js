// The rules tab on the real thing (issue 6, acceptance 1): on the demo, an
// editor adds a new gambling brand to a word list in the browser, sees the
// compiler's error for a broken regex, tries a text, backtests, publishes;
// the next comment with the brand (also spaced out) is rejected without an
// nginx reload; a rollback brings the old behaviour back.
// tests/browser/run starts the demo (CM_BASE, CM_USER, CM_PASSWORD, CM_DEMO_RUN).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { watchedPage, screenshot } = require('./lib/browser');

const { RUN_DIR, LOGIN, REVIEW, SWITCH_MS, tok, nginxPid, until, useDemo } = require('./lib/demo');
// not in the shipped rules, and nothing in them catches it (checked below)
const BRAND = 'kilatmerah';
const SPACED = 'K I L A T M E R A H';
const LIST = 'lists/judol-sites.txt';

const demo = useDemo();
const postComment = demo.postComment;
let page;

async function checkLine() {
  return page.locator('#rules-check').textContent();
}

let pidBefore, versionBefore;

// all readers post from 127.0.0.1: after review.test.js's rejections the
// address's reputation may hold a comment (repeat-network), never reject it
test('before: the brand is not rejected; a comment with it and a link is held', async () => {
  pidBefore = nginxPid();
  assert.notEqual(await postComment('Rudi', `Yuk gabung ${BRAND} sekarang ${tok('before')}`), 'rejected');
  assert.notEqual(await postComment('Sari', `Ayo ${SPACED} sekarang ${tok('beforespaced')}`), 'rejected');
  // a first-time author's link is held: the backtest will see it change
  assert.equal(await postComment('Wawan', `Menurut ${BRAND} di www.example.co.id/berita ${tok('held')}`), 'queued');
  // and one the shipped rules reject, for the hit counts
  assert.equal(await postComment('Joni', `Slot gacor maxwin hari ini! WA 0812-3456-7890 ${tok('judol')}`), 'rejected');
});

test('the rules tab lists the active rules with their hits', async () => {
  page = await watchedPage(demo.editor);
  await page.goto(`${REVIEW}#rules`);
  await page.locator('#rules-body tr[data-rule="judol-site"]').waitFor();
  const src = await (await demo.editor.request.get(`${REVIEW}api/rules/source`)).json();
  versionBefore = src.version;
  assert.match(await page.locator('#rules-version').textContent(), new RegExp(`^versi ${versionBefore} `));
  const rules = await (await demo.editor.request.get(`${REVIEW}api/rules`)).json();
  assert.equal(await page.locator('#rules-body tr[data-rule]').count(), rules.rules.length);
  // the comment rejected above counts in the last hour of the rule that caught it
  const phrase = page.locator('#rules-body tr[data-rule="judol-phrase"]');
  assert.ok(Number(await phrase.locator('td.hour').textContent()) >= 1, await phrase.textContent());
  assert.match(await page.locator('#rules-body tr[data-rule="judol-site"] td.where').textContent(), /^id-judol\.rules:\d+$/);
  await until('the check says valid', async () => /^Valid: \d+ aturan$/.test(await checkLine()));
  assert.deepEqual(page.problems, []);
});

test('a broken regex shows the compiler\'s own error with file:line; undoing it makes the draft valid', async () => {
  await page.selectOption('#rules-file', 'id-judol.rules');
  const text = await page.inputValue('#rules-text');
  const lines = text.split('\n');
  const at = lines.findIndex((l) => /^rule judol-site$/.test(l));
  assert.ok(at > 0);
  await page.locator('#rules-text').fill(
    [...lines.slice(0, at), 'rule broken-brand regex "zeus(jp[0-9+" score 12', '', ...lines.slice(at)].join('\n'));
  await page.waitForSelector('#rules-check.bad');
  const msg = await page.locator('#rules-check .msg').textContent();
  assert.match(msg, new RegExp(`^id-judol\\.rules:${at + 1}: `), msg);
  assert.match(msg, /regex|missing|parenthes|bracket/i, msg);
  await page.click('#rules-check [data-line]');
  assert.equal(await page.locator('#rules-text').evaluate((ta) => ta.value.slice(ta.selectionStart, ta.selectionEnd)),
    'rule broken-brand regex "zeus(jp[0-9+" score 12');
  await page.click('#rules-revert');
  await until('the check says valid', async () => /^Valid/.test(await checkLine()));
});

test('the brand goes into the word list; try-it with the draft rejects it, spaced out too', async () => {
  await page.fill('#rules-brand', BRAND);
  await page.click('#rules-quick button[type="submit"]');
  assert.equal(await page.inputValue('#rules-file'), LIST);
  assert.ok((await page.inputValue('#rules-text')).endsWith(`*${BRAND}*\n`));
  await until('the check says valid', async () => /^Valid/.test(await checkLine()));
  // the one line that publishing would add
  await page.waitForSelector('#pub-diff .diff-line');
  const diff = await page.locator('#pub-diff > div').allTextContents();
  assert.equal(diff.length, 2, diff.join('\n'));
  assert.equal(diff[0], LIST);
  assert.match(diff[1], new RegExp(`^\\d+\\+\\*${BRAND}\\*$`));
  const text = `Mantap 😀 gabung ${SPACED} gacor`;
  await page.fill('#try-text', text);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('api/rules/try')),
    page.click('#try-run'),
  ]);
  const answer = await res.json();
  await page.waitForSelector('#try-result .verdict');
  assert.equal(answer.decision, 'reject', JSON.stringify(answer));
  assert.equal(await page.locator('#try-result .decision').textContent(), 'ditolak');
  const hits = await page.locator('#try-result .hits .chip').allTextContents();
  assert.ok(hits.includes('judol-site'), hits.join());
  // the marks cover exactly the bytes [start, end) the engine named, after the emoji
  const raw = Buffer.from(text);
  const covered = new Array(raw.length).fill(false);
  for (const sp of answer.spans.filter((x) => x.field === 'text')) covered.fill(true, sp.start, sp.end);
  const want = Buffer.from(raw.filter((_, i) => covered[i])).toString();
  const marks = await page.locator('#try-result .text mark').allTextContents();
  assert.equal(marks.join(''), want, JSON.stringify(answer.spans));
  assert.ok(marks.some((m) => m.includes('K I L A T')), marks.join('|'));
  assert.equal(await page.locator('#try-result .text').textContent(), text);
});

test('the backtest shows the held comment with the brand going from held to rejected', async () => {
  await page.fill('#bt-limit', '200');
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('api/rules/backtest')),
    page.click('#bt-run'),
  ]);
  const answer = await res.json();
  assert.equal(answer.ok, true, JSON.stringify(answer));
  await page.waitForSelector('#bt-result .totals');
  const totals = await page.locator('#bt-result .total b').allTextContents();
  assert.deepEqual(totals.map(Number), [answer.changed, answer.agree, answer.disagree]);
  assert.ok(answer.changed >= 1);
  const flip = page.locator(`#bt-result .flip:has-text("${tok('held')}")`);
  // the active rules hold it, the draft rejects it, and in the end it is
  // still held (pending)
  assert.deepEqual(await flip.locator('.decision').allTextContents(), ['ditahan', 'ditolak', 'ditahan']);
});

test('publish with a note: the new version is active; the brand is rejected at once, without a reload', async () => {
  await page.fill('#pub-note', `merek baru ${BRAND}`);
  await page.click('#pub-run');
  await page.waitForSelector('#pub-result.good');
  assert.match(await page.locator('#pub-result').textContent(), new RegExp(`^Versi ${versionBefore + 1} aktif`));
  await page.waitForSelector(`.version.active[data-version="${versionBefore + 1}"]`);
  assert.equal(await page.locator('.version.active .v-note').textContent(), `merek baru ${BRAND}`);
  assert.equal(await page.locator('.version.active .by').textContent(), LOGIN.username);
  // the module's own diff of the new version against the one before
  await page.click('.version.active [data-diff]');
  await page.waitForSelector('.version.active .diff-line');
  assert.deepEqual(await page.locator('.version.active .diff > div').allTextContents(), [LIST, `+*${BRAND}*`]);
  // the table follows once the workers judge with it
  await until('the table shows the new version', async () =>
    new RegExp(`^versi ${versionBefore + 1} \u00b7 ${LOGIN.username} `).test(await page.locator('#rules-version').textContent()));
  await page.waitForTimeout(SWITCH_MS);
  assert.equal(await postComment('Rudi', `Yuk gabung ${BRAND} sekarang ${tok('after')}`), 'rejected');
  assert.equal(await postComment('Sari', `Ayo ${SPACED} sekarang ${tok('afterspaced')}`), 'rejected');
  assert.equal(nginxPid(), pidBefore, 'the same nginx');
  assert.doesNotMatch(fs.readFileSync(path.join(RUN_DIR, 'error.log'), 'utf8'), /reconfiguring/, 'no reload');
});

test('screenshot of the rules tab', async () => {
  await page.evaluate(() => window.scrollTo(0, 0));
  const file = await screenshot(page, 'rules.png', true);
  console.log(`# screenshot: ${file}`);
  assert.ok(fs.statSync(file).size > 20000);
  assert.deepEqual(page.problems, []);
});

test('rollback to the version before: the brand passes again; both steps are in the audit log', async () => {
  await page.click(`.version[data-version="${versionBefore}"] [data-rollback]`);
  const form = page.locator(`.version[data-version="${versionBefore}"] form.confirm`);
  await form.locator('input[name="note"]').fill('terlalu luas, dicek ulang');
  await form.locator('button[type="submit"]').click();
  await page.waitForSelector(`.version.active[data-version="${versionBefore}"]`);
  await until('the table shows the old version', async () =>
    new RegExp(`^versi ${versionBefore} `).test(await page.locator('#rules-version').textContent()));
  await page.selectOption('#rules-file', LIST);
  assert.ok(!(await page.inputValue('#rules-text')).includes(BRAND), 'the editor shows the old list');
  await page.waitForTimeout(SWITCH_MS);
  assert.notEqual(await postComment('Rudi', `Yuk gabung ${BRAND} sekarang ${tok('rolledback')}`), 'rejected');
  assert.notEqual(await postComment('Sari', `Ayo ${SPACED} sekarang ${tok('rolledbackspaced')}`), 'rejected');
  assert.equal(nginxPid(), pidBefore);
  await page.keyboard.press('Escape');
  await page.keyboard.press('5');
  await page.locator('.entry').first().waitFor();
  const log = await page.locator('.entry').allTextContents();
  assert.ok(log.some((e) => e.includes(LOGIN.username) && /mengembalikan aturan/.test(e) && e.includes('terlalu luas')), log.join('\n'));
  assert.ok(log.some((e) => e.includes(LOGIN.username) && /menerbitkan aturan/.test(e) && e.includes(`merek baru ${BRAND}`)), log.join('\n'));
  assert.deepEqual(page.problems, []);
});
