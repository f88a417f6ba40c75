/*
 * "Make a rule from this" on the review page (issue 6): in a held comment's
 * details, the moderator picks a word or phrase (selected in the comment's
 * text, or typed), an effect and how long the rule lasts, sees the pending
 * comments the rule would catch - the server's engine decides
 * (api/rules/matches, docs/admin-api.md) - rejects them in bulk (api/bulk),
 * and publishes the rule: the active rule set plus this rule at the end of
 * its entry file, with the note "from comment ID by MODERATOR".
 *
 * review.js calls window.cmMakeRule(lib) once and open(comment) from a
 * pending comment's "make a rule" button: a dialog over the queue, so the
 * queue can change under it (the bulk action).  Text from the server or the
 * moderator goes on the page as text only.
 */
(function () {
  'use strict';

  var MATCH_LIMIT = 500;       // pending comments looked at
  var DAY_MS = 86400000;

  var WORDS = {
    'mk.title': ['Buat aturan dari komentar ini', 'Make a rule from this'],
    'mk.phrase': ['Kata atau frasa', 'Word or phrase'],
    'mk.phrase.ph': ['pilih teks di komentar, atau ketik', 'select text in the comment, or type'],
    'mk.effect': ['Efek', 'Effect'],
    'mk.e.reject': ['Tolak', 'Reject'],
    'mk.e.queue': ['Tahan untuk moderator', 'Hold for a moderator'],
    'mk.e.score': ['Tambah skor', 'Add points'],
    'mk.points': ['Poin', 'Points'],
    'mk.life': ['Berlaku', 'Lasts'],
    'mk.l.1': ['1 hari', '1 day'], 'mk.l.7': ['7 hari', '7 days'], 'mk.l.30': ['30 hari', '30 days'],
    'mk.l.0': ['Tanpa batas', 'No end'],
    'mk.find': ['Cari komentar yang cocok', 'Find matching comments'],
    'mk.rule': ['Aturan yang akan diterbitkan', 'The rule to be published'],
    'mk.none': ['Tidak ada komentar menunggu yang cocok (dari {total}).', 'No pending comment matches (of {total}).'],
    'mk.found': ['{n} dari {total} komentar menunggu cocok', '{n} of {total} pending comments match'],
    'mk.reject': ['Tolak yang dipilih ({n})', 'Reject the selected ({n})'],
    'mk.rejected': ['{n} komentar ditolak.', '{n} comments rejected.'],
    'mk.publish': ['Terbitkan aturan', 'Publish the rule'],
    'mk.published': ['Aturan {name} aktif di versi {v}. Komentar berikutnya yang cocok langsung kena.',
      'Rule {name} is live in version {v}. The next matching comment is caught at once.'],
    'mk.need': ['Pilih atau ketik kata dulu.', 'Select or type a phrase first.'],
    'mk.nosource': ['Belum ada aturan yang diterbitkan: terbitkan satu di tab Aturan dulu.',
      'No rule set is published yet: publish one in the Rules tab first.'],
    'mk.close': ['Tutup', 'Close'],
    'mk.failed': ['Gagal: {e}', 'Failed: {e}']
  };

  window.cmMakeRule = function (lib) {
    var t = lib.t, el = lib.el, str = lib.str, list = lib.list;
    lib.words(WORDS);

    var cur = null;             // the comment the rule is made from, and the choices
    var lastSelection = {};     // comment id -> text last selected in its card

    // text selected in a comment's card before the dialog opens, and in the
    // dialog's copy of the text (that one fills the phrase at once)
    document.addEventListener('selectionchange', function () {
      var sel = window.getSelection();
      var text = sel ? sel.toString() : '';
      if (!text.trim() || !sel.anchorNode) { return; }
      var node = sel.anchorNode.nodeType === 1 ? sel.anchorNode : sel.anchorNode.parentNode;
      if (!node || !node.closest) { return; }
      var card = node.closest('.card');
      if (card && node.closest('.text')) { lastSelection[card.dataset.id] = text; }
      if (cur && node.closest('.mk-text')) {
        cur.phrase = phraseOf(text);
        var input = document.querySelector('#mk input[name="phrase"]');
        if (input) { input.value = cur.phrase; }
      }
    });

    // a phrase as the rule files quote it: one line, no quotes or wildcards
    function phraseOf(s) {
      return str(s).replace(/["\\*]/g, ' ').replace(/\s+/g, ' ').trim().toLowerCase();
    }

    function ruleName(id) {
      return ('from-' + str(id).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-')).slice(0, 64);
    }

    function expires(days) {
      return days > 0 ? new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 16) : '';
    }

    function ruleText(f) {
      var effect = f.effect === 'score' ? 'score ' + (Math.round(Number(f.points)) || 1)
        : 'action ' + f.effect;
      return 'rule ' + ruleName(f.id) + '\n' +
        '    words "' + f.phrase + '"\n' +
        '    ' + effect + '\n' +
        (f.days > 0 ? '    expires ' + expires(f.days) + '\n' : '') +
        '    note  "' + note(f) + '"\n';
    }

    function note(f) {
      return ('from comment ' + f.id + ' by ' + str(lib.user())).replace(/"/g, '');
    }

    // the active set with the rule appended to its entry file (or, for a
    // set of all *.rules in a folder, a file of its own)
    function withRule(source, text) {
      var files = {};
      Object.keys(source.files || {}).forEach(function (k) { files[k] = str(source.files[k]); });
      var entry = str(source.entry) || 'default.rules';
      var target = entry === '.' ? 'from-comments.rules' : entry;
      var before = str(files[target]);
      files[target] = before + (before && before.slice(-1) !== '\n' ? '\n' : '') + '\n' + text;
      return { entry: entry, files: files };
    }

    function open(c) {
      var id = str(c.id);
      cur = { id: id, text: str(c.text), author: str(c.name || c.email),
        phrase: phraseOf(lastSelection[id]), effect: 'reject', points: 5, days: 7,
        matches: null, picked: {}, msg: '', msgClass: '', rule: '', published: false };
      render();
      var input = document.querySelector('#mk input[name="phrase"]');
      if (input) { input.focus(); }
    }

    function close() {
      cur = null;
      var box = document.getElementById('mk');
      if (box) { box.parentNode.removeChild(box); }
    }

    function read() {
      var form = document.querySelector('#mk form');
      if (!form || !cur) { return; }
      cur.phrase = phraseOf(form.elements.phrase.value);
      cur.effect = form.elements.effect.value;
      cur.points = form.elements.points.value;
      cur.days = Number(form.elements.days.value);
    }

    function option(select, value, label, chosen) {
      var o = el('option', null, label);
      o.value = value;
      o.selected = String(chosen) === String(value);
      select.appendChild(o);
    }

    function labelled(text, input) {
      var l = el('label', 'mk-field');
      l.appendChild(el('span', null, text));
      l.appendChild(input);
      return l;
    }

    function render() {
      var old = document.getElementById('mk');
      var overlay = el('div', 'overlay mk-overlay');
      overlay.id = 'mk';
      var box = el('div', 'dialog makerule');
      box.setAttribute('role', 'dialog');
      box.setAttribute('aria-modal', 'true');
      overlay.appendChild(box);
      box.appendChild(el('h2', null, t('mk.title')));
      var who = el('p', 'muted', cur.author);
      box.appendChild(who);
      box.appendChild(el('p', 'mk-text', cur.text));

      var form = el('form', 'mk-form');
      form.autocomplete = 'off';
      var phrase = el('input');
      phrase.type = 'text';
      phrase.name = 'phrase';
      phrase.value = cur.phrase;
      phrase.placeholder = t('mk.phrase.ph');
      var row = el('div', 'row');
      row.appendChild(labelled(t('mk.phrase'), phrase));
      form.appendChild(row);

      row = el('div', 'row');
      var effect = el('select');
      effect.name = 'effect';
      ['reject', 'queue', 'score'].forEach(function (e) { option(effect, e, t('mk.e.' + e), cur.effect); });
      row.appendChild(labelled(t('mk.effect'), effect));
      var points = el('input');
      points.type = 'number';
      points.name = 'points';
      points.min = '1';
      points.max = '100';
      points.value = cur.points;
      var pts = labelled(t('mk.points'), points);
      pts.hidden = cur.effect !== 'score';
      row.appendChild(pts);
      var days = el('select');
      days.name = 'days';
      [1, 7, 30, 0].forEach(function (d) { option(days, d, t('mk.l.' + d), cur.days); });
      row.appendChild(labelled(t('mk.life'), days));
      form.appendChild(row);
      var find = el('button', 'btn', t('mk.find'));
      find.type = 'submit';
      form.appendChild(find);
      box.appendChild(form);

      if (cur.rule) {
        box.appendChild(el('h3', null, t('mk.rule')));
        box.appendChild(el('pre', 'mk-rule code', cur.rule));
      }
      if (cur.matches) { box.appendChild(matchList()); }
      if (cur.msg) { box.appendChild(el('p', 'mk-msg ' + cur.msgClass, cur.msg)); }
      var shut = el('button', 'btn plain', t('mk.close'));
      shut.type = 'button';
      shut.dataset.mk = 'close';
      box.appendChild(shut);

      if (old) { old.parentNode.replaceChild(overlay, old); } else { document.body.appendChild(overlay); }
    }

    function matchList() {
      var wrap = el('div', 'mk-matches');
      var m = cur.matches;
      var comments = list(m.comments);
      if (!comments.length) {
        wrap.appendChild(el('p', 'muted', t('mk.none', { total: Number(m.total) || 0 })));
      } else {
        wrap.appendChild(el('p', 'mk-count', t('mk.found', { n: comments.length, total: Number(m.total) || 0 })));
        var ol = el('ol', 'flips');
        comments.forEach(function (x) {
          var li = el('li', 'flip mk-match');
          li.dataset.id = str(x.id);
          var label = el('label', 'flip-head');
          var box = el('input');
          box.type = 'checkbox';
          box.dataset.pick = str(x.id);
          box.checked = !!cur.picked[x.id];
          label.appendChild(box);
          // the decisions' words are the rules tab's (rules.js)
          label.appendChild(el('span', 'decision d-' + str(x.now), t('d.' + str(x.now))));
          label.appendChild(el('b', null, str(x.author) || t('noname')));
          if (x.section) { label.appendChild(el('span', 'muted', str(x.section))); }
          li.appendChild(label);
          li.appendChild(el('p', 'snippet', str(x.text).slice(0, 300)));
          ol.appendChild(li);
        });
        wrap.appendChild(ol);
        var n = Object.keys(cur.picked).filter(function (k) { return cur.picked[k]; }).length;
        var reject = el('button', 'btn no', t('mk.reject', { n: n }));
        reject.type = 'button';
        reject.dataset.mk = 'reject';
        reject.disabled = n === 0;
        wrap.appendChild(reject);
      }
      var pub = el('button', 'btn ok', t('mk.publish'));
      pub.type = 'button';
      pub.dataset.mk = 'publish';
      pub.disabled = cur.published;
      wrap.appendChild(pub);
      return wrap;
    }

    function say(text, cls) {
      cur.msg = text;
      cur.msgClass = cls || '';
    }

    function source() {
      return lib.api('rules/source').then(function (res) { return res.data; }, function (err) {
        throw new Error(err.status === 404 ? t('mk.nosource') : (err.message || String(err)));
      });
    }

    // the answer may come after the dialog was closed or opened for another
    function still(f, fn) {
      return function (x) { if (cur === f) { return fn(x); } return null; };
    }

    function findMatches() {
      var f = cur;
      read();
      if (!f.phrase) { say(t('mk.need'), 'bad'); render(); return Promise.resolve(); }
      f.rule = ruleText(f);
      f.published = false;
      say(t('loading'));
      render();
      return source().then(function (src) {
        var draft = withRule(src, f.rule);
        draft.rule = ruleName(f.id);
        draft.limit = MATCH_LIMIT;
        return lib.post('rules/matches', draft);
      }).then(still(f, function (res) {
        if (!res.data.ok) { throw new Error(str(res.data.error)); }
        f.matches = res.data;
        f.picked = {};
        list(res.data.comments).forEach(function (x) { f.picked[x.id] = true; });
        say('');
      })).catch(still(f, function (err) {
        f.matches = null;
        say(t('mk.failed', { e: err.message || err }), 'bad');
      })).then(still(f, render));
    }

    function rejectPicked() {
      var f = cur;
      var ids = Object.keys(f.picked).filter(function (k) { return f.picked[k]; });
      if (!ids.length) { return Promise.resolve(); }
      return lib.post('bulk', { action: 'reject', ids: ids }).then(still(f, function (res) {
        var done = list(res.data.results).filter(function (r) { return r && r.ok; }).map(function (r) { return r.id; });
        f.matches.comments = list(f.matches.comments).filter(function (x) { return done.indexOf(x.id) < 0; });
        done.forEach(function (x) { delete f.picked[x]; });
        say(t('mk.rejected', { n: done.length }), 'good');
        render();
        return lib.reload();
      })).catch(still(f, function (err) {
        say(t('mk.failed', { e: err.message || err }), 'bad');
        render();
      }));
    }

    function publishRule() {
      var f = cur;
      read();
      if (!f.phrase) { say(t('mk.need'), 'bad'); render(); return Promise.resolve(); }
      f.rule = ruleText(f);
      return source().then(function (src) {
        var draft = withRule(src, f.rule);
        draft.note = note(f);
        return lib.post('rules/publish', draft);
      }).then(still(f, function (res) {
        if (!res.data.ok) { throw new Error(str(res.data.error)); }
        f.published = true;
        say(t('mk.published', { name: ruleName(f.id), v: res.data.version }), 'good');
      })).catch(still(f, function (err) {
        say(t('mk.failed', { e: err.message || err }), 'bad');
      })).then(still(f, render));
    }

    document.addEventListener('click', function (e) {
      if (!cur || !e.target.closest || !e.target.closest('#mk')) { return; }
      var pick = e.target.closest('[data-pick]');
      if (pick) { cur.picked[pick.dataset.pick] = pick.checked; read(); render(); return; }
      var b = e.target.closest('[data-mk]');
      if (!b) { return; }
      if (b.dataset.mk === 'close') { close(); } else if (b.dataset.mk === 'reject') { rejectPicked(); } else if (b.dataset.mk === 'publish') { publishRule(); }
    });
    document.addEventListener('submit', function (e) {
      if (!cur || !e.target.closest('#mk')) { return; }
      e.preventDefault();
      findMatches();
    });
    document.addEventListener('change', function (e) {
      if (!cur || !e.target.closest('#mk') || e.target.name !== 'effect') { return; }
      read();
      render();
    });

    return { open: open, close: close, isOpen: function () { return !!cur; } };
  };
}());
