// A stand-in for the module's admin API (docs/admin-api.md), in memory, for
// the page tests that need comments the rules would not produce (spans over
// multi-byte text, many pages, release errors).  It serves the page from
// ngx_module/admin/ as the module does, under /moderation/.
'use strict';

const http = require('http');
const fs = require('fs');
const path = require('path');

const ADMIN = path.join(__dirname, '..', '..', '..', 'ngx_module', 'admin');
const TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };
const PREFIX = '/moderation/';
const CSRF = 'fake-csrf-token';

// byte offsets of the first occurrence of needle in the UTF-8 of text
function span(text, needle, rule, field) {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`fake-api: ${needle} not in ${text}`);
  const start = Buffer.byteLength(text.slice(0, at));
  return { rule, field: field || 'text', start, end: start + Buffer.byteLength(needle) };
}

function comment(fields) {
  return Object.assign({
    state: 'pending', time: Date.now() - 60000, article: '1', name: 'Budi', email: 'budi@example.com',
    url: '', ip: '127.0.0.1', text: '', score: 5, rules: '', reason: 'score 5 >= 5', spans: [],
    error: '', moderator: '', decided: 0,
  }, fields);
}

// --- the editors' rules, a stand-in (docs/admin-api.md, "Editors: rules") ---
//
// Its "compiler" knows only what the page tests need: a rule file's regex
// must compile as a JavaScript RegExp (the error names FILE:LINE as the
// module's does), and the words of lists/*.txt are looked for in the text.

const RULES_FILES = {
  'default.rules': 'threshold queue 5\nthreshold reject 10\n\ninclude judol.rules\n',
  'judol.rules': '# gambling\n\nrule judol-site\n    words-file lists/judol-sites.txt\n    score 12\n'
    + '    note "A known site name."\n\nrule wa-number regex "08[0-9]{8,12}" score 4\n'
    + 'rule judol-bonus words "bonus harian" score 6 shadow\n',
  'lists/judol-sites.txt': '# one per line\n*pulauwin*\n*tupaiwin*\n',
};

// what the stand-in's rules find in text: [{rule, start, end}] in bytes
function fakeMatches(files, text) {
  const found = [];
  const lower = text.toLowerCase();
  for (const [name, body] of Object.entries(files)) {
    if (!name.endsWith('.txt')) continue;
    for (const line of body.split('\n')) {
      const word = line.trim().replace(/^\*|\*$/g, '');
      if (!word || word.startsWith('#')) continue;
      const at = lower.indexOf(word);
      if (at >= 0) found.push({ rule: 'judol-site', score: 12, ...span(text, text.slice(at, at + word.length), 'judol-site') });
    }
  }
  const wa = /08[0-9]{8,12}/.exec(text);
  if (wa) found.push({ rule: 'wa-number', score: 4, ...span(text, wa[0], 'wa-number') });
  return found;
}

function fakeCheck(draft) {
  const files = (draft && draft.files) || {};
  const entry = (draft && draft.entry) || 'default.rules';
  if (!(entry in files)) return { ok: false, error: `${entry}: no such file in the draft` };
  let rules = 0;
  for (const [name, body] of Object.entries(files)) {
    if (!name.endsWith('.rules')) continue;
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (/^rule\s/.test(lines[i])) rules += 1;
      const m = /regex "((?:[^"\\]|\\.)*)"/.exec(lines[i]);
      if (!m) continue;
      try {
        new RegExp(m[1]);
      } catch (e) {
        return { ok: false, error: `${name}:${i + 1}: regex "${m[1]}": ${e.message.replace(/^Invalid regular expression: /, '')}` };
      }
    }
  }
  return { ok: true, rules };
}

function decisionOf(score) {
  return score >= 10 ? 'reject' : score >= 5 ? 'queue' : 'accept';
}

