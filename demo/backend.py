#!/usr/bin/python3
"""The demo's comment backend: a stand-in for a news site's CMS.

It is NOT part of the module.  nginx (with the module) sits in front of it:
GET / renders the article with its published comments and a comment form,
POST /comments stores what nginx let through.  A comment that the module
marked `X-Comment-Moderation: queue` is stored as pending and not shown.

Standard library only.  Usage:
    backend.py [--port N] [--data DIR] [--article FILE]
(defaults: $DEMO_BACKEND_PORT or 8081, demo/run, ../shared/seed/article.txt)
"""

import argparse
import base64
import email.parser
import email.policy
import hashlib
import html
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = "Kabar Nusantara"
ARTICLE_ID = "1"
MAX_BODY = 1024 * 1024
MODERATION_HEADERS = ("X-Comment-Moderation", "X-Comment-Moderation-Score",
                      "X-Comment-Moderation-Rules")
WIB = 7 * 3600
MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli",
          "Agustus", "September", "Oktober", "November", "Desember")
DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")

FALLBACK_ARTICLE = """\
Warga Desa Sukamaju Gotong Royong Bangun Jembatan Bambu
Senin, 3 Maret 2025 - 09:15 WIB
GARUT - Ratusan warga Desa Sukamaju bergotong royong membangun jembatan bambu yang menghubungkan dua dusun setelah jembatan lama hanyut diterjang banjir.
Kepala desa mengatakan pekerjaan ditargetkan selesai dalam dua pekan. "Anak-anak harus bisa kembali ke sekolah secepatnya," ujarnya.
Pemerintah kabupaten berjanji membangun jembatan permanen tahun depan.
"""


# --- the article -------------------------------------------------------------

class Article:
    """Title, date line and paragraphs from a plain-text file (first line
    title, second line date, the rest paragraphs)."""

    def __init__(self, path):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError:
            text = FALLBACK_ARTICLE
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        self.title = lines[0] if lines else "Tanpa judul"
        self.date = lines[1] if len(lines) > 1 else ""
        self.paragraphs = []
        self.credit = ""
        seen = set()
        for line in lines[2:]:
            # scraped copies end with the editor's initials and the old
            # comment box label, and sometimes repeat whole paragraphs
            if line.lower() == "tulis komentar anda":
                continue
            if line.startswith("(") and line.endswith(")") and len(line) < 12:
                self.credit = line
                continue
            if line in seen:
                continue
            seen.add(line)
            self.paragraphs.append(line)

    def body_html(self):
        out = []
        for i, para in enumerate(self.paragraphs):
            text, related = split_related(para)
            text = html.escape(text)
            if i == 0 and " - " in text[:40]:
                place, rest = text.split(" - ", 1)
                text = f'<strong class="dateline">{place}</strong> &ndash; {rest}'
            out.append(f"<p>{text}</p>")
            for title in related:
                out.append('<aside class="related"><span>Baca juga</span>'
                           f'<a href="#">{html.escape(title)}</a></aside>')
        if self.credit:
            out.append(f'<p class="credit">{html.escape(self.credit)}</p>')
        return "\n".join(out)


def split_related(para):
    """Pulls "( Baca juga: TITLE )" links out of a paragraph."""
    related = []
    marker = "( Baca juga:"
    while marker in para:
        start = para.index(marker)
        end = para.find(")", start)
        if end < 0:
            break
        related.append(para[start + len(marker):end].strip())
        para = (para[:start].rstrip() + " " + para[end + 1:].lstrip()).strip()
    return para, related


# --- the comment store ---------------------------------------------------------

class Store:
    """Comments as JSON lines in one file; the whole list is kept in memory."""

    def __init__(self, path):
        self.path = Path(path)
        self.lock = threading.Lock()
        self.comments = []
        if self.path.exists():
            with self.path.open(encoding="utf-8") as f:
                self.comments = [json.loads(ln) for ln in f if ln.strip()]

    def add(self, record):
        with self.lock:
            record["id"] = len(self.comments) + 1
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.comments.append(record)
            return record["id"]

    def published(self, article_id):
        with self.lock:
            return [c for c in self.comments
                    if c["status"] == "published"
                    and c.get("article_id", ARTICLE_ID) == article_id]

    def all(self):
        with self.lock:
            return list(self.comments)


# --- request bodies ----------------------------------------------------------

