// More of the editors' work on the real thing (issue 6), on the demo:
// "make a rule from this" - from a held comment, select a phrase, see the
// pending comments the rule would catch (the module's engine), reject them
// in bulk, publish the rule; the next such comment is rejected without a
// reload - and a shadow rule promoted from the rules tab after seeing what
// it would change.
// tests/browser/run starts the demo (CM_BASE, CM_USER, CM_PASSWORD, CM_DEMO_RUN).
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const { watchedPage, screenshot } = require('./lib/browser');

const { RUN_DIR, LOGIN, REVIEW, SWITCH_MS, tok, nginxPid, until, useDemo } = require('./lib/demo');
// nothing in the shipped rules catches these (checked below)
const PHRASE = 'arisan barokah';
const SHADOW_WORD = 'undianberkah';

const demo = useDemo(true);
const postComment = demo.postComment;
let page;

async function apiGet(p) {
  return (await demo.editor.request.get(`${REVIEW}api/${p}`)).json();
}

async function apiPost(p, body) {
  const { csrf } = await apiGet('session');
  const res = await demo.editor.request.post(`${REVIEW}api/${p}`, { data: body, headers: { 'X-CSRF-Token': csrf } });
  return res.json();
}

let pidBefore;
const held = [];

test('three held comments, two with the phrase (first-time authors with a link are held)', async () => {
  pidBefore = nginxPid();
  for (const [name, text] of [
    ['Dewi', `Ikut ${PHRASE} di www.example.co.id/arisan ya ${tok('mk1')}`],
    ['Eko', `Grup Arisan  BAROKAH buka lagi, www.example.co.id/grup ${tok('mk2')}`],
    ['Fajar', `Menurut saya www.example.co.id/berita benar ${tok('mk3')}`],
  ]) {
    assert.equal(await postComment(name, text), 'queued', text);
    held.push(text);
  }
});

test('make a rule from a held comment: the selected phrase, the matching pending comments, bulk reject, publish', async () => {
  page = await watchedPage(demo.editor);
  await page.goto(`${REVIEW}#pending`);
  const card = page.locator(`#cards .card:has-text("${tok('mk1')}")`);
  await card.waitFor();
  // the moderator selects the phrase in the comment's text
  await card.locator('p.text').evaluate((p, phrase) => {
    const node = Array.from(p.childNodes).find((n) => n.textContent.includes(phrase));
    const text = node.nodeType === 3 ? node : node.firstChild;
    const at = text.textContent.indexOf(phrase);
    const range = document.createRange();
    range.setStart(text, at);
    range.setEnd(text, at + phrase.length);
    const sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }, PHRASE);
  await page.waitForTimeout(100);
  await card.locator('[data-act="makerule"]').click();
  const dialog = page.locator('#mk .makerule');
  await dialog.waitFor();
  assert.equal(await dialog.locator('h2').textContent(), 'Buat aturan dari komentar ini');
  assert.equal(await dialog.locator('input[name="phrase"]').inputValue(), PHRASE);
  await dialog.locator('select[name="effect"]').selectOption('reject');
  await dialog.locator('select[name="days"]').selectOption('7');
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('api/rules/matches')),
    dialog.locator('button[type="submit"]').click(),
  ]);
  const answer = await res.json();
  assert.equal(answer.ok, true, JSON.stringify(answer));
  await page.waitForSelector('#mk .mk-match');
  // the two with the phrase (one in capitals, two spaces), not the third
  const texts = await page.locator('#mk .mk-match .snippet').allTextContents();
  assert.ok(texts.some((x) => x.includes(tok('mk1'))), texts.join('\n'));
  assert.ok(texts.some((x) => x.includes(tok('mk2'))), texts.join('\n'));
  assert.ok(!texts.some((x) => x.includes(tok('mk3'))), texts.join('\n'));
  assert.equal(texts.length, answer.matched);
  assert.deepEqual(await page.locator('#mk .mk-match .decision').allTextContents(), ['ditolak', 'ditolak']);
  assert.match(await page.locator('#mk .mk-count').textContent(), new RegExp(`^${answer.matched} dari \\d+ komentar menunggu cocok$`));
  // the rule as it will be published: the phrase, reject, a week, the note
  const rule = await page.locator('#mk .mk-rule').textContent();
  assert.match(rule, /^rule from-\S+\n {4}words "arisan barokah"\n {4}action reject\n {4}expires \d{4}-\d\d-\d\dT\d\d:\d\d\n {4}note {2}"from comment \S+ by /);
  console.log(`# screenshot: ${await screenshot(page, 'makerule.png')}`);
  const expires = new Date(rule.match(/expires (\S+)/)[1] + 'Z').getTime();
  assert.ok(Math.abs(expires - (Date.now() + 7 * 86400000)) < 120000, rule);
  // reject the matches in bulk: they leave the queue
  await page.click('#mk [data-mk="reject"]');
  await page.waitForSelector('#mk .mk-msg.good');
  assert.equal(await page.locator('#mk .mk-msg').textContent(), `${answer.matched} komentar ditolak.`);
  await until('the rejected ones leave the queue', async () =>
    (await page.locator(`#cards .card:has-text("${tok('mk1')}")`).count()) === 0 &&
    (await page.locator(`#cards .card:has-text("${tok('mk2')}")`).count()) === 0);
  assert.equal(await page.locator(`#cards .card:has-text("${tok('mk3')}")`).count(), 1);
  const rejected = await apiGet(`comments?state=rejected&q=${encodeURIComponent(tok('mk2'))}`);
  assert.equal(rejected.total, 1);
  // publish: the next such comment is rejected at once, no reload
  const before = (await apiGet('rules/source')).version;
  await page.click('#mk [data-mk="publish"]');
  await page.waitForSelector('#mk .mk-msg.good >> text=/aktif di versi/');
  assert.match(await page.locator('#mk .mk-msg').textContent(), new RegExp(`^Aturan from-\\S+ aktif di versi ${before + 1}\\.`));
  const versions = await apiGet('rules/versions');
  assert.match(versions.versions[0].note, new RegExp(`^from comment \\S+ by ${LOGIN.username}$`));
  await page.click('#mk [data-mk="close"]');
  assert.equal(await page.locator('#mk').count(), 0);
  await page.waitForTimeout(SWITCH_MS);
  assert.equal(await postComment('Gita', `Yuk ikut Arisan Barokah bulan ini ${tok('after')}`), 'rejected');
  assert.equal(nginxPid(), pidBefore, 'the same nginx');
  assert.deepEqual(page.problems, []);
});

