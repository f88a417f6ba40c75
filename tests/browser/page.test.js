// The review page against an in-memory stand-in of the admin API
// (lib/fake-api.js): highlighting by byte offsets, inert hostile fields,
// keyboard, undo, bulk, language.  review.test.js runs it on real nginx.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fake = require('./lib/fake-api');
const { launch, screenshot, opener } = require('./lib/browser');

const HOSTILE = '<script>window.__pwned = "script"</script> lihat <img src=x onerror="window.__pwned=\'img\'"> '
  + '<a href="javascript:window.__pwned=\'link\'">klik di sini</a> javascript:alert(1)';
const EMOJI = 'Wah 😀 mantap, café kami: SLOT gacor maxwin 88 hari ini';

function fixtures() {
  const now = Date.now();
  const list = [
    fake.comment({ id: 'c1', time: now - 300000, name: 'Siti Rahma', email: 'siti@example.id', text: EMOJI,
      score: 12, rules: 'gambling-terms,link-first-time', reason: 'score 12 >= 5',
      spans: [fake.span(EMOJI, 'SLOT gacor', 'gambling-terms'), fake.span(EMOJI, 'maxwin', 'gambling-terms'),
        fake.span('siti@example.id', 'example.id', 'link-url', 'email')] }),
    fake.comment({ id: 'c2', time: now - 200000, name: '<b onmouseover=alert(1)>Eve</b>', email: 'eve@example.com',
      url: 'javascript:alert(document.cookie)', text: HOSTILE, score: 6, rules: 'html-markup', ip: '10.9.8.7' }),
    fake.comment({ id: 'c3', time: now - 100000, name: 'Andi', email: 'andi@example.com', text: 'Komentar ketiga', score: 5 }),
    fake.comment({ id: 'c4', time: now - 90000, name: 'Dewi', email: 'dewi@example.com', text: 'Komentar keempat', score: 7 }),
    fake.comment({ id: 'r1', state: 'rejected', name: 'Rudi', text: 'Ditolak tadi pagi', moderator: 'editor', decided: now - 5000 }),
    fake.comment({ id: 'f1', state: 'release-failed', name: 'Fajar', text: 'Belum terkirim', error: 'backend answered 502' }),
  ];
  // many more, for paging
  for (let i = 0; i < 55; i++) {
    list.push(fake.comment({ id: `m${i}`, time: now - 50000 + i, name: `Pembaca ${i}`, email: `p${i}@example.com`, text: `Isi ${i}` }));
  }
  return list;
}

let browser, api, page, openPage;

before(async () => {
  api = await fake.start(fixtures());
  browser = await launch();
  openPage = opener(browser, { width: 1280, height: 900 });
});

after(async () => {
  if (browser) await browser.close();
  if (api) api.close();
});

async function open(lang) {
  page = await openPage(api.url, lang);
  await page.waitForSelector('.card');
  return page;
}

// waits until the stand-in received more than n POSTs
async function postsAfter(n, ms) {
  const end = Date.now() + ms;
  while (api.posts.length <= n && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 100));
  return api.posts.slice(n);
}

function cardText(id) {
  return page.locator(`.card[data-id="${id}"]`);
}

test('Indonesian by default, tabs with counts, oldest first, one page of 50', async () => {
  await open();
  assert.equal(await page.locator('[data-state="pending"] span[data-t]').textContent(), 'Menunggu');
  await page.waitForFunction(() => document.querySelector('[data-count="pending"]').textContent === '59');
  assert.equal(await page.locator('[data-count="release-failed"]').textContent(), '1');
  assert.equal(await page.locator('.card').count(), 50);
  assert.equal(await page.locator('.card').first().getAttribute('data-id'), 'c1');
  assert.match(await page.locator('#range').textContent(), /^1.50 dari 59$/);
  assert.deepEqual(page.problems, []);
});

test('matched spans are highlighted at the right characters after multi-byte text', async () => {
  await open();
  const marks = await cardText('c1').locator('.text mark').allTextContents();
  assert.deepEqual(marks, ['SLOT gacor', 'maxwin']);
  assert.equal(await cardText('c1').locator('.text').textContent(), EMOJI);
  assert.equal(await cardText('c1').locator('.text mark').first().getAttribute('title'), 'gambling-terms');
  assert.deepEqual(await cardText('c1').locator('.email mark').allTextContents(), ['example.id']);
  assert.deepEqual(await cardText('c1').locator('.name mark').allTextContents(), [], 'a span of another field');
});

test('a hostile comment is shown as inert text', async () => {
  await open();
  const c = cardText('c2');
  assert.equal(await c.locator('.text').textContent(), HOSTILE);
  assert.equal(await c.locator('.name').textContent(), '<b onmouseover=alert(1)>Eve</b>');
  assert.equal(await c.locator('.url code').textContent(), 'javascript:alert(document.cookie)');
  assert.equal(await c.locator('script, img, a, b, iframe').count(), 0);
  await c.locator('.text').hover();
  await c.locator('.name').hover();
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(page.problems, []);
});