function rulesApi(byId, audit) {
  const versions = [{ version: 1, author: 'demo', note: 'shipped rules', time: Math.floor(Date.now() / 1000) - 86400,
    entry: 'default.rules', files: { ...RULES_FILES } }];
  let active = 1;
  const current = () => versions.find((v) => v.version === active);
  // hits per rule, as GET api/rules reports them
  const counts = [
    { rule: 'judol-site', hour: 31, day: 140, week: 700, overturned: 1 },
    { rule: 'wa-number', hour: 0, day: 0, week: 0, overturned: 0 },
    { rule: 'judol-bonus', hour: 2, day: 5, week: 9, overturned: 0 },
  ];

  function get(api, query) {
    if (api === 'rules') {
      const v = current();
      const rules = [];
      for (const [file, body] of Object.entries(v.files)) {
        body.split('\n').forEach((line, i) => {
          const m = /^rule\s+(\S+)/.exec(line);
          if (!m) return;
          rules.push({ name: m[1], kind: /regex/.test(line) ? 'regex' : 'words', effect: /score 4/.test(line) ? 'score 4' : 'score 12',
            note: m[1] === 'judol-site' ? 'A known site name.' : '', shadow: /\sshadow$/.test(line), file, line: i + 1 });
        });
      }
      return [200, { version: active, rules, counts }];
    }
    if (api === 'rules/source') {
      const v = current();
      return [200, { version: v.version, author: v.author, note: v.note, time: v.time, entry: v.entry, files: v.files }];
    }
    if (api === 'rules/diff') {
      const [a, b] = ['from', 'to'].map((k) => versions.find((v) => v.version === Number(query.get(k))));
      if (!a || !b) return [404, { error: 'no such version' }];
      const files = [];
      for (const file of [...new Set([...Object.keys(a.files), ...Object.keys(b.files)])].sort()) {
        const was = (a.files[file] || '').split('\n');
        const now = (b.files[file] || '').split('\n');
        const added = now.filter((l) => !was.includes(l));
        const removed = was.filter((l) => !now.includes(l));
        if (!added.length && !removed.length) continue;
        files.push({ file, added, removed, ...(file in a.files ? {} : { new: true }), ...(file in b.files ? {} : { gone: true }) });
      }
      return [200, { from: a.version, to: b.version, files }];
    }
    if (api === 'rules/versions') {
      return [200, { active, versions: versions.slice().reverse().map((v) => ({
        version: v.version, author: v.author, note: v.note, time: v.time, entry: v.entry, files: Object.keys(v.files).length,
      })) }];
    }
    return null;
  }

  function post(api, data) {
    if (api === 'rules/check') return [200, fakeCheck(data)];
    if (api === 'rules/try') {
      const c = fakeCheck(data);
      if (!c.ok) return [200, c];
      const found = fakeMatches(data.files, data.text || '');
      const score = found.reduce((n, f) => n + f.score, 0);
      const hits = [...new Set(found.map((f) => f.rule))].map((rule) => ({ rule,
        contribution: found.filter((f) => f.rule === rule).reduce((n, f) => n + f.score, 0) }));
      return [200, { ok: true, decision: decisionOf(score), reason: `score ${score}`, score,
        folded: (data.text || '').toLowerCase(), hits, spans: found.map(({ rule, field, start, end }) => ({ rule, field, start, end })) }];
    }
    if (api === 'rules/backtest') {
      const c = fakeCheck(data);
      if (!c.ok) return [200, c];
      const all = [...byId.values()].slice(0, data.limit || 500);
      let agree = 0;
      const flips = [];
      for (const x of all) {
        const was = decisionOf(x.score);
        const now = decisionOf(fakeMatches(data.files, x.text).reduce((n, f) => n + f.score, 0) || x.score);
        const end = x.state === 'approved' ? ['accept'] : ['queue', 'reject'];
        if (end.includes(now)) agree += 1;
        if (now !== was) flips.push({ id: x.id, state: x.state, moderator: x.moderator, was, now, text: x.text, rules: x.rules });
      }
      return [200, { ok: true, total: all.length, changed: flips.length, agree, disagree: all.length - agree, comments: flips }];
    }
    if (api === 'rules/publish') {
      if (!data.note) return [400, { ok: false, error: 'a note is required' }];
      const c = fakeCheck(data);
      if (!c.ok) return [400, c];
      const previous = active;
      active = versions.length + 1;
      versions.push({ version: active, author: 'tester', note: data.note, time: Math.floor(Date.now() / 1000),
        entry: data.entry || 'default.rules', files: { ...data.files } });
      audit.unshift({ time: Date.now(), who: 'tester', action: 'publish', id: String(active), from: '', to: '', note: data.note });
      return [200, { ok: true, version: active, previous }];
    }
    if (api === 'rules/rollback') {
      if (!versions.some((v) => v.version === data.version)) return [404, { ok: false, error: 'no such version' }];
      if (!data.note) return [400, { ok: false, error: 'a note is required' }];
      const previous = active;
      active = data.version;
      audit.unshift({ time: Date.now(), who: 'tester', action: 'rollback', id: String(active), from: '', to: '', note: data.note });
      return [200, { ok: true, version: active, previous }];
    }
    return null;
  }

  return { get, post, versions, current };
}