test('promote a shadow rule: see what it would change, promote, it decides', async () => {
  // a shadow rule published with the API, as an editor would have a week ago
  const src = await apiGet('rules/source');
  const files = { ...src.files };
  files[src.entry] += `\nrule coba-undian\n    words ${SHADOW_WORD}\n    action reject\n    shadow\n    note  "tried quietly first"\n`;
  const pub = await apiPost('rules/publish', { entry: src.entry, files, note: 'shadow coba-undian' });
  assert.equal(pub.ok, true, JSON.stringify(pub));
  await page.waitForTimeout(SWITCH_MS);
  // held (a first-time link): the shadow rule changes nothing yet
  assert.equal(await postComment('Hadi', `Ada ${SHADOW_WORD} di www.example.co.id/undian ${tok('sh')}`), 'queued');
  await page.goto(`${REVIEW}#rules`);
  const row = page.locator('#rules-body tr[data-rule="coba-undian"]');
  await row.waitFor();
  assert.equal(await row.locator('td.shadow .flag').textContent(), 'bayangan');
  await row.locator('[data-promote]').click();
  // the comments it would have changed: the held one, held -> rejected
  await page.waitForSelector('#shadow-result .totals');
  assert.match(await page.locator('#shadow-result h3').textContent(), /^Aturan bayangan coba-undian: /);
  const flip = page.locator(`#shadow-result .flip:has-text("${tok('sh')}")`);
  assert.deepEqual((await flip.locator('.decision').allTextContents()).slice(0, 2), ['ditahan', 'ditolak']);
  await page.click('#shadow-result [data-promote-yes]');
  await page.waitForSelector('#pub-result.good');
  assert.match(await page.locator('#pub-result').textContent(), new RegExp(`^coba-undian dinaikkan: versi ${pub.version + 1} aktif`));
  await until('the table shows coba-undian deciding', async () =>
    (await page.locator('#rules-body tr[data-rule="coba-undian"] td.shadow').textContent()) === '');
  const source = await apiGet('rules/source');
  assert.ok(!/rule coba-undian\n[^]*?\n {4}shadow\n/.test(source.files[source.entry]), 'the shadow line is gone');
  await page.waitForTimeout(SWITCH_MS);
  assert.equal(await postComment('Indah', `Ada ${SHADOW_WORD} hari ini ${tok('shafter')}`), 'rejected');
  assert.equal(nginxPid(), pidBefore, 'the same nginx');
  assert.doesNotMatch(fs.readFileSync(path.join(RUN_DIR, 'error.log'), 'utf8'), /reconfiguring/, 'no reload');
  assert.deepEqual(page.problems, []);
});

// the other tests on this demo count the pending queue: what this file held
// and left there goes
test('cleaning up: the comments this file left pending are rejected', async () => {
  const left = [];
  for (const what of ['mk3', 'sh']) {
    const found = await apiGet(`comments?state=pending&q=${encodeURIComponent(tok(what))}`);
    left.push(...found.comments.map((c) => c.id));
  }
  assert.equal(left.length, 2);
  const res = await apiPost('bulk', { action: 'reject', ids: left });
  assert.deepEqual(res.results.map((r) => r.state), ['rejected', 'rejected']);
});