class BadBody(Exception):
    pass


def parse_body(content_type, body):
    """Returns the form fields (name -> str) of an urlencoded, multipart or
    JSON body; the first value wins when a name repeats."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    try:
        if ctype == "application/x-www-form-urlencoded":
            pairs = urllib.parse.parse_qsl(body.decode("utf-8"),
                                           keep_blank_values=True,
                                           strict_parsing=False,
                                           errors="strict")
            fields = {}
            for name, value in pairs:
                fields.setdefault(name, value)
            return fields
        if ctype == "multipart/form-data":
            return parse_multipart(content_type, body)
        if ctype == "application/json" or ctype.endswith("+json"):
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                raise BadBody("JSON body is not an object")
            return {k: v if isinstance(v, str) else json.dumps(v)
                    for k, v in data.items()
                    if v is not None}
    except (UnicodeDecodeError, ValueError) as e:
        raise BadBody(str(e)) from e
    raise BadBody(f"unsupported Content-Type: {ctype or 'none'}")


def parse_multipart(content_type, body):
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n"
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        head.encode("latin-1") + body)
    if not msg.is_multipart():
        raise BadBody("malformed multipart body")
    fields = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name or part.get_filename():
            continue
        payload = part.get_payload(decode=True) or b""
        fields.setdefault(name, payload.decode("utf-8"))
    return fields


# --- pages -------------------------------------------------------------------

def wib(ts):
    """"Senin, 24 November 2025 - 04:40 WIB" for a UNIX time."""
    t = time.gmtime(ts + WIB)
    return (f"{DAYS[t.tm_wday]}, {t.tm_mday} {MONTHS[t.tm_mon - 1]} "
            f"{t.tm_year} - {t.tm_hour:02d}:{t.tm_min:02d} WIB")


def avatar_color(name):
    hue = int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:4], 16) % 360
    return f"hsl({hue} 45% 42%)"


NOTICES = {
    "rejected": ("error", "Komentar Anda tidak dapat diterbitkan karena "
                 "melanggar pedoman komunitas kami."),
    "queued": ("wait", "Komentar Anda menunggu moderasi dan akan tampil "
               "setelah diperiksa redaksi."),
    "posted": ("ok", "Terima kasih, komentar Anda telah diterbitkan."),
    "invalid": ("error", "Komentar tidak dapat dikirim. Periksa kembali "
                "isian Anda."),
}


def notice_for(query):
    q = urllib.parse.parse_qs(query)
    cm = (q.get("cm") or [""])[-1]
    if cm in NOTICES:
        return NOTICES[cm]
    if q.get("posted"):
        return NOTICES["posted"]
    return None


def comment_html(c):
    name = c.get("name") or "Anonim"
    initial = html.escape(name.strip()[:1].upper() or "?")
    return f"""<li class="comment">
  <div class="avatar" style="background:{avatar_color(name)}">{initial}</div>
  <div class="comment-body">
    <div class="comment-head"><span class="comment-name">{html.escape(name)}</span>
      <time>{html.escape(wib(c["time"]))}</time></div>
    <p class="comment-text">{html.escape(c.get("comment", ""))}</p>
  </div>
