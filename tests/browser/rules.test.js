// The rules tab against the in-memory stand-in of the admin API
// (lib/fake-api.js): the table with its counts and flags, the editor and
// its validation, try-it, backtest, publish and rollback, all as text.
// rules-live.test.js does the same on the real module.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fake = require('./lib/fake-api');
const { launch, screenshot, opener } = require('./lib/browser');

const HOSTILE = '<img src=x onerror="window.__pwned=1"><b>tebal</b>';

let browser, api, page, openPage;

before(async () => {
  const now = Date.now();
  api = await fake.start([
    fake.comment({ id: 'z1', time: now - 9000, text: 'Gas main di zeusjp777 bos', score: 6, rules: 'judol-brand-ending' }),
    fake.comment({ id: 'z2', state: 'approved', time: now - 8000, text: 'Beritanya bagus', score: 0, moderator: 'editor' }),
    fake.comment({ id: 'z3', state: 'rejected', time: now - 7000, text: 'Slot pulauwin gacor', score: 12, rules: 'judol-site' }),
  ]);
  browser = await launch();
  openPage = opener(browser, { width: 1360, height: 1000 });
});

after(async () => {
  if (browser) await browser.close();
  if (api) api.close();
});

async function open(lang) {
  page = await openPage(`${api.url}#rules`, lang);
  page.setDefaultTimeout(5000);
  await page.waitForSelector('#rules-body tr[data-rule="judol-site"]');
  await page.waitForFunction(() => /Valid/.test(document.querySelector('#rules-check').textContent));
  return page;
}