test('j/k move, a approves after the undo time with the CSRF token', async () => {
  await open();
  await page.keyboard.press('j');
  await page.keyboard.press('j');
  await page.keyboard.press('k');
  assert.equal(await page.locator('.card.cur').getAttribute('data-id'), 'c2');
  const before = api.posts.length;
  await page.keyboard.press('a');
  assert.equal(await cardText('c2').count(), 0, 'the decided card leaves the list at once');
  assert.match(await page.locator('#toast-text').textContent(), /^Disetujui/);
  await page.waitForTimeout(2500);
  assert.equal(api.posts.length, before, 'nothing is sent while it can be undone');
  assert.deepEqual(await postsAfter(before, 4000), [{ path: 'comments/c2/approve', body: {} }]);
  assert.equal(api.byId.get('c2').state, 'approved');
  assert.equal(await page.locator('.card.cur').getAttribute('data-id'), 'c3', 'the cursor moves to the next one');
});

test('u undoes a decision: nothing is sent and the card comes back', async () => {
  await open();
  const before = api.posts.length;
  await page.keyboard.press('r');
  assert.equal(await cardText('c1').count(), 0);
  await page.keyboard.press('u');
  assert.equal(await cardText('c1').count(), 1);
  assert.equal(await page.locator('.card.cur').getAttribute('data-id'), 'c1');
  await page.waitForTimeout(4800);
  assert.equal(api.posts.length, before);
  assert.equal(api.byId.get('c1').state, 'pending');
  // the toast's own button too
  await page.keyboard.press('r');
  await page.click('#undo');
  await page.waitForTimeout(4500);
  assert.equal(api.posts.length, before);
});

test('x selects, shift-A approves the selection in one bulk call', async () => {
  await open();
  await page.keyboard.press('j');
  await page.keyboard.press('x');
  await page.keyboard.press('j');
  await page.keyboard.press('x');
  assert.match(await page.locator('#bulk-count').textContent(), /^2 terpilih$/);
  const ids = await page.locator('.card.selected').evaluateAll((n) => n.map((x) => x.dataset.id));
  const before = api.posts.length;
  await page.keyboard.press('Shift+A');
  assert.deepEqual(await postsAfter(before, 6000), [{ path: 'bulk', body: { action: 'approve', ids } }]);
  for (const id of ids) assert.equal(api.byId.get(id).state, 'approved');
});

test('? shows the keys, Esc closes; / focuses the search, which filters', async () => {
  await open();
  await page.keyboard.press('?');
  assert.ok(await page.locator('#help').isVisible());
  const keys = await page.locator('#keys dt').allTextContents();
  for (const k of ['jk', 'a', 'r', 'x', 'Shift A', 'Shift R', 'u', '?']) assert.ok(keys.includes(k), k);
  await page.keyboard.press('Escape');
  assert.ok(!(await page.locator('#help').isVisible()));
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'q');
  await page.keyboard.type('ISI 54');
  await page.waitForFunction(() => document.querySelectorAll('.card').length === 1);
  assert.equal(await page.locator('.card').getAttribute('data-id'), 'm54');
});

test('rejected tab offers approve as the way back; release-failed shows the error', async () => {
  await open();
  await page.keyboard.press('2');
  await page.waitForSelector('.card[data-id="r1"]');
  assert.deepEqual(await page.locator('.card .actions [data-act]').evaluateAll((n) => n.map((b) => b.dataset.act)),
    ['approve', 'approve-trust', 'history']);
  await page.keyboard.press('3');
  await page.keyboard.press('4');
  await page.waitForSelector('.card[data-id="f1"]');
  assert.match(await page.locator('.card .error').textContent(), /backend answered 502/);
});

test('the audit log lists the decisions, newest first', async () => {
  await open();
  await page.keyboard.press('5');
  await page.waitForSelector('.entry');
  const first = await page.locator('.entry').first().textContent();
  assert.match(first, /tester/);
  assert.match(first, /menyetujui/);
  assert.match(first, /Menunggu \u2192 Disetujui/);
  assert.equal(await page.evaluate(() => location.hash), '#audit');
});

test('history on demand, paging with n/p', async () => {
  await open();
  await page.keyboard.press('h');
  await page.waitForSelector('.card.cur .history .stats');
  assert.match(await page.locator('.card.cur .history').textContent(), /gambling-terms\+3/);
  await page.keyboard.press('n');
  await page.waitForFunction(() => /^51/.test(document.querySelector('#range').textContent));
  await page.keyboard.press('p');
  await page.waitForFunction(() => /^1\u2013/.test(document.querySelector('#range').textContent));
});

test('English switch, remembered across reloads', async () => {
  await open();
  await page.click('#lang');
  assert.equal(await page.locator('[data-state="pending"] span[data-t]').textContent(), 'Pending');
  await page.reload();
  await page.waitForSelector('.card');
  assert.equal(await page.locator('[data-state="pending"] span[data-t]').textContent(), 'Pending');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  console.log('# screenshot', await screenshot(page, 'page-en.png'));
  assert.deepEqual(page.problems, []);
});