</li>"""


def article_page(article, comments, notice):
    now = wib(time.time()).split(" - ")[0]
    if comments:
        items = "\n".join(comment_html(c) for c in comments)
        listing = f'<ol class="comments">\n{items}\n</ol>'
    else:
        listing = ('<p class="empty">Belum ada komentar. '
                   'Jadilah yang pertama berkomentar.</p>')
    notice_html = ""
    if notice:
        kind, text = notice
        notice_html = (f'<div class="notice notice-{kind}" role="status" '
                       f'id="cm-notice">{html.escape(text)}</div>')
    return PAGE.format(
        site=html.escape(SITE),
        title=html.escape(article.title),
        date=html.escape(article.date),
        today=html.escape(now),
        body=article.body_html(),
        count=len(comments),
        comments=listing,
        notice=notice_html,
        article_id=html.escape(ARTICLE_ID, quote=True),
        css=CSS,
        figure=FIGURE_SVG,
        scroll=SCROLL_JS if notice else "",
    )


def simple_page(title, text):
    return (f'<!doctype html><html lang="id"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{html.escape(title)} - {SITE}</title><style>{CSS}</style>'
            f'</head><body><main class="simple"><h1>{html.escape(title)}</h1>'
            f'<p>{html.escape(text)}</p><p><a href="/">Kembali ke beranda</a>'
            f'</p></main></body></html>')


CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f4f4f2;color:#1d1d1f;
 font:17px/1.65 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
a{color:#b3121f;text-decoration:none}a:hover{text-decoration:underline}
.topbar{background:#1d1d1f;color:#c9c9c9;font-size:13px}
.wrap{max-width:1160px;margin:0 auto;padding:0 20px}
.topbar .wrap{display:flex;justify-content:space-between;padding-top:6px;padding-bottom:6px}
.topbar a{color:#fff}
header.site{background:#fff;border-bottom:1px solid #e3e3e0}
header.site .wrap{display:flex;align-items:baseline;gap:18px;padding-top:18px;padding-bottom:14px;flex-wrap:wrap}
.logo{font:800 34px/1 Georgia,"Times New Roman",serif;color:#1d1d1f;letter-spacing:-.5px}
.logo span{color:#b3121f}.logo:hover{text-decoration:none}
.tagline{color:#77776f;font-size:14px;font-style:italic}
nav.main{background:#b3121f}
nav.main ul{list-style:none;margin:0 auto;padding:0 20px;max-width:1160px;display:flex;overflow-x:auto;white-space:nowrap;scrollbar-width:none}
nav.main ul::-webkit-scrollbar{display:none}
nav.main a{display:block;color:#fff;padding:11px 14px;font-weight:600;font-size:15px}
nav.main a.active,nav.main a:hover{background:#8f0e18;text-decoration:none}
.layout{display:grid;grid-template-columns:minmax(0,1fr) 320px;gap:32px;padding-top:28px;padding-bottom:48px}
article,.box,section.discussion{background:#fff;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
article{padding:28px 36px 32px}
.crumbs{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:#b3121f;font-weight:700}
.crumbs span{color:#9a9a92;margin:0 6px}
h1.title{font:700 36px/1.2 Georgia,"Times New Roman",serif;margin:10px 0 14px}
.meta{color:#6d6d66;font-size:14px;border-bottom:1px solid #ecece8;padding-bottom:14px;display:flex;flex-wrap:wrap;gap:6px 16px}
.meta b{color:#1d1d1f}
figure{margin:22px 0 20px}
figure svg{display:block;width:100%;height:auto;border-radius:4px}
figcaption{font-size:13px;color:#77776f;margin-top:6px}
.content p{margin:0 0 1.05em}
.dateline{text-transform:uppercase;letter-spacing:.02em}
.related{border-left:4px solid #b3121f;background:#fbf3f3;padding:10px 14px;margin:0 0 1.2em;font-size:15px}
.related span{display:block;font-size:12px;font-weight:700;text-transform:uppercase;color:#b3121f;letter-spacing:.06em}
.related a{color:#1d1d1f;font-weight:600}
.credit{color:#8a8a82;font-size:14px}
.tags{display:flex;flex-wrap:wrap;gap:8px;margin-top:20px}
.tags a{background:#f0f0ec;color:#44443f;border-radius:99px;padding:4px 12px;font-size:13px}
section.discussion{padding:26px 36px 32px;margin-top:24px}
section.discussion h2{font:700 24px/1.3 Georgia,serif;margin:0 0 4px}
.rules-note{color:#77776f;font-size:14px;margin:0 0 18px}
.comments{list-style:none;margin:0 0 24px;padding:0}
.comment{display:flex;gap:14px;padding:16px 0;border-top:1px solid #ecece8}
.avatar{flex:0 0 40px;height:40px;border-radius:50%;color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center}
.comment-body{min-width:0;flex:1}
.comment-head{display:flex;flex-wrap:wrap;gap:4px 12px;align-items:baseline}
.comment-name{font-weight:700}
.comment-head time{color:#8a8a82;font-size:13px}
.comment-text{margin:4px 0 0;white-space:pre-line;overflow-wrap:anywhere}
.empty{color:#77776f;font-style:italic;border-top:1px solid #ecece8;padding-top:14px}
.notice{padding:12px 16px;border-radius:5px;margin:0 0 18px;font-weight:600}
.notice-error{background:#fdecec;color:#8f0e18;border:1px solid #f3b9bd}
.notice-wait{background:#fff7e0;color:#6b4e00;border:1px solid #f1d98a}
.notice-ok{background:#eaf6ec;color:#1f5f2c;border:1px solid #b7dfbf}
form.comment-form{background:#fafaf8;border:1px solid #e6e6e1;border-radius:6px;padding:20px}
form.comment-form h3{margin:0 0 12px;font-size:19px}
.row{display:grid;grid-template-columns:1fr 1fr;gap:14px}
label{display:block;font-size:14px;font-weight:600;margin-bottom:12px}
label small{font-weight:400;color:#8a8a82}
input,textarea{display:block;width:100%;margin-top:5px;padding:10px 12px;font:inherit;font-size:15px;border:1px solid #cfcfc8;border-radius:4px;background:#fff}
input:focus,textarea:focus{outline:2px solid #b3121f33;border-color:#b3121f}
textarea{min-height:120px;resize:vertical}
button{background:#b3121f;color:#fff;border:0;border-radius:4px;padding:11px 22px;font:inherit;font-weight:700;cursor:pointer}
button:hover{background:#8f0e18}
.form-foot{display:flex;justify-content:space-between;align-items:center;gap:12px;flex-wrap:wrap;font-size:13px;color:#77776f}
aside.sidebar .box{padding:20px 22px;margin-bottom:24px}
.box h2{font-size:15px;text-transform:uppercase;letter-spacing:.08em;color:#b3121f;margin:0 0 10px;border-bottom:2px solid #b3121f;padding-bottom:8px}
.popular{list-style:none;margin:0;padding:0;counter-reset:pop}
.popular li{counter-increment:pop;display:flex;gap:12px;padding:10px 0;border-bottom:1px solid #ecece8;font-weight:600;font-size:15px;line-height:1.4}
.popular li:last-child{border-bottom:0}
.popular li::before{content:counter(pop);font:700 26px/1 Georgia,serif;color:#d9d9d2;min-width:22px}
.popular a{color:#1d1d1f}
.box p{margin:0;font-size:14px;color:#55554f}
footer{background:#1d1d1f;color:#a9a9a2;font-size:14px;padding:26px 0}
footer .logo{font-size:22px;color:#fff}
footer p{margin:6px 0 0}
main.simple{max-width:640px;margin:60px auto;background:#fff;padding:30px 36px;border-radius:6px}
@media (max-width:900px){.layout{grid-template-columns:1fr}aside.sidebar{order:2}}
@media (max-width:600px){
 body{font-size:16px}.wrap{padding:0 14px}
 article,section.discussion{padding:20px 18px;border-radius:0}
 h1.title{font-size:27px}.row{grid-template-columns:1fr}.layout{padding-top:0;gap:0}
 .tagline{display:none}.topbar .wrap span:last-child{display:none}}
"""