async function postsAfter(n, path, ms) {
  const end = Date.now() + (ms || 4000);
  for (;;) {
    const got = api.posts.slice(n).filter((p) => p.path === path);
    if (got.length || Date.now() > end) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function column(name) {
  return page.locator(`#rules-body td.${name}`).allTextContents();
}

test('the rules tab: every rule with its counts; noisy and stale stand out; sortable', async () => {
  await open();
  assert.equal(await page.locator('[data-state="rules"] span[data-t]').textContent(), 'Aturan');
  assert.ok(await page.locator('#rules-view').isVisible());
  assert.ok(!(await page.locator('#cards').isVisible()), 'the comment list is hidden');
  const site = page.locator('#rules-body tr[data-rule="judol-site"]');
  assert.deepEqual(await site.locator('td.num').allTextContents(), ['31', '140', '700', '1']);
  assert.equal(await site.locator('td.where').textContent(), 'judol.rules:3');
  assert.equal(await site.locator('td.note').textContent(), 'A known site name.');
  assert.ok(await site.evaluate((tr) => tr.classList.contains('noisy')), '31 hits in an hour is noisy');
  const wa = page.locator('#rules-body tr[data-rule="wa-number"]');
  assert.ok(await wa.evaluate((tr) => tr.classList.contains('stale')), 'no hit in a week is stale');
  assert.equal(await wa.locator('td.kind').textContent(), 'regex');
  // a number column sorts the largest first, a second click turns it round
  await page.click('#rules-head [data-sort="hour"]');
  assert.deepEqual(await column('hour'), ['31', '2', '0']);
  await page.click('#rules-head [data-sort="hour"]');
  assert.deepEqual(await column('hour'), ['0', '2', '31']);
  await page.click('#rules-head [data-sort="name"]');
  assert.deepEqual(await page.locator('#rules-body tr').evaluateAll((n) => n.map((r) => r.dataset.rule)),
    ['judol-bonus', 'judol-site', 'wa-number']);
  assert.deepEqual(await page.locator('#rules-body td.shadow').evaluateAll((n) => n.map((td) => {
    const flag = td.querySelector('.flag');
    return flag ? flag.textContent : td.textContent;
  })), ['bayangan', '', '']);
  // a shadow rule offers to be promoted, the others do not
  assert.equal(await page.locator('#rules-body tr[data-rule="judol-bonus"] [data-promote]').textContent(), 'Naikkan');
  assert.equal(await page.locator('#rules-body [data-promote]').count(), 1);
  // only the noisy and the stale ones
  await page.check('#rules-flagged');
  assert.deepEqual(await page.locator('#rules-body tr').evaluateAll((n) => n.map((r) => r.dataset.rule)),
    ['judol-site', 'wa-number']);
  await page.uncheck('#rules-flagged');
  await page.fill('#rules-filter', 'wa-');
  assert.deepEqual(await page.locator('#rules-body tr').evaluateAll((n) => n.map((r) => r.dataset.rule)), ['wa-number']);
  assert.match(await page.locator('#rules-version').textContent(), /^versi 1 \u00b7 demo \u00b7 /);
  assert.deepEqual(page.problems, []);
});

test('the editor: the active source, file by file; a brand goes into the word list; the check says valid', async () => {
  await open();
  assert.deepEqual(await page.locator('#rules-file option').evaluateAll((n) => n.map((o) => o.value)),
    ['default.rules', 'judol.rules', 'lists/judol-sites.txt']);
  assert.match(await page.inputValue('#rules-text'), /^threshold queue 5/);
  assert.match(await page.locator('#pub-changes').textContent(), /sama dengan versi aktif/);
  assert.ok(await page.locator('#pub-run').isDisabled(), 'nothing to publish');
  const before = api.posts.length;
  await page.fill('#rules-brand', '  ZeusJP777 ');
  await page.click('#rules-quick button[type="submit"]');
  assert.equal(await page.inputValue('#rules-file'), 'lists/judol-sites.txt');
  assert.match(await page.inputValue('#rules-text'), /\*tupaiwin\*\n\*zeusjp777\*\n$/, 'written like the other lines');
  assert.match(await page.locator('#rules-quick-msg').textContent(), /zeusjp777.*ditambahkan/);
  const [checked] = await postsAfter(before, 'rules/check');
  assert.match(checked.body.files['lists/judol-sites.txt'], /\*zeusjp777\*/, 'the check got the draft');
  await page.waitForFunction(() => /Valid: 3 aturan/.test(document.querySelector('#rules-check').textContent));
  assert.match(await page.locator('#rules-file option:checked').textContent(), /diubah/);
  assert.match(await page.locator('#pub-changes').textContent(), /lists\/judol-sites.txt/);
  // what publishing would change, line by line
  await page.waitForSelector('#pub-diff .diff-line');
  assert.deepEqual(await page.locator('#pub-diff > div').allTextContents(), ['lists/judol-sites.txt', '4+*zeusjp777*']);
  // the same brand twice is refused
  await page.fill('#rules-brand', 'zeusjp777');
  await page.click('#rules-quick button[type="submit"]');
  assert.match(await page.locator('#rules-quick-msg').textContent(), /sudah ada/);
  assert.equal((await page.inputValue('#rules-text')).match(/zeusjp777/g).length, 1);
  // undo brings the file back as it is active
  await page.click('#rules-revert');
  assert.doesNotMatch(await page.inputValue('#rules-text'), /zeusjp777/);
});

test('a broken regex: the error with file:line as the compiler said it, as one types; publish waits', async () => {
  await open();
  await page.selectOption('#rules-file', 'judol.rules');
  const text = await page.inputValue('#rules-text');
  await page.locator('#rules-text').fill(text.replace('08[0-9]{8,12}', '08[0-9{8,12}('));
  await page.waitForSelector('#rules-check.bad');
  const msg = await page.locator('#rules-check .msg').textContent();
  assert.match(msg, /^judol\.rules:8: regex "08\[0-9\{8,12\}\(": /);
  await page.waitForSelector('#pub-diff .diff-line');
  assert.deepEqual(await page.locator('#pub-diff > div').allTextContents(), ['judol.rules',
    '8-rule wa-number regex "08[0-9]{8,12}" score 4', '8+rule wa-number regex "08[0-9{8,12}(" score 4']);
  await page.fill('#pub-note', 'broken');
  assert.ok(await page.locator('#pub-run').isDisabled(), 'a broken draft cannot be published');
  // "go to the line" selects it
  await page.click('#rules-check [data-line]');
  const selected = await page.locator('#rules-text').evaluate((ta) => ta.value.slice(ta.selectionStart, ta.selectionEnd));
  assert.match(selected, /^rule wa-number regex/);
  // fixed: valid again
  await page.locator('#rules-text').fill(text);
  await page.waitForFunction(() => /Valid/.test(document.querySelector('#rules-check').textContent));
  assert.ok(!(await page.locator('#rules-check').evaluate((p) => p.classList.contains('bad'))));
});

test('try it: the draft decides, with the hits and the spans highlighted after multi-byte text', async () => {
  await open();
  await page.selectOption('#rules-list', 'lists/judol-sites.txt');
  await page.fill('#rules-brand', 'zeusjp777');
  await page.press('#rules-brand', 'Enter');
  const text = 'Mantap 😀 café, main di ZEUSJP777 wa 081234567890';
  await page.fill('#try-text', text);
  await page.fill('#try-name', 'Agen');
  await page.fill('#try-section', 'pemilu');
  const before = api.posts.length;
  await page.click('#try-run');
  await page.waitForSelector('#try-result .verdict');
  const [sent] = await postsAfter(before, 'rules/try');
  assert.equal(sent.body.text, text);
  assert.equal(sent.body.name, 'Agen');
  // the section's stricter thresholds apply; an empty article is not sent
  assert.equal(sent.body.section, 'pemilu');
  assert.ok(!('article' in sent.body));
  assert.match(sent.body.files['lists/judol-sites.txt'], /zeusjp777/, 'tried with the draft, not the active rules');
  assert.equal(await page.locator('#try-result .decision').textContent(), 'ditolak');
  assert.match(await page.locator('#try-result .verdict').textContent(), /skor 16/);
  assert.deepEqual(await page.locator('#try-result .hits li').allTextContents(), ['judol-site+12', 'wa-number+4']);
  assert.deepEqual(await page.locator('#try-result .text mark').allTextContents(), ['ZEUSJP777', '081234567890']);
  assert.equal(await page.locator('#try-result .text').textContent(), text);
  assert.deepEqual(page.problems, []);
});

test('backtest: totals and the comments that flip, was \u2192 now', async () => {
  await open();
  await page.fill('#rules-brand', 'zeusjp777');
  await page.press('#rules-brand', 'Enter');
  await page.fill('#bt-limit', '100');
  const before = api.posts.length;
  await page.click('#bt-run');
  await page.waitForSelector('#bt-result .totals');
  const [sent] = await postsAfter(before, 'rules/backtest');
  assert.equal(sent.body.limit, 100);
  assert.deepEqual(await page.locator('#bt-result .total b').allTextContents(), ['1', '3', '0']);
  const flip = page.locator('#bt-result .flip[data-id="z1"]');
  assert.deepEqual(await flip.locator('.decision').allTextContents(), ['ditahan', 'ditolak']);
  assert.equal(await flip.locator('.snippet').textContent(), 'Gas main di zeusjp777 bos');
});

test('publish needs a note; then the new version is active, listed and in the audit log', async () => {
  await open();
  await page.fill('#rules-brand', 'zeusjp777');
  await page.press('#rules-brand', 'Enter');
  await page.waitForFunction(() => /Valid/.test(document.querySelector('#rules-check').textContent));
  await page.fill('#pub-note', '');
  await page.locator('#pub-run').click();
  assert.equal(await page.inputValue('#pub-note'), '', 'the note was not filled');
  await page.fill('#pub-note', HOSTILE);
  const before = api.posts.length;
  await page.click('#pub-run');
  await page.waitForSelector('#pub-result.good');
  const [sent] = await postsAfter(before, 'rules/publish');
  assert.equal(sent.body.note, HOSTILE);
  assert.match(sent.body.files['lists/judol-sites.txt'], /\*zeusjp777\*/);
  assert.equal(await page.locator('#pub-result').textContent(), 'Versi 2 aktif (sebelumnya 1). Berlaku dalam satu detik.');
  await page.waitForSelector('.version.active[data-version="2"]');
  assert.equal(await page.locator('.version.active .v-note').textContent(), HOSTILE, 'the note is text');
  assert.equal(await page.locator('#versions img, #versions b:not(.v-num)').count(), 0);
  assert.match(await page.locator('#rules-version').textContent(), /^versi 2 \u00b7 tester/);
  // what version 2 changed against version 1
  assert.equal(await page.locator('.version[data-version="1"] [data-diff]').count(), 0, 'the first has nothing before it');
  await page.click('.version[data-version="2"] [data-diff]');
  await page.waitForSelector('.version[data-version="2"] .diff-line');
  assert.deepEqual(await page.locator('.version[data-version="2"] .diff > div').allTextContents(),
    ['lists/judol-sites.txt', '+*zeusjp777*']);
  assert.equal(await page.locator('.version[data-version="2"] [data-diff]').textContent(), 'Tutup perubahan');
  // the editor starts again from the new active version
  assert.match(await page.locator('#pub-changes').textContent(), /sama dengan versi aktif/);
  await page.keyboard.press('Escape');
  await page.keyboard.press('5');
  await page.waitForSelector('.entry');
  assert.match(await page.locator('.entry').first().textContent(), /tester.*menerbitkan aturan/);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(page.problems, []);
});

test('rollback asks on the page, needs a note, and makes the old version active', async () => {
  await open();
  assert.equal(api.rules.current().version, 2);
  await page.click('.version[data-version="1"] [data-rollback]');
  const form = page.locator('.version[data-version="1"] form.confirm');
  assert.match(await form.textContent(), /Kembalikan ke versi 1\?/);
  const before = api.posts.length;
  await form.locator('button[type="submit"]').click();
  assert.equal((await postsAfter(before, 'rules/rollback', 500)).length, 0, 'no note, nothing sent');
  await form.locator('input[name="note"]').fill('salah ketik');
  await form.locator('button[type="submit"]').click();
  const [sent] = await postsAfter(before, 'rules/rollback');
  assert.deepEqual(sent.body, { version: 1, note: 'salah ketik' });
  await page.waitForSelector('.version.active[data-version="1"]');
  assert.equal(api.rules.current().version, 1);
  assert.match(await page.locator('#pub-result').textContent(), /Versi 1 aktif lagi/);
  await page.selectOption('#rules-file', 'lists/judol-sites.txt');
  assert.doesNotMatch(await page.inputValue('#rules-text'), /zeusjp777/, 'the editor shows the old version');
  assert.deepEqual(page.problems, []);
});

test('a version someone else published meanwhile: the editor is told, and publishes only on a second click', async () => {
  await open();
  await page.fill('#rules-brand', 'zeusjp777');
  await page.press('#rules-brand', 'Enter');
  await page.waitForFunction(() => /Valid/.test(document.querySelector('#rules-check').textContent));
  const mine = api.rules.current().version;
  // another editor, in another window
  const [, other] = api.rules.post('rules/publish', { entry: 'default.rules', files: api.rules.current().files, note: 'lain' });
  assert.equal(other.ok, true);
  await page.fill('#pub-note', 'zeusjp777');
  const before = api.posts.length;
  await page.click('#pub-run');
  await page.waitForSelector('#pub-result.bad');
  assert.equal(await page.locator('#pub-result').textContent(),
    `Versi ${other.version} (tester) diterbitkan setelah draf ini dibuka dari versi ${mine}: `
    + 'menerbitkan draf akan menggantikannya. Klik lagi untuk tetap menerbitkan.');
  assert.equal(await page.locator('#pub-run').textContent(), 'Tetap terbitkan');
  assert.equal((await postsAfter(before, 'rules/publish', 300)).length, 0, 'nothing published yet');
  await page.click('#pub-run');
  const [sent] = await postsAfter(before, 'rules/publish');
  assert.match(sent.body.files['lists/judol-sites.txt'], /zeusjp777/);
  await page.waitForSelector(`.version.active[data-version="${other.version + 1}"]`);
  assert.equal(await page.locator('#pub-run').textContent(), 'Terbitkan draf');
  assert.deepEqual(page.problems, []);
});

test('6 opens the rules tab from the queue; the queue\'s keys do nothing there', async () => {
  await open();
  await page.keyboard.press('1');
  await page.waitForSelector('.card');
  assert.ok(!(await page.locator('#rules-view').isVisible()));
  await page.keyboard.press('6');
  await page.waitForSelector('#rules-view:not([hidden])');
  assert.equal(await page.evaluate(() => location.hash), '#rules');
  assert.ok(!(await page.locator('#cards').isVisible()));
  const before = api.posts.length;
  await page.keyboard.press('a');
  await page.keyboard.press('x');
  await page.waitForTimeout(4800);
  assert.deepEqual(api.posts.slice(before).filter((p) => !p.path.startsWith('rules/')), [], 'no decision was sent');
  assert.deepEqual(page.problems, []);
});

test('an unpublished draft: leaving the tab asks first, the page too', async () => {
  await open();
  await page.fill('#rules-brand', 'belumterbit');
  await page.press('#rules-brand', 'Enter');
  await page.waitForSelector('#pub-run:not([disabled])');
  // the watched page dismisses the question: the tab stays
  await page.click('#tabs [data-state="pending"]');
  assert.equal(page.problems.length, 1, page.problems.join('\n'));
  assert.match(page.problems[0], /^dialog confirm: Draf aturan belum diterbitkan: komentar pembaca masih dinilai dengan versi aktif/);
  assert.ok(await page.locator('#rules-view').isVisible());
  assert.equal(await page.evaluate(() => location.hash), '#rules');
  // the keys ask too
  await page.locator('#rules-text').blur();
  await page.keyboard.press('1');
  assert.equal(page.problems.length, 2);
  assert.ok(await page.locator('#rules-view').isVisible());
  // yes: the queue, and the draft is still there on coming back
  page.removeAllListeners('dialog');
  page.once('dialog', (d) => d.accept());
  await page.click('#tabs [data-state="pending"]');
  await page.waitForSelector('.card');
  assert.ok(!(await page.locator('#rules-view').isVisible()));
  page.on('dialog', (d) => { page.problems.push(`dialog ${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
  await page.click('#tabs [data-state="rules"]');
  await page.waitForSelector('#rules-view:not([hidden])');
  assert.match(await page.inputValue('#rules-text'), /\*?belumterbit\*?\n$/);
  // closing the page asks the browser's own question; dismissed, it stays
  page.problems.length = 0;
  await page.close({ runBeforeUnload: true });
  await page.waitForTimeout(300);
  assert.deepEqual(page.problems, ['dialog beforeunload: ']);
  assert.ok(!page.isClosed());
  // a published (or reverted) draft asks nothing
  await page.click('#rules-revert');
  page.problems.length = 0;
  await page.click('#tabs [data-state="pending"]');
  await page.waitForSelector('.card');
  assert.deepEqual(page.problems, []);
});

test('English, and a screenshot of the tab', async () => {
  await open('en');
  assert.equal(await page.locator('[data-state="rules"] span[data-t]').textContent(), 'Rules');
  assert.equal(await page.locator('#rules-head [data-sort="overturned"]').textContent(), 'Overturned');
  await page.fill('#rules-brand', 'zeusjp777');
  await page.press('#rules-brand', 'Enter');
  await page.fill('#try-text', 'Gas di zeusjp777');
  await page.click('#try-run');
  await page.waitForSelector('#try-result .verdict');
  assert.equal(await page.locator('#try-result .decision').textContent(), 'rejected');
  await page.click('.version[data-version="2"] [data-diff]');
  await page.waitForSelector('.version[data-version="2"] .diff-line');
  await page.evaluate(() => window.scrollTo(0, 0));
  console.log('# screenshot', await screenshot(page, 'rules-fake.png', true));
  assert.deepEqual(page.problems, []);
});
