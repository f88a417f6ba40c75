#!/usr/bin/perl

# Decisions and answers: accept, reject (JSON, HTML, reject_status, 303 back
# to a same-origin Referer only), queue in mark mode (forwarded, marked),
# localized and overridden messages, the variables in the access log and the
# decision in error.log.

use strict;
use warnings;
use utf8;

use Test::More;
use Test::CM;

my $t = Test::CM->new()->plan(53);

$t->write_rules(<<'EOF' . $JUDOL_RULE);
threshold queue 5
threshold reject 10

rule link regex "https?://" score 5
EOF

$t->run(http_conf(<<'EOF'));
log_format cm '$request_method $uri $status d=$comment_moderation_decision '
              's=$comment_moderation_score r=$comment_moderation_rules';
log_format cmid 'id=$comment_moderation_id';

server {
    listen 127.0.0.1:%%PORT%%;
    access_log %%PREFIX%%/cm.log cm;
    access_log %%PREFIX%%/cmid.log cmid;

    comment_moderation on;
    comment_moderation_rules %%RULES%%;

    location /comments {
        proxy_pass http://%%BACKEND%%;
    }

    location /en {
        comment_moderation_lang en;
        proxy_pass http://%%BACKEND%%;
    }

    location /custom {
        comment_moderation_message reject "Maaf, komentar <ini> ditolak.";
        proxy_pass http://%%BACKEND%%;
    }

    location /status {
        comment_moderation_reject_status 451;
        proxy_pass http://%%BACKEND%%;
    }

    location /redirect {
        comment_moderation_redirect on;
        proxy_pass http://%%BACKEND%%;
    }

    location /off {
        comment_moderation off;
        proxy_pass http://%%BACKEND%%;
    }
}
EOF

my $ham = form(comment => 'Semoga cepat pulih, warga Cianjur.');
my $spam = form(comment => 'Situs slot gacor maxwin, daftar sekarang');
my $link = form(comment => 'Lihat juga http://example.com/berita-lain ya');

my @json = ('Accept' => 'application/json');
my $reject_id = qr/^Komentar Anda tidak dapat diterbitkan/;

# --- accept

my $r = $t->http_post('/comments', $ham);
is($r->status, 200, 'accept: answered by the backend');
ok($t->wait_for_log(qr{POST /comments 200 d=accept s=0 r=$}m, 'cm.log'),
    'accept: variables in the access log');

# --- reject, JSON

my $before = $t->backend_count();

$r = $t->http_post('/comments', $spam, @json);
is($r->status, 403, 'reject: 403');
like($r->header('Content-Type'), qr{^application/json}, 'reject: JSON answer');
is($r->json && $r->json->{decision}, 'reject', 'reject: JSON decision');
like($r->json && $r->json->{message}, $reject_id,
    'reject: Indonesian message by default');
unlike($r->body, qr/judol|vocab/, 'reject: the rule is not named');
is($t->backend_count(), $before, 'reject: nothing forwarded');

ok($t->wait_for_log(qr{POST /comments 403 d=reject s=-?\d+ r=judol-vocab$}m,
    'cm.log'), 'reject: variables in the access log');
ok($t->wait_for_log(qr/\[info\].*comment moderation: reject.*judol-vocab/),
    'reject: logged at info with the rule');

$r = $t->http_post('/comments', $spam, 'X-Requested-With' => 'XMLHttpRequest');
is($r->json && $r->json->{decision}, 'reject', 'X-Requested-With gets JSON');

$r = $t->http_post('/comments', $spam,
    'Accept' => 'text/html;q=0.9, application/json;q=1.0');
is($r->json && $r->json->{decision}, 'reject', 'Accept list with JSON');

# --- reject, HTML

$r = $t->http_post('/comments', $spam,
    'Accept' => 'text/html,application/xhtml+xml');
is($r->status, 403, 'HTML reject: 403');
like($r->header('Content-Type'), qr{^text/html}, 'HTML reject: HTML page');
like($r->body, qr/Komentar Anda tidak dapat diterbitkan/, 'HTML reject: message');
unlike($r->body, qr/judol|vocab/, 'HTML reject: the rule is not named');
is($r->header('Content-Length'), length($r->body),
    'HTML reject: Content-Length');

# --- reject_status

$r = $t->http_post('/status', $spam, @json);
is($r->status, 451, 'reject_status 451');
is($r->json && $r->json->{decision}, 'reject', 'reject_status: same answer');

# --- messages

$r = $t->http_post('/en', $spam, @json);
like($r->json && $r->json->{message}, qr/^Your comment cannot be published/,
    'English message');