# a cyber-security illustration drawn inline: the page loads nothing else
FIGURE_SVG = """<svg viewBox="0 0 800 380" role="img" aria-label="Ilustrasi keamanan siber" xmlns="http://www.w3.org/2000/svg">
<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#0d1b2a"/><stop offset="1" stop-color="#27415e"/></linearGradient>
<radialGradient id="glow" cx=".5" cy=".5" r=".5"><stop offset="0" stop-color="#4fc3f7" stop-opacity=".45"/><stop offset="1" stop-color="#4fc3f7" stop-opacity="0"/></radialGradient></defs>
<rect width="800" height="380" fill="url(#bg)"/>
<g stroke="#4fc3f7" stroke-opacity=".18" fill="none">
<path d="M0 300 H180 L220 260 H380"/><path d="M800 90 H640 L600 130 H470"/><path d="M0 80 H120 L160 120 H300"/><path d="M800 310 H660 L620 270 H480"/>
<circle cx="400" cy="190" r="150"/><circle cx="400" cy="190" r="110"/><ellipse cx="400" cy="190" rx="50" ry="150"/><path d="M250 190 H550 M270 120 H530 M270 260 H530"/></g>
<circle cx="400" cy="190" r="170" fill="url(#glow)"/>
<path d="M400 95 L470 122 V185 C470 232 440 262 400 280 C360 262 330 232 330 185 V122 Z" fill="#102a43" stroke="#4fc3f7" stroke-width="4"/>
<rect x="375" y="175" width="50" height="42" rx="6" fill="#4fc3f7"/><path d="M385 175 V160 A15 15 0 0 1 415 160 V175" stroke="#4fc3f7" stroke-width="7" fill="none"/>
<circle cx="400" cy="192" r="6" fill="#102a43"/><rect x="397" y="194" width="6" height="13" fill="#102a43"/>
<g fill="#4fc3f7" fill-opacity=".7" font-family="monospace" font-size="15"><text x="40" y="50">01001011 01100001</text><text x="590" y="350">10110 00101 11010</text><text x="60" y="345">TLS 1.3 · SHA-256</text><text x="600" y="50">0x4B 0x4E</text></g>
</svg>"""

