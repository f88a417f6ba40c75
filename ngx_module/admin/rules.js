/*
 * The editors' rules tab of the review page (docs/admin-api.md, "Editors:
 * rules"): the active rules with their hits, an editor of the rule files with
 * validation as one types, try-it, backtest, publish and rollback.
 *
 * review.js calls window.cmRulesPanel(lib) once, with its helpers (words,
 * elements, the API with CSRF, highlighting).  Everything from the server
 * or the editor is put on the page as text (textContent), never as markup.
 */
(function () {
  'use strict';

  var CHECK_MS = 400;        // validation waits this long after the last key
  // a rule is noisy when it fires this often in an hour, or when moderators
  // overturned at least OVERTURN_MIN of its week's hits and OVERTURN_SHARE of them
  var NOISY_HOUR = 20;
  var OVERTURN_MIN = 2;
  var OVERTURN_SHARE = 0.2;
  var BRAND_LIST = 'lists/judol-sites.txt';
  // a published version is live in every worker within about a second
  var SWITCH_WAIT_MS = 500;
  var SWITCH_TRIES = 10;
  // the publish panel shows at most this many changed lines per file, and
  // aligns two versions of a file only up to this many line pairs
  var DIFF_LINES = 40;
  var DIFF_CELLS = 250000;

  var WORDS = {
    'tab.rules': ['Aturan', 'Rules'],
    'r.active': ['Aturan aktif', 'Active rules'],
    'r.version': ['versi {v} \u00b7 {who} \u00b7 {when}', 'version {v} \u00b7 {who} \u00b7 {when}'],
    'r.filter': ['Cari aturan', 'Search rules'],
    'r.flagged': ['Hanya yang bising atau basi', 'Only noisy or stale'],
    'r.noisy': ['bising', 'noisy'],
    'r.noisy.why': ['banyak kena atau sering dibatalkan moderator', 'fires a lot, or moderators often overturn it'],
    'r.stale': ['basi', 'stale'],
    'r.stale.why': ['tidak kena seminggu', 'no hit in a week'],
    'r.shadow': ['bayangan', 'shadow'],
    'c.name': ['Nama', 'Name'], 'c.kind': ['Jenis', 'Kind'], 'c.effect': ['Efek', 'Effect'],
    'c.note': ['Catatan', 'Note'], 'c.shadow': ['Bayangan', 'Shadow'], 'c.where': ['File:baris', 'File:line'],
    'c.hour': ['1 jam', '1 h'], 'c.day': ['1 hari', '1 day'], 'c.week': ['1 minggu', '1 week'],
    'c.overturned': ['Dibatalkan', 'Overturned'],
    'r.none': ['Tidak ada aturan yang cocok.', 'No rules match.'],
    'r.edit': ['Ubah aturan', 'Edit rules'],
    'r.revert': ['Batalkan perubahan file ini', 'Undo changes to this file'],
    'r.changed': ['diubah', 'changed'],
    'r.brand': ['Merek judi baru', 'New gambling brand'],
    'r.brand.ph': ['mis. zeusjp777', 'e.g. zeusjp777'],
    'r.brand.add': ['Tambahkan ke daftar', 'Add to the list'],
    'r.brand.added': ['"{w}" ditambahkan ke {f}', '"{w}" added to {f}'],
    'r.brand.there': ['"{w}" sudah ada di {f}', '"{w}" is already in {f}'],
    'r.brand.bad': ['Satu nama saja, tanpa spasi', 'One name, without spaces'],
    'r.checking': ['Memeriksa\u2026', 'Checking\u2026'],
    'r.valid': ['Valid: {n} aturan', 'Valid: {n} rules'],
    'r.invalid': ['Kesalahan', 'Error'],
    'r.goto': ['ke baris ini', 'go to the line'],
    'r.nosource': ['Belum ada versi yang diterbitkan.', 'Nothing has been published yet.'],
    'r.try': ['Coba', 'Try it'],
    'r.try.text': ['Tempel teks komentar', 'Paste a comment'],
    'r.try.name': ['Nama (opsional)', 'Name (optional)'],
    'r.try.email': ['Email (opsional)', 'E-mail (optional)'],
    'r.try.ip': ['IP (opsional)', 'IP (optional)'],
    'r.try.article': ['Artikel (opsional)', 'Article (optional)'],
    'r.try.section': ['Rubrik (opsional), mis. pemilu', 'Section (optional), e.g. pemilu'],
    'r.try.run': ['Coba dengan draf', 'Try with the draft'],
    'r.try.folded': ['Teks dinormalkan', 'Normalized text'],
    'r.try.nohits': ['Tidak ada aturan yang kena', 'No rule fired'],
    'd.accept': ['diterima', 'accepted'], 'd.queue': ['ditahan', 'held'], 'd.reject': ['ditolak', 'rejected'],
    'r.bt': ['Uji pada komentar lalu', 'Backtest on past comments'],
    'r.bt.limit': ['Komentar terakhir', 'Latest comments'],
    'r.bt.run': ['Jalankan uji', 'Run the backtest'],
    'r.bt.total': ['{n} komentar diuji', '{n} comments tested'],
    'r.bt.changed': ['berubah', 'change'],
    'r.bt.agree': ['sesuai moderator', 'agree with moderators'],
    'r.bt.disagree': ['tidak sesuai', 'disagree'],
    'r.bt.was': ['aturan aktif', 'active rules'],
    'r.bt.outcome': ['akhirnya', 'in the end'],
    'r.bt.now': ['draf', 'draft'],
    'r.bt.none': ['Tidak ada keputusan yang berubah.', 'No decision changes.'],
    'r.pub': ['Terbitkan', 'Publish'],
    'r.pub.note': ['Catatan (wajib), mis. merek baru zeusjp777', 'Note (required), e.g. new brand zeusjp777'],
    'r.pub.run': ['Terbitkan draf', 'Publish the draft'],
    'r.pub.changes': ['Diubah: {f}', 'Changed: {f}'],
    'r.pub.nochange': ['Draf sama dengan versi aktif.', 'The draft is the active version.'],
    'r.pub.needs': ['Tulis catatan dulu.', 'Write a note first.'],
    'r.pub.broken': ['Perbaiki kesalahan dulu.', 'Fix the error first.'],
    'r.pub.newer': ['Versi {v} ({who}) diterbitkan setelah draf ini dibuka dari versi {mine}: menerbitkan draf akan menggantikannya. Klik lagi untuk tetap menerbitkan.',
      'Version {v} ({who}) was published after this draft was opened from version {mine}: publishing the draft replaces it. Click again to publish anyway.'],
    'r.pub.more': ['\u2026 dan {n} baris lagi', '\u2026 and {n} more lines'],
    'r.pub.anyway': ['Tetap terbitkan', 'Publish anyway'],
    'r.pub.done': ['Versi {v} aktif (sebelumnya {p}). Berlaku dalam satu detik.', 'Version {v} is active (was {p}). Live within a second.'],
    'r.versions': ['Versi', 'Versions'],
    'r.v.active': ['aktif', 'active'],
    'r.v.files': ['{n} file', '{n} files'],
    'r.v.rollback': ['Kembalikan ke versi ini', 'Roll back to this version'],
    'r.v.confirm': ['Kembalikan ke versi {v}?', 'Roll back to version {v}?'],
    'r.v.note': ['Alasan (wajib)', 'Why (required)'],
    'r.v.yes': ['Ya, kembalikan', 'Yes, roll back'],
    'r.v.no': ['Batal', 'Cancel'],
    'r.v.done': ['Versi {v} aktif lagi (sebelumnya {p}).', 'Version {v} is active again (was {p}).'],
    'r.v.diff': ['Perubahan', 'Changes'],
    'r.v.hide': ['Tutup perubahan', 'Hide changes'],
    'r.v.same': ['Tidak ada baris yang berubah.', 'No line changed.'],
    'r.v.new': ['baru', 'new'],
    'r.v.gone': ['dihapus', 'removed'],
    'r.v.none': ['Belum ada versi.', 'No versions yet.'],
    'r.sh.promote': ['Naikkan', 'Promote'],
    'r.sh.why': ['Lihat apa yang akan diubah aturan ini, lalu biarkan ia memutuskan',
      'See what this rule would change, then let it decide'],
    'r.sh.effect': ['Aturan bayangan {r}: komentar yang akan berubah keputusannya',
      'Shadow rule {r}: the comments whose decision it would change'],
    'r.sh.yes': ['Ya, naikkan: aturan ini mulai memutuskan', 'Yes, promote: the rule starts deciding'],
    'r.sh.done': ['{r} dinaikkan: versi {v} aktif (sebelumnya {p}).', '{r} promoted: version {v} is active (was {p}).'],
    'r.leave': ['Draf aturan belum diterbitkan: komentar pembaca masih dinilai dengan versi aktif. Tetap pindah? (Draf tetap di sini sampai halaman ditutup.)',
      'The rules draft is not published: readers\' comments are still judged by the active version. Leave anyway? (The draft stays here until the page is closed.)'],
    'r.sh.lose': ['Menaikkan aturan memuat ulang editor: perubahan draf yang belum diterbitkan akan hilang. Lanjutkan?',
      'Promoting reloads the editor: the unpublished draft changes will be lost. Go on?'],
    'r.failed': ['Gagal: {e}', 'Failed: {e}']
  };

  var COLUMNS = [
    ['name', 'c.name'], ['kind', 'c.kind'], ['effect', 'c.effect'], ['note', 'c.note'],
    ['shadow', 'c.shadow'], ['where', 'c.where'], ['hour', 'c.hour'], ['day', 'c.day'],
    ['week', 'c.week'], ['overturned', 'c.overturned']
  ];
  var NUMERIC = { hour: true, day: true, week: true, overturned: true };

  window.cmRulesPanel = function (lib) {
    var t = lib.t, el = lib.el, str = lib.str, list = lib.list, $ = lib.$;
    lib.words(WORDS);

    var rules = [];             // the active rules, joined with their counts
    var activeVersion = null;
    var sort = { key: 'where', down: false };
    var base = null;            // the active source: {entry, files, version, author, note, time}
    var draft = null;           // {entry, files}: what the editor changes
    var file = '';              // the file in the textarea
    var checked = null;         // the last check's answer, for the draft as it is
    var checkSeq = 0, checkTimer = null;
    var loaded = false;
    var shownChanged = '';

    // --- the active rules -------------------------------------------------

    function isNoisy(r) {
      return r.hour >= NOISY_HOUR ||
        (r.overturned >= OVERTURN_MIN && r.overturned >= OVERTURN_SHARE * Math.max(r.week, 1));
    }

    function loadRules() {
      return lib.api('rules').then(function (res) {
        var counts = {};
        list(res.data.counts).forEach(function (c) { if (c) { counts[c.rule] = c; } });
        activeVersion = res.data.version;
        rules = list(res.data.rules).map(function (r) {
          var c = counts[r.name] || {};
          return {
            name: str(r.name), kind: str(r.kind), effect: str(r.effect), note: str(r.note),
            shadow: !!r.shadow, file: str(r.file), line: Number(r.line) || 0,
            hour: Number(c.hour) || 0, day: Number(c.day) || 0, week: Number(c.week) || 0,
            overturned: Number(c.overturned) || 0
          };
        });
        renderRules();
      }).catch(function (err) { fail($('rules-body'), err, true); });
    }

    function sortValue(r, key) {
      if (key === 'where') { return [r.file, r.line]; }
      if (key === 'shadow') { return [r.shadow ? 0 : 1, r.name]; }
      return [r[key], r.name];
    }

    function compare(a, b) {
      var x = sortValue(a, sort.key), y = sortValue(b, sort.key);
      for (var i = 0; i < x.length; i++) {
        if (x[i] < y[i]) { return sort.down ? 1 : -1; }
        if (x[i] > y[i]) { return sort.down ? -1 : 1; }
      }
      return 0;
    }

    function renderRules() {
      // the version the workers judge with; who and when are the source's
      var same = base && base.version === activeVersion;
      $('rules-version').textContent = activeVersion === null || activeVersion === undefined ? ''
        : t('r.version', { v: activeVersion, who: same ? str(base.author) || '\u2014' : '\u2014',
                           when: same ? lib.fmtTime(ms(base.time)) : '' });
      var head = $('rules-head');
      head.textContent = '';
      COLUMNS.forEach(function (c) {
        var th = el('th', NUMERIC[c[0]] ? 'num' : null);
        var b = el('button', 'sort', t(c[1]));
        b.type = 'button';
        b.dataset.sort = c[0];
        if (sort.key === c[0]) {
          th.setAttribute('aria-sort', sort.down ? 'descending' : 'ascending');
          b.appendChild(el('span', 'arrow', sort.down ? ' \u25bc' : ' \u25b2'));
        }
        th.appendChild(b);
        head.appendChild(th);
      });
      var q = $('rules-filter').value.trim().toLowerCase();
      var flaggedOnly = $('rules-flagged').checked;
      var shown = rules.filter(function (r) {
        if (flaggedOnly && !isNoisy(r) && r.week !== 0) { return false; }
        return !q || (r.name + ' ' + r.note + ' ' + r.file).toLowerCase().indexOf(q) >= 0;
      }).sort(compare);
      var body = $('rules-body');
      body.textContent = '';
      shown.forEach(function (r) {
        var tr = el('tr');
        tr.dataset.rule = r.name;
        if (isNoisy(r)) { tr.classList.add('noisy'); }
        if (r.week === 0) { tr.classList.add('stale'); }
        var name = el('td', 'rname');
        name.appendChild(el('code', null, r.name));
        if (isNoisy(r)) { name.appendChild(el('span', 'flag noisy', t('r.noisy'))); }
        if (r.week === 0) { name.appendChild(el('span', 'flag stale', t('r.stale'))); }
        tr.appendChild(name);
        tr.appendChild(el('td', 'kind', r.kind));
        tr.appendChild(el('td', 'effect e-' + r.effect.split(' ')[0], r.effect));
        var note = el('td', 'note');
        note.appendChild(el('span', null, r.note));
        note.title = r.note;
        tr.appendChild(note);
        var sh = el('td', 'shadow');
        if (r.shadow) {
          sh.appendChild(el('span', 'flag', t('r.shadow')));
          var up = el('button', 'btn soft', t('r.sh.promote'));
          up.type = 'button';
          up.dataset.promote = r.name;
          up.title = t('r.sh.why');
          sh.appendChild(up);
        }
        tr.appendChild(sh);
        var where = el('td', 'where');
        var go = el('button', 'link', r.file + ':' + r.line);
        go.type = 'button';
        go.dataset.file = r.file;
        go.dataset.line = r.line;
        where.appendChild(go);
        tr.appendChild(where);
        ['hour', 'day', 'week', 'overturned'].forEach(function (k) {
          tr.appendChild(el('td', 'num ' + k, r[k].toLocaleString(lib.lang())));
        });
        body.appendChild(tr);
      });
      if (!shown.length) {
        var tr = el('tr', 'none');
        var td = el('td', 'muted', t('r.none'));
        td.colSpan = COLUMNS.length;
        tr.appendChild(td);
        body.appendChild(tr);
      }
    }

    // --- the source and the editor ------------------------------------------

    function ms(time) {
      var n = Number(time) || 0;
      return n && n < 1e12 ? n * 1000 : n;
    }

    function copyFiles(files) {
      var out = {};
      Object.keys(files || {}).forEach(function (k) { out[k] = str(files[k]); });
      return out;
    }

    function loadSource() {
      return lib.api('rules/source').then(function (res) {
        base = {
          entry: str(res.data.entry) || 'default.rules', files: copyFiles(res.data.files),
          version: res.data.version, author: res.data.author, note: res.data.note, time: res.data.time
        };
        draft = { entry: base.entry, files: copyFiles(base.files) };
        if (!(file in draft.files)) { file = draft.entry in draft.files ? draft.entry : fileNames()[0] || ''; }
        checked = null;
        renderFiles();
        showFile();
        renderRules();
        check();
      }).catch(function (err) {
        base = null;
        draft = null;
        $('rules-text').value = '';
        $('rules-text').disabled = true;
        setCheck(err.status === 404 ? t('r.nosource') : t('r.failed', { e: err.message || err }), 'bad');
      });
    }

    // the entry first, then the other rule files, then the lists
    function fileNames() {
      if (!draft) { return []; }
      return Object.keys(draft.files).sort(function (a, b) {
        var ra = a === draft.entry ? 0 : a.indexOf('/') < 0 ? 1 : 2;
        var rb = b === draft.entry ? 0 : b.indexOf('/') < 0 ? 1 : 2;
        return ra - rb || (a < b ? -1 : a > b ? 1 : 0);
      });
    }

    function changedFiles() {
      if (!draft || !base) { return []; }
      return fileNames().filter(function (f) { return base.files[f] !== draft.files[f]; });
    }

    function renderFiles() {
      var sel = $('rules-file'), lists = $('rules-list');
      var changed = changedFiles();
      shownChanged = changed.join('\n');
      sel.textContent = '';
      lists.textContent = '';
      fileNames().forEach(function (f) {
        var o = el('option', null, changed.indexOf(f) >= 0 ? f + ' \u2022 ' + t('r.changed') : f);
        o.value = f;
        sel.appendChild(o);
        if (/\.txt$/.test(f)) {
          var l = el('option', null, f);
          l.value = f;
          lists.appendChild(l);
        }
      });
      sel.value = file;
      if (draft && BRAND_LIST in draft.files) { lists.value = BRAND_LIST; }
      $('rules-revert').disabled = changed.indexOf(file) < 0;
      renderPublish();
    }

    function showFile() {
      var ta = $('rules-text');
      ta.disabled = !draft;
      ta.value = draft ? str(draft.files[file]) : '';
    }

    function edited() {
      if (!draft) { return; }
      draft.files[file] = $('rules-text').value;
      // the file list marks changed files: redrawn only when that changes
      if (changedFiles().join('\n') !== shownChanged) { renderFiles(); } else { renderPublish(); }
      scheduleCheck();
    }

    function draftBody(extra) {
      var body = { entry: draft.entry, files: draft.files };
      Object.keys(extra || {}).forEach(function (k) { body[k] = extra[k]; });
      return body;
    }

    function scheduleCheck() {
      checked = null;
      clearTimeout(checkTimer);
      setCheck(t('r.checking'), 'busy');
      renderPublish();
      checkTimer = setTimeout(check, CHECK_MS);
    }

    function check() {
      if (!draft) { return Promise.resolve(); }
      clearTimeout(checkTimer);
      var seq = ++checkSeq;
      setCheck(t('r.checking'), 'busy');
      return lib.post('rules/check', draftBody()).then(function (res) {
        if (seq !== checkSeq) { return; }
        checked = res.data;
        if (res.data.ok) {
          setCheck(t('r.valid', { n: Number(res.data.rules) || 0 }), 'good');
        } else {
          showError(str(res.data.error));
        }
        renderPublish();
      }).catch(function (err) {
        if (seq !== checkSeq) { return; }
        setCheck(t('r.failed', { e: err.message || err }), 'bad');
      });
    }

    function setCheck(text, how) {
      var p = $('rules-check');
      p.textContent = text;
      p.className = 'check-line ' + (how || '');
    }

    // "file:12: reason": the message as the compiler wrote it, and a way there
    function showError(message) {
      var p = $('rules-check');
      p.className = 'check-line bad';
      p.textContent = '';
      p.appendChild(el('strong', null, t('r.invalid') + ': '));
      p.appendChild(el('code', 'msg', message));
      var m = /^([^:\s]+):(\d+):/.exec(message);
      if (m && draft && m[1] in draft.files) {
        var go = el('button', 'link', t('r.goto'));
        go.type = 'button';
        go.dataset.file = m[1];
        go.dataset.line = m[2];
        p.appendChild(go);
      }
    }

    function openFile(name, line) {
      if (!draft || !(name in draft.files)) { return; }
      file = name;
      renderFiles();
      showFile();
      var ta = $('rules-text');
      var lines = ta.value.split('\n');
      var n = Math.max(1, Math.min(Number(line) || 1, lines.length));
      var start = 0;
      for (var i = 0; i < n - 1; i++) { start += lines[i].length + 1; }
      ta.focus();
      ta.setSelectionRange(start, start + lines[n - 1].length);
      // about where the line is: the textarea has no API to scroll to one
      var lineHeight = parseFloat(getComputedStyle(ta).lineHeight) || 18;
      ta.scrollTop = Math.max(0, (n - 4) * lineHeight);
      $('rules-edit').scrollIntoView({ block: 'start' });
    }

    // a new brand: one more line in a word list, written like its other lines
    function addBrand(e) {
      e.preventDefault();
      var msg = $('rules-quick-msg');
      var word = $('rules-brand').value.trim().toLowerCase();
      var target = $('rules-list').value;
      if (!draft || !target) { return; }
      if (!word || /\s|\*/.test(word)) { msg.textContent = t('r.brand.bad'); msg.className = 'bad'; return; }
      var text = str(draft.files[target]);
      var lines = text.split('\n');
      var entries = lines.map(function (l) { return l.trim(); }).filter(function (l) { return l && l.charAt(0) !== '#'; });
      // judol-sites.txt writes *name*: a name glued to other words is found too
      var starred = entries.length && entries.filter(function (l) { return /^\*.*\*$/.test(l); }).length * 2 > entries.length;
      var line = starred ? '*' + word + '*' : word;
      if (entries.indexOf(line) >= 0 || entries.indexOf(word) >= 0) {
        msg.textContent = t('r.brand.there', { w: word, f: target });
        msg.className = 'muted';
        return;
      }
      draft.files[target] = text + (text && text.slice(-1) !== '\n' ? '\n' : '') + line + '\n';
      msg.textContent = t('r.brand.added', { w: word, f: target });
      msg.className = 'good';
      $('rules-brand').value = '';
      file = target;
      renderFiles();
      showFile();
      var ta = $('rules-text');
      ta.scrollTop = ta.scrollHeight;
      if (!$('pub-note').value) { $('pub-note').value = line.replace(/\*/g, ''); }
      scheduleCheck();
    }

    function revertFile() {
      if (!draft || !base || !(file in base.files)) { return; }
      draft.files[file] = base.files[file];
      renderFiles();
      showFile();
      scheduleCheck();
    }

    // --- try it -----------------------------------------------------------------

    function decision(d) {
      d = str(d);
      return el('span', 'decision d-' + d, WORDS['d.' + d] ? t('d.' + d) : d);
    }

    function runTry(e) {
      e.preventDefault();
      if (!draft) { return; }
      var box = $('try-result');
      var input = {
        text: $('try-text').value, name: $('try-name').value.trim(),
        email: $('try-email').value.trim(), ip: $('try-ip').value.trim(),
        article: $('try-article').value.trim(), section: $('try-section').value.trim()
      };
      var body = draftBody({ text: input.text });
      ['name', 'email', 'ip', 'article', 'section'].forEach(function (k) { if (input[k]) { body[k] = input[k]; } });
      busy(box);
      lib.post('rules/try', body).then(function (res) {
        var r = res.data;
        box.textContent = '';
        if (!r.ok) { box.appendChild(el('p', 'bad', t('r.failed', { e: str(r.error) }))); return; }
        var head = el('p', 'verdict');
        head.appendChild(decision(r.decision));
        var score = Number(r.score) || 0;
        head.appendChild(el('span', 'score ' + (score >= 10 ? 'hi' : score >= 5 ? 'mid' : 'lo'), t('score', { n: score })));
        if (r.reason) { head.appendChild(el('span', 'reason', r.reason)); }
        box.appendChild(head);
        var hits = list(r.hits);
        box.appendChild(hits.length ? lib.hitsList(hits) : el('p', 'muted', t('r.try.nohits')));
        box.appendChild(lib.highlighted(el('p', 'text'), input.text, r.spans, 'text'));
        ['name', 'email'].forEach(function (f) {
          var marked = list(r.spans).some(function (sp) { return sp && sp.field === f; });
          if (input[f] && marked) { box.appendChild(lib.highlighted(el('p', 'field ' + f), input[f], r.spans, f)); }
        });
        if (r.folded) {
          var f = el('p', 'folded');
          f.appendChild(el('span', 'muted', t('r.try.folded') + ': '));
          f.appendChild(el('code', null, r.folded));
          box.appendChild(f);
        }
      }).catch(function (err) { fail(box, err); });
    }

    // --- backtest -------------------------------------------------------------------

    // a backtest's answer: the totals and the comments whose decision changes
    function showBacktest(box, r) {
      box.textContent = '';
      if (!r.ok) { box.appendChild(el('p', 'bad', t('r.failed', { e: str(r.error) }))); return; }
      box.appendChild(el('p', 'muted', t('r.bt.total', { n: Number(r.total) || 0 })));
      var totals = el('div', 'totals');
      [['changed', 'r.bt.changed'], ['agree', 'r.bt.agree'], ['disagree', 'r.bt.disagree']].forEach(function (k) {
        var s = el('span', 'total t-' + k[0]);
        s.appendChild(el('b', null, Number(r[k[0]]) || 0));
        s.appendChild(document.createTextNode(' ' + t(k[1])));
        totals.appendChild(s);
      });
      box.appendChild(totals);
      var flips = list(r.comments);
      if (!flips.length) { box.appendChild(el('p', 'muted', t('r.bt.none'))); return; }
      var ol = el('ol', 'flips');
      flips.forEach(function (c) {
        var li = el('li', 'flip');
        li.dataset.id = str(c.id);
        // was: the active rules' decision; now: the draft's; outcome: what
        // became of it in the end (moderators included)
        var line = el('div', 'flip-head');
        line.appendChild(el('span', 'muted', t('r.bt.was')));
        line.appendChild(decision(c.was));
        line.appendChild(el('span', 'arrow', '\u2192'));
        line.appendChild(el('span', 'muted', t('r.bt.now')));
        line.appendChild(decision(c.now));
        if (c.outcome) {
          line.appendChild(el('span', 'muted', t('r.bt.outcome')));
          line.appendChild(decision(c.outcome));
        }
        line.appendChild(el('span', 'state s-' + str(c.state),
          WORDS['tab.' + c.state] ? t('tab.' + c.state) : str(c.state)));
        if (c.moderator) { line.appendChild(el('span', 'muted', str(c.moderator))); }
        if (c.rules) { line.appendChild(el('code', 'rules', str(c.rules))); }
        li.appendChild(line);
        li.appendChild(el('p', 'snippet', str(c.text)));
        ol.appendChild(li);
      });
      box.appendChild(ol);
    }

    function runBacktest(e) {
      e.preventDefault();
      if (!draft) { return; }
      var box = $('bt-result');
      var limit = Math.max(1, Math.min(Number($('bt-limit').value) || 500, 5000));
      busy(box);
      lib.post('rules/backtest', draftBody({ limit: limit })).then(function (res) {
        showBacktest(box, res.data);
      }).catch(function (err) { fail(box, err); });
    }

    // --- shadow rules: what they would have changed; promote -------------------------

    // the panel under the table: the stored comments the shadow rule would
    // have changed (the server's backtest of the set with it promoted), and
    // the button that promotes it
    function previewShadow(name) {
      var box = $('shadow-result');
      box.textContent = '';
      box.dataset.rule = name;
      box.appendChild(el('h3', null, t('r.sh.effect', { r: name })));
      var body = el('div', 'shadow-body');
      box.appendChild(body);
      var acts = el('div', 'row');
      var yes = el('button', 'btn ok', t('r.sh.yes'));
      yes.type = 'button';
      yes.dataset.promoteYes = name;
      acts.appendChild(yes);
      var no = el('button', 'btn plain', t('r.v.no'));
      no.type = 'button';
      no.dataset.promoteNo = '1';
      acts.appendChild(no);
      acts.appendChild(el('span', 'msg', ''));
      box.appendChild(acts);
      busy(body);
      lib.post('rules/promote', { rule: name, preview: true, limit: 500 }).then(function (res) {
        showBacktest(body, res.data);
      }).catch(function (err) { fail(body, err); });
      box.scrollIntoView({ block: 'nearest' });
    }

    function promote(name) {
      var box = $('shadow-result');
      var msg = box.querySelector('.msg');
      // publishing from the server starts the editor again from the new version
      if (dirty() && !window.confirm(t('r.sh.lose'))) { return; }
      box.querySelector('[data-promote-yes]').disabled = true;
      lib.post('rules/promote', { rule: name }).then(function (res) {
        if (!res.data.ok) { throw new Error(str(res.data.error)); }
        box.textContent = '';
        var out = $('pub-result');
        out.textContent = t('r.sh.done', { r: name, v: res.data.version, p: res.data.previous });
        out.className = 'result good';
        box.appendChild(el('p', 'good', out.textContent));
        return reloadUntil(res.data.version);
      }).catch(function (err) {
        msg.textContent = t('r.failed', { e: err.message || err });
        msg.className = 'msg bad';
        var yes = box.querySelector('[data-promote-yes]');
        if (yes) { yes.disabled = false; }
      });
    }

    // an unpublished draft: leaving the tab or the page asks first
    function dirty() {
      return changedFiles().length > 0;
    }

    // --- publish, versions, rollback ---------------------------------------------------

    // the lines the draft removes (-) and adds (+), with their line numbers:
    // the common start and end set aside, the middle by longest common subsequence
    function lineDiff(before, after) {
      var a = before.split('\n'), b = after.split('\n');
      var head = 0, ta = a.length, tb = b.length;
      while (head < ta && head < tb && a[head] === b[head]) { head++; }
      while (ta > head && tb > head && a[ta - 1] === b[tb - 1]) { ta--; tb--; }
      var n = ta - head, m = tb - head;
      if (n * m > DIFF_CELLS) {      // too different to be worth aligning
        return a.slice(head, ta).map(function (x, i) { return ['-', head + i + 1, x]; })
          .concat(b.slice(head, tb).map(function (x, i) { return ['+', head + i + 1, x]; }));
      }
      var lcs = [];
      for (var i = n; i >= 0; i--) {
        lcs[i] = [];
        for (var j = m; j >= 0; j--) {
          lcs[i][j] = i === n || j === m ? 0 : a[head + i] === b[head + j]
            ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
        }
      }
      var out = [];
      i = 0;
      j = 0;
      while (i < n || j < m) {
        if (i < n && j < m && a[head + i] === b[head + j]) { i++; j++; } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
          out.push(['-', head + i + 1, a[head + i]]);      // removed lines first
          i++;
        } else {
          out.push(['+', head + j + 1, b[head + j]]);
          j++;
        }
      }
      return out;
    }

    function renderPublish() {
      var changed = changedFiles();
      $('pub-changes').textContent = !draft ? '' : changed.length
        ? t('r.pub.changes', { f: changed.join(', ') }) : t('r.pub.nochange');
      $('pub-run').disabled = !draft || !changed.length || !(checked && checked.ok);
      clearTimeout(diffTimer);
      diffTimer = setTimeout(renderDiff, CHECK_MS);
    }

    var diffTimer = null;

    // one changed line: +/- and its text, with its number when known
    function diffRow(op, number, text) {
      var row = el('div', 'diff-line ' + (op === '+' ? 'add' : 'del'));
      row.appendChild(el('span', 'ln', number === null ? '' : number));
      row.appendChild(el('span', 'op', op));
      row.appendChild(el('span', 'src', str(text)));
      return row;
    }

    function renderDiff() {
      var box = $('pub-diff');
      box.textContent = '';
      changedFiles().forEach(function (f) {
        var lines = lineDiff(str(base.files[f]), str(draft.files[f]));
        box.appendChild(el('div', 'diff-file', f));
        lines.slice(0, DIFF_LINES).forEach(function (d) { box.appendChild(diffRow(d[0], d[1], d[2])); });
        if (lines.length > DIFF_LINES) { box.appendChild(el('div', 'muted', t('r.pub.more', { n: lines.length - DIFF_LINES }))); }
      });
    }

    function publish(e) {
      e.preventDefault();
      var out = $('pub-result');
      var note = $('pub-note').value.trim();
      if (!draft) { return; }
      if (!note) { out.textContent = t('r.pub.needs'); out.className = 'result bad'; $('pub-note').focus(); return; }
      if (!(checked && checked.ok)) { out.textContent = t('r.pub.broken'); out.className = 'result bad'; return; }
      $('pub-run').disabled = true;
      out.textContent = t('loading');
      out.className = 'result';
      // someone else published since this draft was opened: say so, and
      // publish only on a second click
      lib.api('rules/versions').then(function (res) {
        var newer = list(res.data.versions).filter(function (v) { return v.version === res.data.active; })[0];
        if (res.data.active !== base.version && overrule !== res.data.active) {
          overrule = res.data.active;
          out.textContent = t('r.pub.newer', { v: res.data.active, who: str(newer && newer.author) || '\u2014', mine: base.version });
          out.className = 'result bad';
          $('pub-run').textContent = t('r.pub.anyway');
          $('pub-run').disabled = false;
          return null;
        }
        return lib.post('rules/publish', draftBody({ note: note }));
      }).then(function (res) {
        if (!res) { return null; }
        if (!res.data.ok) { throw new Error(str(res.data.error)); }
        out.textContent = t('r.pub.done', { v: res.data.version, p: res.data.previous });
        out.className = 'result good';
        $('pub-note').value = '';
        overrule = null;
        $('pub-run').textContent = t('r.pub.run');
        return reloadUntil(res.data.version);
      }).catch(function (err) {
        out.textContent = t('r.failed', { e: err.message || err });
        out.className = 'result bad';
        renderPublish();
      });
    }

    var overrule = null;        // the newer active version the editor chose to replace
    var versionsData = null;
    var confirming = null;      // the version whose rollback asks "sure?"

    function loadVersions() {
      return lib.api('rules/versions').then(function (res) {
        versionsData = res.data;
        renderVersions();
      }).catch(function (err) { fail($('versions'), err); });
    }

    function renderVersions() {
      var ol = $('versions');
      ol.textContent = '';
      if (!versionsData) { return; }
      var vs = list(versionsData.versions);
      if (!vs.length) { ol.appendChild(el('li', 'muted', t('r.v.none'))); }
      vs.forEach(function (v) {
        var active = v.version === versionsData.active;
        var li = el('li', 'version' + (active ? ' active' : ''));
        li.dataset.version = v.version;
        var head = el('div', 'v-head');
        head.appendChild(el('b', 'v-num', 'v' + v.version));
        if (active) { head.appendChild(el('span', 'flag on', t('r.v.active'))); }
        head.appendChild(el('span', 'by', str(v.author) || '\u2014'));
        head.appendChild(el('time', 'muted', lib.fmtTime(ms(v.time))));
        head.appendChild(el('span', 'muted', t('r.v.files', { n: Number(v.files) || 0 })));
        var older = vs[vs.indexOf(v) + 1];
        if (older) {
          var d = el('button', 'btn plain', shownDiff[v.version] ? t('r.v.hide') : t('r.v.diff'));
          d.type = 'button';
          d.dataset.diff = v.version;
          d.dataset.from = older.version;
          head.appendChild(d);
        }
        if (!active) {
          var b = el('button', 'btn soft', t('r.v.rollback'));
          b.type = 'button';
          b.dataset.rollback = v.version;
          head.appendChild(b);
        }
        li.appendChild(head);
        if (v.note) { li.appendChild(el('p', 'v-note', str(v.note))); }
        if (shownDiff[v.version]) { li.appendChild(versionDiff(shownDiff[v.version])); }
        if (confirming === v.version && !active) { li.appendChild(confirmForm(v.version)); }
        ol.appendChild(li);
      });
    }

    // asks on the page (no browser dialog): the version, a required note, yes / cancel
    function confirmForm(version) {
      var f = el('form', 'confirm');
      f.dataset.version = version;
      f.appendChild(el('strong', null, t('r.v.confirm', { v: version })));
      var note = el('input');
      note.type = 'text';
      note.name = 'note';
      note.required = true;
      note.placeholder = t('r.v.note');
      note.setAttribute('aria-label', t('r.v.note'));
      f.appendChild(note);
      var yes = el('button', 'btn no', t('r.v.yes'));
      yes.type = 'submit';
      f.appendChild(yes);
      var no = el('button', 'btn plain', t('r.v.no'));
      no.type = 'button';
      no.dataset.cancel = '1';
      f.appendChild(no);
      f.appendChild(el('span', 'msg', ''));
      setTimeout(function () { note.focus(); }, 0);
      return f;
    }

    function rollback(form) {
      var version = Number(form.dataset.version);
      var note = form.elements.note.value.trim();
      var msg = form.querySelector('.msg');
      if (!note) { msg.textContent = t('r.pub.needs'); msg.className = 'msg bad'; form.elements.note.focus(); return; }
      form.querySelector('button[type="submit"]').disabled = true;
      lib.post('rules/rollback', { version: version, note: note }).then(function (res) {
        if (!res.data.ok) { throw new Error(str(res.data.error)); }
        confirming = null;
        var out = $('pub-result');
        out.textContent = t('r.v.done', { v: res.data.version, p: res.data.previous });
        out.className = 'result good';
        return reloadUntil(res.data.version);
      }).catch(function (err) {
        msg.textContent = t('r.failed', { e: err.message || err });
        msg.className = 'msg bad';
        form.querySelector('button[type="submit"]').disabled = false;
      });
    }

    // what a version changed against the one before it (api/rules/diff)
    var shownDiff = {};         // version -> its diff answer, while shown

    function toggleDiff(version, from) {
      if (shownDiff[version]) { delete shownDiff[version]; renderVersions(); return; }
      shownDiff[version] = { loading: true };
      renderVersions();
      lib.api('rules/diff?from=' + encodeURIComponent(from) + '&to=' + encodeURIComponent(version)).then(function (res) {
        shownDiff[version] = res.data;
      }).catch(function (err) {
        shownDiff[version] = { failed: err.message || String(err) };
      }).then(function () {
        if (shownDiff[version]) { renderVersions(); }
      });
    }

    function versionDiff(d) {
      var box = el('div', 'diff');
      if (d.loading) { box.appendChild(el('p', 'muted', t('loading'))); return box; }
      if (d.failed) { box.appendChild(el('p', 'bad', t('error.load', { e: d.failed }))); return box; }
      var files = list(d.files);
      if (!files.length) { box.appendChild(el('p', 'muted', t('r.v.same'))); }
      files.forEach(function (f) {
        var name = el('div', 'diff-file', str(f.file));
        if (f['new']) { name.appendChild(el('span', 'flag on', t('r.v.new'))); }
        if (f.gone) { name.appendChild(el('span', 'flag stale', t('r.v.gone'))); }
        box.appendChild(name);
        var rows = list(f.removed).map(function (x) { return ['-', x]; })
          .concat(list(f.added).map(function (x) { return ['+', x]; }));
        rows.slice(0, DIFF_LINES).forEach(function (r) { box.appendChild(diffRow(r[0], null, r[1])); });
        if (rows.length > DIFF_LINES) { box.appendChild(el('div', 'muted', t('r.pub.more', { n: rows.length - DIFF_LINES }))); }
      });
      return box;
    }

    function onVersionsClick(e) {
      var diff = e.target.closest('[data-diff]');
      if (diff) { toggleDiff(Number(diff.dataset.diff), Number(diff.dataset.from)); return; }
      var b = e.target.closest('[data-rollback]');
      if (b) { confirming = Number(b.dataset.rollback); renderVersions(); return; }
      if (e.target.closest('[data-cancel]')) { confirming = null; renderVersions(); }
    }

    // --- the whole tab -----------------------------------------------------------

    function busy(box) {
      box.textContent = '';
      box.appendChild(el('p', 'muted', t('loading')));
    }

    function fail(box, err, row) {
      box.textContent = '';
      var text = t('error.load', { e: err.message || err });
      if (row) {
        var tr = el('tr', 'none');
        var td = el('td', 'bad', text);
        td.colSpan = COLUMNS.length;
        tr.appendChild(td);
        box.appendChild(tr);
      } else {
        box.appendChild(el(box.tagName === 'OL' ? 'li' : 'p', 'bad', text));
      }
    }

    function reloadAll() {
      return Promise.all([loadSource(), loadVersions()]).then(loadRules);
    }

    // after a publish or rollback: the workers switch within a second or so;
    // the table follows once they judge with the new version
    function reloadUntil(version) {
      var tries = 0;
      function again() {
        if (activeVersion === version || ++tries > SWITCH_TRIES) { return Promise.resolve(); }
        return new Promise(function (done) { setTimeout(done, SWITCH_WAIT_MS); }).then(loadRules).then(again);
      }
      return reloadAll().then(again);
    }

    function show() {
      // coming back keeps the draft; the counts and versions are fetched again
      if (loaded) { return Promise.all([loadVersions(), loadRules()]); }
      loaded = true;
      return reloadAll();
    }

    function render() {
      renderRules();
      renderFiles();
      renderVersions();
      if (checked) {
        if (checked.ok) { setCheck(t('r.valid', { n: Number(checked.rules) || 0 }), 'good'); } else { showError(str(checked.error)); }
      }
    }

    $('rules-head').addEventListener('click', function (e) {
      var b = e.target.closest('[data-sort]');
      if (!b) { return; }
      var key = b.dataset.sort;
      // numbers start with the largest, words with a
      sort = sort.key === key ? { key: key, down: !sort.down } : { key: key, down: !!NUMERIC[key] };
      renderRules();
    });
    $('rules-filter').addEventListener('input', renderRules);
    $('rules-flagged').addEventListener('change', renderRules);
    $('rules-body').addEventListener('click', function (e) {
      var up = e.target.closest('[data-promote]');
      if (up) { previewShadow(up.dataset.promote); return; }
      var b = e.target.closest('[data-file]');
      if (b) { openFile(b.dataset.file, b.dataset.line); }
    });
    $('shadow-result').addEventListener('click', function (e) {
      var yes = e.target.closest('[data-promote-yes]');
      if (yes) { promote(yes.dataset.promoteYes); return; }
      if (e.target.closest('[data-promote-no]')) { $('shadow-result').textContent = ''; }
    });
    window.addEventListener('beforeunload', function (e) {
      if (!dirty()) { return; }
      e.preventDefault();
      e.returnValue = '';
    });
    $('rules-check').addEventListener('click', function (e) {
      var b = e.target.closest('[data-file]');
      if (b) { openFile(b.dataset.file, b.dataset.line); }
    });
    $('rules-file').addEventListener('change', function () {
      file = $('rules-file').value;
      renderFiles();
      showFile();
    });
    $('rules-text').addEventListener('input', edited);
    $('rules-text').addEventListener('keydown', function (e) {
      // Tab indents, as in the files (four spaces), instead of leaving the editor
      if (e.key !== 'Tab' || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey) { return; }
      e.preventDefault();
      document.execCommand('insertText', false, '    ');
    });
    $('rules-revert').addEventListener('click', revertFile);
    $('rules-quick').addEventListener('submit', addBrand);
    $('try-form').addEventListener('submit', runTry);
    $('try-text').addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { runTry(e); }
    });
    $('bt-form').addEventListener('submit', runBacktest);
    $('pub-form').addEventListener('submit', publish);
    $('versions').addEventListener('click', onVersionsClick);
    $('versions').addEventListener('submit', function (e) {
      e.preventDefault();
      rollback(e.target);
    });

    return { show: show, load: reloadAll, render: render, dirty: dirty };
  };
}());