$r = $t->http_post('/en', $spam);
like($r->body, qr/<html lang="en"/, 'English HTML page');

$r = $t->http_post('/custom', $spam, @json);
is($r->json && $r->json->{message}, 'Maaf, komentar <ini> ditolak.',
    'overridden message in JSON');
unlike($r->body, qr/<ini>/, 'JSON escapes < and > (inert if shown as HTML)');

$r = $t->http_post('/custom', $spam);
like($r->body, qr/Maaf, komentar &lt;ini&gt; ditolak\./,
    'overridden message escaped in HTML');

# --- redirect: 303 to a Referer on this site only

my $host = 'localhost:' . $t->port();
my @html = ('Host' => $host, 'Accept' => 'text/html');

$r = $t->http_post('/redirect', $spam, @html,
    'Referer' => "http://$host/artikel/42");
is($r->status, 303, 'redirect: 303');
is($r->header('Location'), "http://$host/artikel/42?cm=rejected",
    'redirect: back to the article with cm=rejected');

$r = $t->http_post('/redirect', $spam, @html,
    'Referer' => "http://$host/artikel/42?page=2#komentar");
is($r->header('Location'),
    "http://$host/artikel/42?page=2&cm=rejected#komentar",
    'redirect: query kept, fragment last');

$r = $t->http_post('/redirect', $spam, @html,
    'Referer' => "HTTPS://" . uc($host) . "/a");
is($r->status, 303, 'redirect: scheme and host compared without case');

for my $foreign ('http://evil.example/artikel/42',
    "http://$host.evil.example/", "http://$host\@evil.example/",
    "//evil.example/", "javascript:alert(1)", "http://localhost/")
{
    $r = $t->http_post('/redirect', $spam, @html, 'Referer' => $foreign);
    ok($r->status == 403 && !defined $r->header('Location'),
        "no redirect to $foreign") or diag($r->raw);
}

$r = $t->http_post('/redirect', $spam, 'Host' => $host, @json,
    'Referer' => "http://$host/artikel/42");
is($r->json && $r->json->{decision}, 'reject',
    'redirect: JSON clients still get JSON');

$r = $t->http_post('/redirect', $spam, @html);
is($r->status, 403, 'redirect without a Referer: the HTML page');

# --- queue in mark mode: forwarded, marked

$before = $t->backend_count();
$r = $t->http_post('/comments', $link, @json);
my $req = $t->backend_last();

is($r->status, 200, 'queue: answered by the backend');
is($t->backend_count(), $before + 1, 'queue: forwarded');
is($req->header('X-Comment-Moderation'), 'queue', 'queue: marked');
is($req->header('X-Comment-Moderation-Score'), '5', 'queue: score');
is($req->header('X-Comment-Moderation-Rules'), 'link', 'queue: rules');
my $id = $req->header('X-Comment-Moderation-Id') // '';
like($id, qr/^[0-9a-f]{25}$/, 'queue: the decision id');
ok($t->wait_for_log(qr/^id=\Q$id\E$/m, 'cmid.log'),
    'queue: the same id in $comment_moderation_id');
is($req->body, $link, 'queue: body unchanged');

ok($t->wait_for_log(qr{POST /comments 200 d=queue s=5 r=link$}m, 'cm.log'),
    'queue: variables in the access log');
ok($t->wait_for_log(qr/\[info\].*comment moderation: queue, score 5.*link/),
    'queue: logged at info');

# --- score: a queued link plus a reject rule is still rejected

$r = $t->http_post('/comments',
    form(comment => 'slot gacor di http://example.com'), @json);
is($r->status, 403, 'hard reject wins over a queue score');

# --- accept is not logged in error.log; every other decision is

my $log = $t->error_log();
my $n = () = $log =~ /comment moderation: (?:reject|queue)/g;

# the access log line is written after the answer: wait for the last ones
is($t->wait_for_log_count(qr/ d=(?:reject|queue) /, $n, 'cm.log'), $n,
    'each reject or queue logged once in error.log');
unlike($log, qr/comment moderation: accept/, 'accept not logged');

# --- not judged

$r = $t->http_post('/off', $spam);
is($r->status, 200, 'comment_moderation off: forwarded');
is($t->backend_last()->header('X-Comment-Moderation'), undef,
    'comment_moderation off: no verdict header');

$r = $t->http_get('/comments?comment=slot+gacor');
is($r->status, 200, 'GET is not judged');
ok($t->wait_for_log(qr{GET /comments 200 d=- s=- r=-$}m, 'cm.log'),
    'GET: variables empty');
