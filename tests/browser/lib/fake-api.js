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

function start(comments) {
  const byId = new Map(comments.map((c) => [c.id, c]));
  const posts = [];
  const audit = [];

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
        if (api === 'bulk') {
          return json(res, 200, { results: data.ids.map((id) => act(id, data.action, 'tester')[1]) });
        }
        const m = api.match(/^comments\/([^/]+)\/(approve|reject|approve-trust|reject-block)$/);
        if (!m) return json(res, 404, { error: 'no such action' });
        const [status, result] = act(decodeURIComponent(m[1]), m[2], 'tester');
        return json(res, status, result);
      }
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
      resolve({ url: `http://127.0.0.1:${server.address().port}${PREFIX}`, posts, byId, close: () => server.close() });
    });
  });
}

module.exports = { start, comment, span };