SCROLL_JS = ('<script>document.getElementById("komentar")'
             '.scrollIntoView();</script>')

PAGE = """<!doctype html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - {site}</title>
<style>{css}</style>
</head>
<body>
<div class="topbar"><div class="wrap"><span>{today}</span><span><a href="#">Masuk</a> &middot; <a href="#">Berlangganan</a></span></div></div>
<header class="site"><div class="wrap">
  <a class="logo" href="/">Kabar<span>Nusantara</span></a>
  <span class="tagline">Tajam, berimbang, terpercaya</span>
</div></header>
<nav class="main"><ul>
  <li><a href="/">Beranda</a></li><li><a href="#">Nasional</a></li>
  <li><a class="active" href="/">Internasional</a></li><li><a href="#">Ekonomi</a></li>
  <li><a href="#">Teknologi</a></li><li><a href="#">Olahraga</a></li>
  <li><a href="#">Hiburan</a></li><li><a href="#">Gaya Hidup</a></li>
</ul></nav>
<div class="wrap layout">
<main>
<article>
  <div class="crumbs">Internasional<span>&rsaquo;</span>Eropa</div>
  <h1 class="title">{title}</h1>
  <div class="meta"><span>Oleh <b>Tim Redaksi {site}</b></span><span>{date}</span></div>
  <figure>{figure}
    <figcaption>Ilustrasi keamanan siber. (Grafis: {site})</figcaption></figure>
  <div class="content">
{body}
  </div>
  <div class="tags"><a href="#">#KeamananSiber</a><a href="#">#Rusia</a><a href="#">#AmerikaSerikat</a><a href="#">#Diplomasi</a></div>
</article>
<section class="discussion" id="komentar">
  <h2>Komentar ({count})</h2>
  <p class="rules-note">Komentar dimoderasi. Hindari SARA, ujaran kebencian, promosi, dan tautan spam.</p>
  {notice}
  {comments}
  <form class="comment-form" method="post" action="/comments">
    <h3>Tulis komentar Anda</h3>
    <input type="hidden" name="article_id" value="{article_id}">
    <div class="row">
      <label>Nama<input name="name" required maxlength="80" autocomplete="name"></label>
      <label>Email <small>(tidak ditampilkan)</small><input type="email" name="email" required maxlength="120" autocomplete="email"></label>
    </div>
    <label>Komentar<textarea name="comment" required maxlength="4000" placeholder="Sampaikan pendapat Anda dengan santun"></textarea></label>
    <div class="form-foot"><span>Dengan mengirim, Anda menyetujui pedoman komunitas {site}.</span><button type="submit">Kirim komentar</button></div>
  </form>
</section>
</main>
<aside class="sidebar">
  <div class="box"><h2>Terpopuler</h2><ol class="popular">
    <li><a href="#">Harga Beras Mulai Turun di Sejumlah Pasar Induk Jelang Panen Raya</a></li>
    <li><a href="#">BMKG: Waspadai Hujan Lebat di Jawa Barat Sepekan ke Depan</a></li>
    <li><a href="#">Timnas U-23 Tiba di Tanah Air, Disambut Ribuan Suporter</a></li>
    <li><a href="#">Pemerintah Perluas Program Literasi Digital ke 10 Provinsi</a></li>
    <li><a href="#">Ekspor Kopi Indonesia Naik 12 Persen pada Kuartal Ketiga</a></li>
  </ol></div>
  <div class="box"><h2>Pedoman Komentar</h2>
    <p>Kami menyaring komentar berisi judi online, penipuan, ujaran kebencian, dan spam tautan secara otomatis. Komentar tertentu diperiksa redaksi sebelum tampil.</p></div>
</aside>
</div>
<footer><div class="wrap"><span class="logo">Kabar<span style="color:#e0414d">Nusantara</span></span>
<p>&copy; 2025 {site}. Situs demo untuk ngx_http_comment_moderation_module.</p></div></footer>
{scroll}
</body>
</html>
"""