function start(comments) {
  const byId = new Map(comments.map((c) => [c.id, c]));
  const posts = [];
  const audit = [];
  const rules = rulesApi(byId, audit);

  function json(res, status, data) {
    const body = Buffer.from(JSON.stringify(data));
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  }

  function act(id, action, user) {
    const c = byId.get(id);
    if (!c) return [404, { id, ok: false, state: '', from: '', status: 0, error: 'no such comment' }];
    const approve = action.startsWith('approve');
    const from = c.state;
    const ok = approve ? ['pending', 'rejected', 'release-failed'].includes(from)
      : ['pending', 'release-failed'].includes(from);
    if (!ok) return [409, { id, ok: false, state: from, from, status: 0, error: `already ${from}` }];
    c.state = approve ? 'approved' : 'rejected';
    c.moderator = user;
    c.decided = Date.now();
    audit.unshift({ time: c.decided, who: user, action, id, from, to: c.state, note: '' });
    return [200, { id, ok: true, state: c.state, from, status: approve ? 201 : 0, error: '' }];
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (!url.pathname.startsWith(PREFIX)) return json(res, 404, { error: 'not here' });
    const rest = url.pathname.slice(PREFIX.length);
    if (!rest.startsWith('api/')) {
      const file = rest === '' ? 'index.html' : rest;
      if (!/^[a-z.-]+$/.test(file) || !fs.existsSync(path.join(ADMIN, file))) return json(res, 404, { error: 'no page' });
      const body = fs.readFileSync(path.join(ADMIN, file));
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
      return res.end(body);
    }
    const api = rest.slice(4);
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.method === 'POST') {
        if (req.headers['x-csrf-token'] !== CSRF) return json(res, 403, { error: 'bad CSRF token' });
        const data = body ? JSON.parse(body) : {};
        posts.push({ path: api, body: data });
        const ruled = rules.post(api, data);
        if (ruled) return json(res, ruled[0], ruled[1]);
        if (api === 'bulk') {
          return json(res, 200, { results: data.ids.map((id) => act(id, data.action, 'tester')[1]) });
        }
        const m = api.match(/^comments\/([^/]+)\/(approve|reject|approve-trust|reject-block)$/);
        if (!m) return json(res, 404, { error: 'no such action' });
        const [status, result] = act(decodeURIComponent(m[1]), m[2], 'tester');
        return json(res, status, result);
      }
      const ruled = rules.get(api, url.searchParams);
      if (ruled) return json(res, ruled[0], ruled[1]);
      if (api.startsWith('audit')) return json(res, 200, { total: audit.length, entries: audit.slice(0, 50) });
      if (api === 'session') return json(res, 200, { user: 'tester', csrf: CSRF });
      if (api === 'counts') {
        const n = { pending: 0, rejected: 0, approved: 0, 'release-failed': 0 };
        for (const c of byId.values()) n[c.state] += 1;
        return json(res, 200, n);
      }
      if (api === 'comments') {
        const q = url.searchParams;
        let list = [...byId.values()].filter((c) => c.state === (q.get('state') || 'pending'));
        const text = (q.get('q') || '').toLowerCase();
        if (text) list = list.filter((c) => c.text.toLowerCase().includes(text));
        if (q.get('rule')) list = list.filter((c) => c.rules.split(',').includes(q.get('rule')));
        if (q.get('author')) {
          const a = q.get('author').toLowerCase();
          list = list.filter((c) => c.name.toLowerCase() === a || c.email.toLowerCase() === a);
        }
        if (q.get('ip')) list = list.filter((c) => c.ip === q.get('ip'));
        if (q.get('article')) list = list.filter((c) => c.article === q.get('article'));
        const order = q.get('order') || 'oldest';
        list.sort((a, b) => (order === 'score' ? b.score - a.score : 0)
          || (order === 'newest' ? b.time - a.time : a.time - b.time));
        const offset = Number(q.get('offset') || 0);
        const limit = Math.min(Number(q.get('limit') || 50), 200);
        return json(res, 200, { state: q.get('state'), total: list.length, offset, comments: list.slice(offset, offset + limit) });
      }
      const m = api.match(/^comments\/([^/]+)$/);
      if (m && byId.has(decodeURIComponent(m[1]))) {
        const c = byId.get(decodeURIComponent(m[1]));
        const mine = [...byId.values()].filter((x) => x.email === c.email);
        return json(res, 200, Object.assign({}, c, {
          folded: c.text.toLowerCase(), version: 1, user_agent: 'Mozilla/5.0', referer: '', method: 'POST',
          uri: '/comments', content_type: 'application/x-www-form-urlencoded',
          hits: c.rules.split(',').filter(Boolean).map((r) => ({ rule: r, contribution: 3 })),
          history: {
            author: { seen: mine.length, accepted: 0, queued: mine.length, approved: 0, rejected: 0, trusted: 0, blocked: 0, recent: mine },
            address: { seen: 1, recent: {} },
          },
        }));
      }
      return json(res, 404, { error: 'not found' });
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}${PREFIX}`, posts, byId, rules, close: () => server.close() });
    });
  });
}

module.exports = { start, comment, span };
