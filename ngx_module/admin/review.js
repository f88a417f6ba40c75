/*
 * The moderators' review page (docs/admin-api.md is its contract).
 *
 * Every value that comes from a comment is put on the page as text
 * (textContent, createTextNode): never as markup, never as a live link.
 * A decision waits UNDO_MS with an "undo" toast before it is sent.
 */
(function () {
  'use strict';

  var UNDO_MS = 4000;
  var POLL_MS = 5000;
  var PAGE_SIZE = 50;
  var STATES = ['pending', 'rejected', 'approved', 'release-failed'];
  // the tabs: the states, the audit log (who did what, newest first), the
  // editors' rules (rules.js)
  var TABS = STATES.concat(['audit', 'rules']);
  var FILTERS = ['q', 'author', 'ip', 'article', 'rule'];

  // --- words ---------------------------------------------------------------

  // each phrase in Indonesian, then English
  var WORDS = {
    'title': ['Moderasi komentar', 'Comment moderation'],
    'tab.pending': ['Menunggu', 'Pending'],
    'tab.rejected': ['Ditolak', 'Rejected'],
    'tab.approved': ['Disetujui', 'Approved'],
    'tab.release-failed': ['Gagal terkirim', 'Release failed'],
    'tab.audit': ['Jejak audit', 'Audit log'],
    'act.approve': ['menyetujui', 'approved'], 'act.reject': ['menolak', 'rejected'],
    'act.approve-trust': ['menyetujui dan memercayai', 'approved and trusted'],
    'act.reject-block': ['menolak dan memblokir', 'rejected and blocked'],
    'act.release-failed': ['gagal mengirim', 'release failed'],
    'act.publish': ['menerbitkan aturan', 'published rules'],
    'act.rollback': ['mengembalikan aturan', 'rolled back rules'],
    'filter.q': ['Cari teks komentar', 'Search comment text'],
    'filter.author': ['Penulis (nama/email)', 'Author (name/e-mail)'],
    'filter.ip': ['Alamat IP', 'IP address'],
    'filter.article': ['Artikel', 'Article'],
    'filter.rule': ['Aturan', 'Rule'],
    'filter.clear': ['Hapus filter', 'Clear filters'],
    'order.oldest': ['Terlama dulu', 'Oldest first'],
    'order.newest': ['Terbaru dulu', 'Newest first'],
    'order.score': ['Skor tertinggi', 'Highest score'],
    'select.all': ['Pilih semua', 'Select all'],
    'selected': ['{n} terpilih', '{n} selected'],
    'bulk.approve': ['Setujui terpilih', 'Approve selected'],
    'bulk.reject': ['Tolak terpilih', 'Reject selected'],
    'page.prev': ['\u2190 Sebelumnya', '\u2190 Previous'],
    'page.next': ['Berikutnya \u2192', 'Next \u2192'],
    'range': ['{from}\u2013{to} dari {total}', '{from}\u2013{to} of {total}'],
    'range.none': ['0 komentar', '0 comments'],
    'fresh': ['Ada perubahan \u2014 muat ulang (g)', 'Changed \u2014 reload (g)'],
    'undo': ['Urungkan (u)', 'Undo (u)'],
    'help.open': ['Pintasan', 'Shortcuts'],
    'help.title': ['Pintasan papan ketik', 'Keyboard shortcuts'],
    'help.close': ['Tekan Esc atau ? untuk menutup.', 'Press Esc or ? to close.'],
    'loading': ['Memuat\u2026', 'Loading\u2026'],
    'empty': ['Tidak ada komentar di sini.', 'No comments here.'],
    'empty.filtered': ['Tidak ada komentar yang cocok dengan filter.', 'No comments match the filters.'],
    'error.load': ['Gagal memuat: {e}', 'Could not load: {e}'],
    'error.login': ['Sesi berakhir: muat ulang halaman untuk masuk lagi.', 'Session ended: reload the page to log in again.'],
    'score': ['skor {n}', 'score {n}'],
    'article': ['artikel {a}', 'article {a}'],
    'section': ['rubrik {s}', 'section {s}'],
    'reason': ['Alasan', 'Reason'],
    'release.error': ['Gagal dikirim ke situs', 'Could not be delivered to the site'],
    'decided': ['{who} \u00b7 {when}', '{who} \u00b7 {when}'],
    'a.approve': ['Setujui', 'Approve'],
    'a.reject': ['Tolak', 'Reject'],
    'a.approve-trust': ['Setujui + percayai', 'Approve + trust'],
    'a.reject-block': ['Tolak + blokir 24 jam', 'Reject + block 24 h'],
    'a.retry': ['Kirim ulang', 'Retry release'],
    'a.history': ['Riwayat', 'History'],
    'a.makerule': ['Buat aturan dari ini', 'Make a rule from this'],
    'h.section': ['Rubrik', 'Section'],
    'a.hide': ['Tutup riwayat', 'Hide history'],
    'done.approve': ['Disetujui', 'Approved'],
    'done.reject': ['Ditolak', 'Rejected'],
    'done.approve-trust': ['Disetujui, penulis dipercaya', 'Approved, author trusted'],
    'done.reject-block': ['Ditolak, penulis diblokir 24 jam', 'Rejected, author blocked for 24 h'],
    'done.n': ['{what}: {n} komentar', '{what}: {n} comments'],
    'failed': ['Tidak berhasil ({id}): {e}', 'Did not work ({id}): {e}'],
    'sent': ['Terkirim: {what}', 'Sent: {what}'],
    'not.here': ['Tindakan ini tidak berlaku di tab ini', 'That action does not apply in this tab'],
    'h.author': ['Penulis', 'Author'],
    'h.address': ['Alamat', 'Address'],
    'h.rules': ['Aturan yang cocok', 'Matched rules'],
    'h.seen': ['dilihat', 'seen'],
    'h.accepted': ['diterima', 'accepted'],
    'h.queued': ['ditahan', 'held'],
    'h.approved': ['disetujui', 'approved'],
    'h.rejected': ['ditolak', 'rejected'],
    'h.trusted': ['dipercaya', 'trusted'],
    'h.blocked': ['diblokir', 'blocked'],
    'h.recent': ['Komentar terakhir', 'Latest comments'],
    'h.none': ['Belum ada riwayat', 'No history yet'],
    'h.meta': ['Rincian', 'Details'],
    'h.folded': ['Teks dinormalkan', 'Normalized text'],
    'h.version': ['versi aturan', 'rule set version'],
    'h.agent': ['peramban', 'browser'],
    'h.request': ['permintaan', 'request'],
    'noname': ['(tanpa nama)', '(no name)'],
    'link': ['tautan (tidak aktif)', 'link (inactive)'],
    'k.jk': ['komentar berikut / sebelumnya', 'next / previous comment'],
    'k.a': ['setujui', 'approve'],
    'k.r': ['tolak', 'reject'],
    'k.t': ['setujui dan percayai penulis', 'approve and trust the author'],
    'k.b': ['tolak dan blokir penulis 24 jam', 'reject and block the author for 24 h'],
    'k.x': ['pilih / batal pilih', 'select / unselect'],
    'k.X': ['pilih semua di halaman ini', 'select all on this page'],
    'k.A': ['setujui yang terpilih', 'approve the selection'],
    'k.R': ['tolak yang terpilih', 'reject the selection'],
    'k.u': ['urungkan keputusan terakhir (selama 4 detik)', 'undo the last decision (for 4 seconds)'],
    'k.h': ['riwayat penulis dan rincian', 'author history and details'],
    'k.np': ['halaman berikut / sebelumnya', 'next / previous page'],
    'k.14': ['pindah tab (5: jejak audit, 6: aturan)', 'switch tab (5: audit log, 6: rules)'],
    'k.g': ['muat ulang daftar', 'reload the list'],
    'k.slash': ['cari', 'search'],
    'k.esc': ['tutup / batalkan pilihan / keluar dari kolom', 'close / clear selection / leave a field'],
    'k.help': ['tampilkan pintasan ini', 'show these shortcuts'],
    'ago.now': ['baru saja', 'just now']
  };

  var KEYS = [
    ['j  k', 'k.jk'], ['a', 'k.a'], ['r', 'k.r'], ['t', 'k.t'], ['b', 'k.b'],
    ['x', 'k.x'], ['Shift X', 'k.X'], ['Shift A', 'k.A'], ['Shift R', 'k.R'],
    ['u', 'k.u'], ['h  Enter', 'k.h'], ['n  p', 'k.np'], ['1 \u2013 6', 'k.14'],
    ['g', 'k.g'], ['/', 'k.slash'], ['Esc', 'k.esc'], ['?', 'k.help']
  ];

  var lang = 'id';
  try { lang = localStorage.getItem('cm-review-lang') === 'en' ? 'en' : 'id'; } catch (e) { /* private mode */ }

  function t(key, args) {
    var s = WORDS[key] ? WORDS[key][lang === 'en' ? 1 : 0] : key;
    if (args) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        return name in args ? String(args[name]) : m;
      });
    }
    return s;
  }

  // --- small helpers -------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function str(v) { return v === undefined || v === null ? '' : String(v); }
  function list(v) { return Array.isArray(v) ? v : []; }

  var dateFmt = {};
  function fmtTime(ms) {
    if (!ms) { return ''; }
    var f = dateFmt[lang];
    if (!f) {
      f = dateFmt[lang] = new Intl.DateTimeFormat(lang === 'id' ? 'id-ID' : 'en-GB',
        { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });
    }
    return f.format(new Date(ms));
  }

  function ago(ms) {
    if (!ms) { return ''; }
    var s = Math.round((Date.now() - ms) / 1000);
    if (s < 45) { return t('ago.now'); }
    var rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto', style: 'short' });
    if (s < 3600) { return rtf.format(-Math.round(s / 60), 'minute'); }
    if (s < 86400) { return rtf.format(-Math.round(s / 3600), 'hour'); }
    return rtf.format(-Math.round(s / 86400), 'day');
  }

  // --- highlighting: byte offsets of the raw UTF-8 value to characters -----

  // Maps byte offsets into the UTF-8 encoding of s to UTF-16 indexes of s.
  // An offset inside a character counts as that character's start.
  function byteIndex(s) {
    var map = [];            // map[byte] for every character boundary
    var b = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      map[b] = i;
      if (c < 0x80) { b += 1; } else if (c < 0x800) { b += 2; } else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
        b += 4; i++;         // a surrogate pair: one 4-byte character
      } else { b += 3; }
    }
    map[b] = s.length;
    return function (off, roundUp) {
      off = Math.max(0, Math.min(off | 0, b));
      while (map[off] === undefined) { off += roundUp ? 1 : -1; }
      return map[off];
    };
  }

  // spans of one field as [{start, end, rules}] in characters, not overlapping
  function fieldRanges(value, spans, field) {
    var at = null, marks = [];
    list(spans).forEach(function (sp) {
      var f, s, e, r;
      if (Array.isArray(sp)) { f = sp[0]; s = sp[1]; e = sp[2]; r = sp[3]; } else if (sp && typeof sp === 'object') {
        f = sp.field; s = sp.start; e = sp.end; r = sp.rule;
      }
      if ((f || 'text') !== field || typeof s !== 'number' || typeof e !== 'number' || e <= s) { return; }
      if (!at) { at = byteIndex(value); }
      var cs = at(s, false), ce = at(e, true);
      if (ce > cs) { marks.push({ start: cs, end: ce, rule: str(r) }); }
    });
    if (!marks.length) { return []; }
    var cuts = [];
    marks.forEach(function (m) { cuts.push(m.start, m.end); });
    cuts.sort(function (x, y) { return x - y; });
    var out = [];
    for (var i = 0; i + 1 < cuts.length; i++) {
      var a = cuts[i], z = cuts[i + 1];
      if (a === z) { continue; }
      var rules = [];
      marks.forEach(function (m) {
        if (m.start <= a && m.end >= z && m.rule && rules.indexOf(m.rule) < 0) { rules.push(m.rule); }
      });
      var covered = marks.some(function (m) { return m.start <= a && m.end >= z; });
      if (!covered) { continue; }
      var last = out[out.length - 1];
      if (last && last.end === a && last.rules.join() === rules.join()) { last.end = z; } else {
        out.push({ start: a, end: z, rules: rules });
      }
    }
    return out;
  }

  // fills node with value as text, the matched parts in <mark>
  function highlighted(node, value, spans, field) {
    value = str(value);
    var pos = 0;
    fieldRanges(value, spans, field).forEach(function (r) {
      if (r.start > pos) { node.appendChild(document.createTextNode(value.slice(pos, r.start))); }
      var m = el('mark', null, value.slice(r.start, r.end));
      if (r.rules.length) { m.title = r.rules.join(', '); }
      node.appendChild(m);
      pos = r.end;
    });
    if (pos < value.length) { node.appendChild(document.createTextNode(value.slice(pos))); }
    return node;
  }

  // --- the API ---------------------------------------------------------------

  var session = { user: '', csrf: '' };
  var loggedOut = false;

  function ApiError(status, message) { this.status = status; this.message = message; }

  function api(path, opts) {
    opts = opts || {};
    var init = { method: opts.method || 'GET', credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store' };
    if (init.method === 'POST') {
      init.headers['Content-Type'] = 'application/json';
      init.headers['X-CSRF-Token'] = session.csrf;
      init.body = JSON.stringify(opts.body || {});
      if (opts.keepalive) { init.keepalive = true; }
    }
    return fetch('api/' + path, init).then(function (res) {
      return res.text().then(function (body) {
        var data = null;
        try { data = body ? JSON.parse(body) : null; } catch (e) { data = null; }
        if (res.status === 401) { showLoggedOut(); }
        // the action's own answer (409: no longer applies) is a result
        if (res.ok || (data && typeof data.ok === 'boolean')) { return { status: res.status, data: data || {} }; }
        throw new ApiError(res.status, (data && data.error) || ('HTTP ' + res.status));
      });
    });
  }

  // POST, fetching a new CSRF token once if the session's one was refused
  function post(path, body, keepalive) {
    return api(path, { method: 'POST', body: body, keepalive: keepalive }).catch(function (err) {
      if (!(err instanceof ApiError) || err.status !== 403 || keepalive) { throw err; }
      return loadSession().then(function () {
        return api(path, { method: 'POST', body: body });
      });
    });
  }

  function loadSession() {
    return api('session').then(function (r) {
      session.user = str(r.data.user);
      session.csrf = str(r.data.csrf);
      $('user').textContent = session.user;
    });
  }

  function showLoggedOut() {
    loggedOut = true;
    setStatus(t('error.login'), true);
  }

  // --- the view's state --------------------------------------------------------

  var view = {
    state: 'pending', order: 'oldest', offset: 0, filters: {},
    items: [],               // the comments shown, in order
    total: 0, cursor: 0,
    selected: {},            // id -> true
    open: {},                // id -> true when the history panel is open
    counts: null, seq: 0
  };

  function readHash() {
    var h = location.hash.slice(1);
    if (TABS.indexOf(h) >= 0) { view.state = h; }
  }

  // --- counts --------------------------------------------------------------

  function pollCounts() {
    if (document.hidden || loggedOut) { return Promise.resolve(); }
    return api('counts').then(function (r) {
      view.counts = r.data;
      renderCounts();
      var n = r.data[view.state];
      if (typeof n === 'number' && n > 0 && !view.items.length && !view.loading && !waiting.length &&
          !hasFilters() && view.offset === 0) {
        load();
        return;
      }
      $('fresh').hidden = !(typeof n === 'number' && n !== view.total + pendingIn(view.state) &&
                            !hasFilters() && !view.loading);
    }).catch(function () { /* the next poll tries again */ });
  }

  // the counts as the server last said, less the decisions about to leave
  function renderCounts() {
    var counts = view.counts || {};
    STATES.forEach(function (s) {
      var n = counts[s];
      var node = document.querySelector('[data-count="' + s + '"]');
      if (typeof n === 'number') { n = Math.max(0, n - pendingIn(s)); }
      node.textContent = typeof n === 'number' ? n.toLocaleString(lang) : '\u00b7';
      if (s === 'release-failed') { node.classList.toggle('alert', n > 0); }
    });
  }

  function hasFilters() {
    return FILTERS.some(function (f) { return view.filters[f]; });
  }

  // --- the list ------------------------------------------------------------

  function listQuery() {
    if (view.state === 'audit') { return 'audit?offset=' + view.offset + '&limit=' + PAGE_SIZE; }
    var p = ['state=' + encodeURIComponent(view.state), 'order=' + view.order,
             'offset=' + view.offset, 'limit=' + PAGE_SIZE];
    FILTERS.forEach(function (f) {
      if (view.filters[f]) { p.push(f + '=' + encodeURIComponent(view.filters[f])); }
    });
    return 'comments?' + p.join('&');
  }

  function load(keepCursor) {
    var seq = ++view.seq;
    if (view.state === 'rules') {
      view.items = [];
      view.total = 0;
      setStatus('');
      return rulesPanel ? rulesPanel.show() : Promise.resolve();
    }
    var cursorId = keepCursor && view.items[view.cursor] ? view.items[view.cursor].id : null;
    view.loading = true;
    setStatus(t('loading'));
    return api(listQuery()).then(function (r) {
      if (seq !== view.seq) { return; }
      view.loading = false;
      // comments whose decision waits for its undo time stay off the list
      var hidden = pendingIds();
      var got = view.state === 'audit' ? list(r.data.entries) : list(r.data.comments);
      view.items = view.state === 'audit' ? got
        : got.filter(function (c) { return c && !hidden[c.id]; });
      view.total = (typeof r.data.total === 'number' ? r.data.total : got.length) -
                   (got.length - view.items.length);
      view.cursor = 0;
      if (cursorId) {
        view.items.forEach(function (c, i) { if (c.id === cursorId) { view.cursor = i; } });
      }
      var keep = {};
      view.items.forEach(function (c) { if (view.selected[c.id]) { keep[c.id] = true; } });
      view.selected = keep;
      $('fresh').hidden = true;
      render();
      setStatus('');
    }).catch(function (err) {
      if (seq !== view.seq) { return; }
      view.loading = false;
      if (!loggedOut) { setStatus(t('error.load', { e: err.message || err }), true); }
    });
  }

  function setStatus(text, bad) {
    var s = $('status');
    s.textContent = text;
    s.classList.toggle('bad', !!bad);
  }

  function render() {
    var ol = $('cards');
    var frag = document.createDocumentFragment();
    var make = view.state === 'audit' ? auditRow : card;
    view.items.forEach(function (c, i) { frag.appendChild(make(c, i)); });
    ol.textContent = '';
    ol.appendChild(frag);
    if (!view.items.length) {
      ol.appendChild(el('li', 'empty', hasFilters() ? t('empty.filtered') : t('empty')));
    }
    renderChrome();
    moveCursor(view.cursor, true);
  }

  function renderChrome() {
    document.body.classList.toggle('audit-view', view.state === 'audit');
    document.body.classList.toggle('rules-mode', view.state === 'rules');
    $('rules-view').hidden = view.state !== 'rules';
    TABS.forEach(function (s) {
      var b = document.querySelector('[data-state="' + s + '"]');
      b.classList.toggle('on', s === view.state);
      b.setAttribute('aria-selected', s === view.state ? 'true' : 'false');
    });
    var n = view.items.length;
    $('range').textContent = view.total > 0 && n > 0
      ? t('range', { from: view.offset + 1, to: view.offset + n, total: view.total }) : t('range.none');
    $('prev').disabled = view.offset === 0;
    $('next').disabled = view.offset + PAGE_SIZE >= view.total;
    var pages = Math.max(1, Math.ceil(view.total / PAGE_SIZE));
    $('page').textContent = (Math.floor(view.offset / PAGE_SIZE) + 1) + ' / ' + pages;
    renderSelection();
    $('reload').textContent = t('fresh');
  }

  function renderSelection() {
    var ids = selectedIds();
    $('bulk').hidden = ids.length === 0;
    $('bulk-count').textContent = t('selected', { n: ids.length });
    $('select-all').checked = ids.length > 0 && ids.length === view.items.length;
    $('select-all').indeterminate = ids.length > 0 && ids.length < view.items.length;
  }

  // actions offered in each tab; the first is what `a` does, `r` the second
  function actionsFor(state) {
    switch (state) {
      case 'pending': return ['approve', 'reject', 'approve-trust', 'reject-block'];
      case 'rejected': return ['approve', 'approve-trust'];
      case 'release-failed': return ['approve', 'reject'];
      default: return [];
    }
  }

  function card(c, i) {
    var li = el('li', 'card');
    li.dataset.index = i;
    li.dataset.id = str(c.id);
    if (view.selected[c.id]) { li.classList.add('selected'); }

    var head = el('div', 'head');
    var box = el('input', 'pick');
    box.type = 'checkbox';
    box.checked = !!view.selected[c.id];
    box.setAttribute('aria-label', 'select');
    box.dataset.act = 'select';
    head.appendChild(box);

    var who = el('div', 'who');
    var name = c.name ? highlighted(el('button', 'name link'), c.name, c.spans, 'name')
      : el('button', 'name link anon', t('noname'));
    name.type = 'button';
    name.dataset.filter = 'author';
    name.dataset.value = str(c.email || c.name);
    who.appendChild(name);
    if (c.email) { who.appendChild(highlighted(el('span', 'email'), c.email, c.spans, 'email')); }
    if (c.ip) {
      var ip = el('button', 'ip link', c.ip);
      ip.type = 'button';
      ip.dataset.filter = 'ip';
      ip.dataset.value = str(c.ip);
      who.appendChild(ip);
    }
    head.appendChild(who);

    var meta = el('div', 'meta');
    if (c.article) {
      var art = el('button', 'article link', t('article', { a: c.article }));
      art.type = 'button';
      art.dataset.filter = 'article';
      art.dataset.value = str(c.article);
      meta.appendChild(art);
    }
    if (c.section) { meta.appendChild(el('span', 'section', t('section', { s: c.section }))); }
    var when = el('time', null, ago(c.time));
    when.title = fmtTime(c.time);
    if (c.time) { when.dateTime = new Date(c.time).toISOString(); }
    meta.appendChild(when);
    var score = Number(c.score) || 0;
    meta.appendChild(el('span', 'score ' + (score >= 10 ? 'hi' : score >= 5 ? 'mid' : 'lo'), t('score', { n: score })));
    head.appendChild(meta);
    li.appendChild(head);

    var rules = str(c.rules).split(',').filter(Boolean);
    if (rules.length || c.reason) {
      var why = el('div', 'why');
      rules.forEach(function (r) {
        var chip = el('button', 'chip', r);
        chip.type = 'button';
        chip.dataset.filter = 'rule';
        chip.dataset.value = r;
        why.appendChild(chip);
      });
      if (c.reason) { why.appendChild(el('span', 'reason', c.reason)); }
      li.appendChild(why);
    }

    li.appendChild(highlighted(el('p', 'text'), c.text, c.spans, 'text'));
    if (c.url) {
      var url = el('p', 'url');
      url.appendChild(el('span', 'tag', t('link')));
      url.appendChild(highlighted(el('code'), c.url, c.spans, 'url'));
      li.appendChild(url);
    }
    if (c.error) {
      var err = el('p', 'error');
      err.appendChild(el('strong', null, t('release.error') + ': '));
      err.appendChild(document.createTextNode(str(c.error)));
      li.appendChild(err);
    }
    if (c.moderator || c.decided) {
      li.appendChild(el('p', 'decided', t('decided', { who: str(c.moderator) || '\u2014', when: fmtTime(c.decided) })));
    }

    var acts = el('div', 'actions');
    actionsFor(view.state).forEach(function (a) {
      var label = a === 'approve' && view.state === 'release-failed' ? t('a.retry') : t('a.' + a);
      var b = el('button', 'btn ' + (a.indexOf('approve') === 0 ? 'ok' : 'no') + (a.indexOf('-') > 0 ? ' soft' : ''), label);
      b.type = 'button';
      b.dataset.act = a;
      acts.appendChild(b);
    });
    var h = el('button', 'btn plain', view.open[c.id] ? t('a.hide') : t('a.history'));
    h.type = 'button';
    h.dataset.act = 'history';
    acts.appendChild(h);
    if (makeRule && view.state === 'pending') {
      var mk = el('button', 'btn soft', t('a.makerule'));
      mk.type = 'button';
      mk.dataset.act = 'makerule';
      acts.appendChild(mk);
    }
    li.appendChild(acts);

    if (view.open[c.id]) { li.appendChild(historyPanel(c.id)); }
    return li;
  }

  function stateName(state) {
    return WORDS['tab.' + state] ? t('tab.' + state) : str(state);
  }

  // one line of the audit log
  function auditRow(e, i) {
    var li = el('li', 'card entry');
    li.dataset.index = i;
    var when = el('time', 'when', fmtTime(e.time));
    li.appendChild(when);
    li.appendChild(el('span', 'by', str(e.who) || '\u2014'));
    li.appendChild(el('span', 'what act-' + str(e.action), WORDS['act.' + e.action] ? t('act.' + e.action) : str(e.action)));
    if (e.id) { li.appendChild(el('code', 'cid', e.id)); }
    if (e.from || e.to) { li.appendChild(el('span', 'move', stateName(e.from) + ' \u2192 ' + stateName(e.to))); }
    if (e.note) { li.appendChild(el('span', 'note', e.note)); }
    return li;
  }

  // --- history and details, on demand -----------------------------------------

  var fullCache = {};

  function toggleHistory(i) {
    var c = view.items[i];
    if (!c || view.state === 'audit') { return; }
    if (view.open[c.id]) { delete view.open[c.id]; } else { view.open[c.id] = true; }
    redrawCard(i);
    if (view.open[c.id] && !fullCache[c.id]) {
      api('comments/' + encodeURIComponent(c.id)).then(function (r) {
        fullCache[c.id] = r.data;
      }).catch(function (err) {
        fullCache[c.id] = { failed: err.message || String(err) };
      }).then(function () {
        var j = indexOf(c.id);
        if (j >= 0 && view.open[c.id]) { redrawCard(j); }
      });
    }
  }

  // the rules that fired, each with what it added to the score
  function hitsList(hits) {
    var ul = el('ul', 'hits');
    hits.forEach(function (h) {
      var li = el('li');
      li.appendChild(el('span', 'chip', str(h && h.rule)));
      var n = Number(h && h.contribution) || 0;
      li.appendChild(el('span', 'contrib', (n > 0 ? '+' : '') + n));
      ul.appendChild(li);
    });
    return ul;
  }

  function historyPanel(id) {
    var box = el('div', 'history');
    var full = fullCache[id];
    if (!full) { box.appendChild(el('p', 'muted', t('loading'))); return box; }
    if (full.failed) { box.appendChild(el('p', 'bad', t('error.load', { e: full.failed }))); return box; }

    var hits = list(full.hits);
    if (hits.length) {
      var hs = el('section');
      hs.appendChild(el('h3', null, t('h.rules')));
      hs.appendChild(hitsList(hits));
      box.appendChild(hs);
    }

    var hist = full.history || {};
    [['author', 'h.author'], ['address', 'h.address']].forEach(function (k) {
      var h = hist[k[0]];
      var sec = el('section');
      sec.appendChild(el('h3', null, t(k[1])));
      if (!h) { sec.appendChild(el('p', 'muted', t('h.none'))); box.appendChild(sec); return; }
      var stats = el('p', 'stats');
      ['seen', 'accepted', 'queued', 'approved', 'rejected', 'trusted', 'blocked'].forEach(function (f) {
        if (typeof h[f] !== 'number' && typeof h[f] !== 'boolean') { return; }
        if ((f === 'trusted' || f === 'blocked') && !h[f]) { return; }
        var s = el('span', 'stat ' + f);
        if (f === 'trusted' || f === 'blocked') { s.textContent = t('h.' + f); } else {
          s.appendChild(el('b', null, h[f]));
          s.appendChild(document.createTextNode(' ' + t('h.' + f)));
        }
        stats.appendChild(s);
      });
      sec.appendChild(stats);
      var recent = list(h.recent).filter(function (r) { return r && r.id !== id; });
      if (recent.length) {
        sec.appendChild(el('h4', null, t('h.recent')));
        var ol = el('ol', 'recent');
        recent.forEach(function (r) {
          var li = el('li');
          li.appendChild(el('span', 'state s-' + str(r.state), t('tab.' + r.state)));
          li.appendChild(el('time', null, fmtTime(r.time)));
          li.appendChild(el('span', 'snippet', str(r.text).slice(0, 240)));
          ol.appendChild(li);
        });
        sec.appendChild(ol);
      }
      box.appendChild(sec);
    });

    var meta = el('section', 'details');
    meta.appendChild(el('h3', null, t('h.meta')));
    var dl = el('dl');
    function row(k, v) {
      if (v === undefined || v === null || v === '') { return; }
      dl.appendChild(el('dt', null, k));
      dl.appendChild(el('dd', null, v));
    }
    row(t('h.folded'), full.folded);
    row(t('h.version'), full.version);
    row(t('h.request'), [full.method, full.uri, full.content_type].filter(Boolean).join(' '));
    row(t('h.agent'), full.user_agent);
    row('Referer', full.referer);
    row(t('h.section'), full.section);
    row('ID', full.id);
    meta.appendChild(dl);
    box.appendChild(meta);
    return box;
  }

  function indexOf(id) {
    for (var i = 0; i < view.items.length; i++) { if (view.items[i].id === id) { return i; } }
    return -1;
  }

  function redrawCard(i) {
    var old = $('cards').children[i];
    if (!old) { return; }
    var fresh = card(view.items[i], i);
    if (i === view.cursor) { fresh.classList.add('cur'); }
    $('cards').replaceChild(fresh, old);
  }

  // --- cursor and selection --------------------------------------------------

  function moveCursor(i, quiet) {
    var cards = $('cards').children;
    if (!view.items.length) { view.cursor = 0; return; }
    i = Math.max(0, Math.min(i, view.items.length - 1));
    var old = $('cards').querySelector('.cur');
    if (old) { old.classList.remove('cur'); }
    view.cursor = i;
    var now = cards[i];
    if (now) {
      now.classList.add('cur');
      if (!quiet || i > 0) { now.scrollIntoView({ block: 'nearest' }); }
    }
  }

  function toggleSelect(i) {
    var c = view.items[i];
    if (!c || view.state === 'audit') { return; }
    if (view.selected[c.id]) { delete view.selected[c.id]; } else { view.selected[c.id] = true; }
    var node = $('cards').children[i];
    if (node) {
      node.classList.toggle('selected', !!view.selected[c.id]);
      node.querySelector('.pick').checked = !!view.selected[c.id];
    }
    renderSelection();
  }

  function selectAll(on) {
    view.selected = {};
    if (on) { view.items.forEach(function (c) { view.selected[c.id] = true; }); }
    Array.prototype.forEach.call($('cards').children, function (node) {
      var box = node.querySelector('.pick');
      if (box) { box.checked = on; node.classList.toggle('selected', on); }
    });
    renderSelection();
  }

  function selectedIds() {
    return view.items.filter(function (c) { return view.selected[c.id]; }).map(function (c) { return c.id; });
  }

  // --- decisions, with undo ------------------------------------------------------

  // each waits UNDO_MS, then is sent; the newest can be undone
  var waiting = [];
  // sent, not answered yet: still off the list and out of the counts
  var sending = [];

  function pendingIds() {
    var ids = {};
    waiting.concat(sending).forEach(function (d) { d.items.forEach(function (x) { ids[x.c.id] = true; }); });
    return ids;
  }

  function pendingIn(state) {
    var n = 0;
    waiting.concat(sending).forEach(function (d) { if (d.state === state) { n += d.items.length; } });
    return n;
  }

  function decide(action, indexes) {
    var allowed = actionsFor(view.state);
    if (allowed.indexOf(action) < 0) { toast(t('not.here')); return; }
    indexes = indexes.filter(function (i) { return view.items[i]; });
    if (!indexes.length) { return; }
    var d = {
      action: action, state: view.state, where: whereKey(),
      items: indexes.map(function (i) { return { c: view.items[i], index: i }; })
    };
    // take them off the list now; undo puts them back where they were
    var gone = {};
    d.items.forEach(function (x) { gone[x.c.id] = true; delete view.selected[x.c.id]; });
    var cursorWas = view.cursor;
    view.items = view.items.filter(function (c) { return !gone[c.id]; });
    view.total = Math.max(0, view.total - d.items.length);
    // only those cards leave the DOM: the others stay as they are
    Array.prototype.slice.call($('cards').children).forEach(function (node) {
      if (gone[node.dataset.id]) { node.remove(); }
    });
    afterCardsChanged();
    moveCursor(Math.min(cursorWas, view.items.length - 1));
    d.timer = setTimeout(function () { send(d); }, UNDO_MS);
    waiting.push(d);
    renderCounts();
    toastDecision(d, true);
  }

  function decisionText(d) {
    var what = t('done.' + d.action);
    return d.items.length > 1 ? t('done.n', { what: what, n: d.items.length })
      : what + ': ' + (str(d.items[0].c.name) || str(d.items[0].c.author) || d.items[0].c.id);
  }

  function undo() {
    var d = waiting.pop();
    if (!d) { return; }
    clearTimeout(d.timer);
    renderCounts();
    hideToast();
    // an older decision still waiting can be undone next (its countdown runs on)
    if (waiting.length) { toastDecision(waiting[waiting.length - 1], false); }
    if (d.state !== view.state) { return; }   // it comes back with its tab
    if (d.where !== whereKey()) { load(true); return; }
    var ol = $('cards');
    if (!view.items.length) { ol.textContent = ''; }  // the "empty" line
    d.items.forEach(function (x) {
      var at = Math.min(x.index, view.items.length);
      view.items.splice(at, 0, x.c);
      ol.insertBefore(card(x.c, at), ol.children[at] || null);
    });
    view.total += d.items.length;
    afterCardsChanged();
    moveCursor(d.items[0].index);
  }

  // the page a decision was taken on: undo puts it back only there
  function whereKey() {
    return JSON.stringify([view.state, view.offset, view.order, view.filters]);
  }

  function afterCardsChanged() {
    Array.prototype.forEach.call($('cards').children, function (node, i) { node.dataset.index = i; });
    if (!view.items.length) { render(); return; }
    renderChrome();
  }

  function send(d) {
    var i = waiting.indexOf(d);
    if (i < 0) { return Promise.resolve(); }
    waiting.splice(i, 1);
    sending.push(d);
    var done = function () { sending.splice(sending.indexOf(d), 1); };
    // all wait as long: when the one on the toast goes, the older ones went
    if (toastFor === d) { hideToast(); }
    var ids = d.items.map(function (x) { return x.c.id; });
    var body = d.action === 'reject-block' ? { block: 'author', hours: 24 } : {};
    var call = ids.length === 1
      ? post('comments/' + encodeURIComponent(ids[0]) + '/' + d.action, body, d.keepalive)
        .then(function (r) { return [r.data]; })
      : post('bulk', { action: d.action, ids: ids, block: body.block, hours: body.hours }, d.keepalive)
        .then(function (r) { return list(r.data.results); });
    return call.then(function (results) {
      done();
      var failed = results.filter(function (r) { return r && r.ok === false; });
      if (failed.length) {
        toast(t('failed', { id: failed.map(function (r) { return r.id; }).join(', '), e: failed[0].error || failed[0].state }));
        // someone else acted first, or the release failed: show what is true now
        if (d.state === view.state) { load(true); }
      }
      // the page emptied by decisions: bring the next comments
      if (d.state === view.state && !view.items.length && !waiting.length) { load(); }
      pollCounts();
    }, function (err) {
      done();
      toast(t('failed', { id: ids.join(', '), e: err.message || err }));
      if (d.state === view.state) { load(true); }
      pollCounts();
    });
  }

  // leaving the page sends what is waiting rather than losing it
  window.addEventListener('pagehide', function () {
    waiting.slice().forEach(function (d) { clearTimeout(d.timer); d.keepalive = true; send(d); });
  });

  // the toast: the newest waiting decision with its undo, or a message
  var toastFor = null, toastTimer = null;

  function showToast(text, d, countdown) {
    clearTimeout(toastTimer);
    toastFor = d;
    $('toast-text').textContent = text;
    $('undo').hidden = !d;
    $('toast').classList.toggle('msg', !d);
    var bar = $('toast-bar');
    bar.classList.remove('run');
    $('toast').hidden = false;
    if (countdown) {
      void bar.offsetWidth;  // restarts the countdown animation
      bar.classList.add('run');
    }
  }

  function toastDecision(d, countdown) { showToast(decisionText(d), d, countdown); }

  function toast(text) {
    showToast(text, null, false);
    toastTimer = setTimeout(hideToast, 5000);
  }

  function hideToast() {
    clearTimeout(toastTimer);
    toastFor = null;
    $('toast').hidden = true;
    $('toast-bar').classList.remove('run');
  }

  // --- tabs, filters, paging -----------------------------------------------------

  function setTab(state) {
    if (TABS.indexOf(state) < 0) { return; }
    // an unpublished rules draft: leaving the tab asks first
    if (view.state === 'rules' && state !== 'rules' && rulesPanel && rulesPanel.dirty() &&
        !window.confirm(t('r.leave'))) {
      if (location.hash.slice(1) !== view.state) { history.replaceState(null, '', '#' + view.state); }
      return;
    }
    view.state = state;
    view.offset = 0;
    view.selected = {};
    view.open = {};
    if (location.hash.slice(1) !== state) { history.replaceState(null, '', '#' + state); }
    renderChrome();
    load();
  }

  function page(delta) {
    var o = view.offset + delta * PAGE_SIZE;
    if (o < 0 || (delta > 0 && o >= view.total)) { return; }
    view.offset = o;
    view.selected = {};
    load();
    window.scrollTo(0, 0);
  }

  var filterTimer = null;
  function readFilters() {
    var f = $('filters');
    var next = {};
    FILTERS.forEach(function (k) { next[k] = f.elements[k].value.trim(); });
    view.filters = next;
    view.order = f.elements.order.value;
    view.offset = 0;
    load();
  }

  function setFilter(name, value) {
    $('filters').elements[name].value = value;
    readFilters();
  }

  // --- language ------------------------------------------------------------------

  function applyLang() {
    document.documentElement.lang = lang;
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (e) {
      e.textContent = t(e.dataset.t);
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-tp]'), function (e) {
      e.placeholder = t(e.dataset.tp);
      e.setAttribute('aria-label', t(e.dataset.tp));
    });
    $('lang').textContent = lang === 'id' ? 'EN' : 'ID';
    $('lang').title = lang === 'id' ? 'English' : 'Bahasa Indonesia';
    var keys = $('keys');
    keys.textContent = '';
    KEYS.forEach(function (k) {
      var dt = el('dt');
      k[0].split('  ').forEach(function (part) { dt.appendChild(el('kbd', null, part)); });
      keys.appendChild(dt);
      keys.appendChild(el('dd', null, t(k[1])));
    });
  }

  // --- keyboard ------------------------------------------------------------------

  function helpOpen() { return !$('help').hidden; }
  function toggleHelp(on) { $('help').hidden = !on; }

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    // the "make a rule" dialog: no shortcut acts on the queue under it
    if (makeRule && makeRule.isOpen()) {
      if (e.key === 'Escape') { makeRule.close(); e.preventDefault(); }
      return;
    }
    var tag = e.target && e.target.tagName;
    var typing = tag === 'INPUT' && e.target.type !== 'checkbox' || tag === 'TEXTAREA' || tag === 'SELECT';
    if (e.key === 'Escape') {
      if (helpOpen()) { toggleHelp(false); } else if (typing) { e.target.blur(); } else if (selectedIds().length) { selectAll(false); } else { hideToast(); }
      e.preventDefault();
      return;
    }
    if (typing) { return; }
    if (helpOpen() && e.key !== '?') { return; }
    // a focused button answers Enter itself
    if (e.key === 'Enter' && (tag === 'BUTTON' || tag === 'A')) { return; }
    // a held key moves the cursor, but never decides twice
    if (e.repeat && 'jk'.indexOf(e.key) < 0 && e.key !== 'ArrowDown' && e.key !== 'ArrowUp') { e.preventDefault(); return; }
    var i = view.cursor;
    var done = true;
    switch (e.key) {
      case 'j': case 'ArrowDown': moveCursor(i + 1); break;
      case 'k': case 'ArrowUp': moveCursor(i - 1); break;
      case 'a': decide('approve', [i]); break;
      case 'r': decide('reject', [i]); break;
      case 't': decide('approve-trust', [i]); break;
      case 'b': decide('reject-block', [i]); break;
      case 'x': toggleSelect(i); break;
      case 'X': selectAll(selectedIds().length !== view.items.length); break;
      case 'A': decide('approve', bulkIndexes()); break;
      case 'R': decide('reject', bulkIndexes()); break;
      case 'u': undo(); break;
      case 'h': case 'Enter': toggleHistory(i); break;
      case 'n': page(1); break;
      case 'p': page(-1); break;
      case 'g': load(true); break;
      case '1': case '2': case '3': case '4': case '5': case '6': setTab(TABS[Number(e.key) - 1]); break;
      case '/': $('q').focus(); $('q').select(); break;
      case '?': toggleHelp(!helpOpen()); break;
      default: done = false;
    }
    if (done) { e.preventDefault(); }
  }

  // the selection, or the comment under the cursor when nothing is selected
  function bulkIndexes() {
    var idx = [];
    view.items.forEach(function (c, i) { if (view.selected[c.id]) { idx.push(i); } });
    return idx.length ? idx : [view.cursor];
  }

  // --- mouse -------------------------------------------------------------------------

  function onCardClick(e) {
    var node = e.target.closest('.card');
    if (!node) { return; }
    var i = Number(node.dataset.index);
    var filter = e.target.closest('[data-filter]');
    if (filter) { setFilter(filter.dataset.filter, filter.dataset.value); return; }
    var act = e.target.closest('[data-act]');
    if (i !== view.cursor) { moveCursor(i, true); }
    if (!act) { return; }
    if (act.dataset.act === 'select') { toggleSelect(i); } else if (act.dataset.act === 'history') { toggleHistory(i); } else if (act.dataset.act === 'makerule') {
      makeRule.open(view.items[i]);
    } else {
      decide(act.dataset.act, [i]);
    }
  }

  // --- the rules tab (rules.js) ------------------------------------------------

  var rulesPanel = null;
  var makeRule = null;

  function startRules() {
    if (typeof window.cmMakeRule === 'function') {
      makeRule = window.cmMakeRule({
        t: t, el: el, str: str, list: list, $: $, api: api, post: post,
        user: function () { return session.user; },
        reload: function () { return load(true); },
        words: function (more) { Object.keys(more).forEach(function (k) { WORDS[k] = more[k]; }); }
      });
    }
    if (typeof window.cmRulesPanel !== 'function') { return; }
    rulesPanel = window.cmRulesPanel({
      t: t, el: el, str: str, list: list, $: $, api: api, post: post,
      highlighted: highlighted, hitsList: hitsList, fmtTime: fmtTime,
      lang: function () { return lang; },
      words: function (more) { Object.keys(more).forEach(function (k) { WORDS[k] = more[k]; }); }
    });
  }

  function start() {
    startRules();
    readHash();
    applyLang();
    renderChrome();
    document.addEventListener('keydown', onKey);
    $('tabs').addEventListener('click', function (e) {
      var b = e.target.closest('[data-state]');
      if (b) { setTab(b.dataset.state); }
    });
    $('cards').addEventListener('click', onCardClick);
    $('filters').addEventListener('submit', function (e) { e.preventDefault(); readFilters(); });
    $('filters').addEventListener('input', function () {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(readFilters, 300);
    });
    $('filters').addEventListener('reset', function () { setTimeout(readFilters, 0); });
    $('select-all').addEventListener('change', function (e) { selectAll(e.target.checked); });
    $('bulk').addEventListener('click', function (e) {
      var b = e.target.closest('[data-bulk]');
      if (b) { decide(b.dataset.bulk, bulkIndexes()); }
    });
    $('prev').addEventListener('click', function () { page(-1); });
    $('next').addEventListener('click', function () { page(1); });
    $('reload').addEventListener('click', function () { load(true); });
    $('undo').addEventListener('click', undo);
    $('help-open').addEventListener('click', function () { toggleHelp(true); });
    $('help').addEventListener('click', function (e) { if (e.target === $('help')) { toggleHelp(false); } });
    $('lang').addEventListener('click', function () {
      lang = lang === 'id' ? 'en' : 'id';
      try { localStorage.setItem('cm-review-lang', lang); } catch (e) { /* private mode */ }
      applyLang();
      render();
      if (rulesPanel) { rulesPanel.render(); }
      pollCounts();
    });
    window.addEventListener('hashchange', function () {
      var h = location.hash.slice(1);
      if (h !== view.state && TABS.indexOf(h) >= 0) { setTab(h); }
    });
    document.addEventListener('visibilitychange', function () { if (!document.hidden) { pollCounts(); } });

    loadSession().catch(function (err) {
      if (!loggedOut) { setStatus(t('error.load', { e: err.message || err }), true); }
    });
    load().then(pollCounts);
    setInterval(pollCounts, POLL_MS);
  }

  start();
}());