# --- HTTP ----------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server_version = "KabarNusantaraCMS/1.0"
    store = None
    article = None
    outcome = ""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path in ("/", "/index.html") or path == f"/artikel/{ARTICLE_ID}":
            comments = self.store.published(ARTICLE_ID)
            self.send_html(200, article_page(self.article, comments,
                                             notice_for(url.query)))
        elif path == "/api/comments":
            self.send_json(200, self.store.all())
        elif path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
        else:
            self.send_html(404, simple_page("Halaman tidak ditemukan",
                                            "Artikel yang Anda cari tidak ada."))

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        if urllib.parse.urlsplit(self.path).path != "/comments":
            self.send_html(405, simple_page("Tidak diizinkan",
                                            "Metode ini tidak didukung."))
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY or length < 0:
            self.answer_error(413, "body too large")
            return
        body = self.rfile.read(length)
        try:
            fields = parse_body(self.headers.get("Content-Type", ""), body)
        except BadBody as e:
            self.answer_error(400, str(e))
            return
        text = fields.get("comment", "").strip()
        if not text:
            self.answer_error(400, "missing comment")
            return
        pending = self.headers.get("X-Comment-Moderation", "") == "queue"
        record = {
            "article_id": fields.get("article_id") or ARTICLE_ID,
            "name": fields.get("name", "").strip()[:80] or "Anonim",
            "email": fields.get("email", "").strip(),
            "url": fields.get("url", "").strip(),
            "comment": text,
            "status": "pending" if pending else "published",
            "time": time.time(),
            "headers": {h: self.headers[h] for h in MODERATION_HEADERS
                        if h in self.headers},
            "content_type": self.headers.get("Content-Type", ""),
        }
        try:
            record["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            record["body_base64"] = base64.b64encode(body).decode("ascii")
        cid = self.store.add(record)
        self.outcome = f"{record['status']} id={cid}"
        if self.wants_json():
            self.send_json(202 if pending else 201,
                           {"status": record["status"], "id": cid})
        else:
            self.send_response(303)
            self.send_header("Location", "/?cm=queued#komentar" if pending
                             else "/?posted=1#komentar")
            self.send_header("Content-Length", "0")
            self.end_headers()

    def wants_json(self):
        return ("application/json" in self.headers.get("Accept", "")
                or "X-Requested-With" in self.headers)

    def answer_error(self, status, reason):
        self.outcome = reason
        if self.wants_json():
            self.send_json(status, {"status": "error", "reason": reason})
        else:
            self.send_html(status, simple_page("Komentar tidak dapat dikirim",
                                               NOTICES["invalid"][1]))

    def send_html(self, status, page):
        self.send_body(status, "text/html; charset=utf-8", page.encode("utf-8"))

    def send_json(self, status, data):
        self.send_body(status, "application/json",
                       json.dumps(data, ensure_ascii=False).encode("utf-8"))

    def send_body(self, status, ctype, data):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_request(self, code="-", size="-"):
        headers = getattr(self, "headers", None)
        decision = headers.get("X-Comment-Moderation", "") if headers else ""
        extra = " ".join(x for x in (self.outcome,
                                     decision and f"module={decision}") if x)
        sys.stderr.write(f"backend: {time.strftime('%H:%M:%S')} "
                         f"\"{self.requestline}\" {code} {extra}".rstrip() + "\n")

    def log_message(self, fmt, *args):
        sys.stderr.write("backend: " + (fmt % args) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("DEMO_BACKEND_PORT", 8081)))
    parser.add_argument("--data", default=str(ROOT / "demo" / "run"))
    parser.add_argument("--article",
                        default=str(ROOT.parent / "shared" / "seed" / "article.txt"))
    args = parser.parse_args()

    Path(args.data).mkdir(parents=True, exist_ok=True)
    Handler.store = Store(Path(args.data) / "comments.jsonl")
    Handler.article = Article(args.article)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    # SIGTERM (from scripts/demo) ends serve_forever like Ctrl-C does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    sys.stderr.write(f"backend: listening on http://127.0.0.1:{args.port}/\n")
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
