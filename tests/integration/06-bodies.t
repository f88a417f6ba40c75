#!/usr/bin/perl

# How bodies arrive: chunked, spooled to a temp file (client_body_buffer_size
# 1k and a 20 KB comment), over HTTP/2.  Other methods pass untouched.  An
# internal redirect (error_page to a named location) and a mirror subrequest
# neither judge the comment again nor hang.

use strict;
use warnings;
use utf8;

use IO::Select;
use Test::More;
use Test::CM;

my $t = Test::CM->new()->plan(48);

$t->write_rules($JUDOL_RULE . <<'EOF');
rule link regex "https?://" score 5
EOF

$t->run(http_conf(<<'EOF'));
server {
    listen 127.0.0.1:%%PORT%%;
    listen 127.0.0.1:%%PORT_H2%% http2;

    comment_moderation on;
    comment_moderation_rules %%RULES%%;

    location /comments {
        proxy_pass http://%%BACKEND%%;
    }

    location /spool {
        client_body_buffer_size 1k;
        proxy_pass http://%%BACKEND%%;
    }

    location /big {
        client_body_buffer_size 1k;
        comment_moderation_max_body 256k;
        proxy_pass http://%%BACKEND%%;
    }

    location /redirect {
        proxy_pass http://%%BACKEND%%/first?cm_status=404;
        proxy_intercept_errors on;
        error_page 404 = @fallback;
    }

    location @fallback {
        proxy_set_header X-Fallback yes;
        proxy_pass http://%%BACKEND%%;
    }

    location /mirrored {
        mirror /mirror;
        proxy_pass http://%%BACKEND%%;
    }

    location = /mirror {
        internal;
        proxy_pass http://%%BACKEND%%/mirror;
    }
}
EOF

my @json = ('Accept' => 'application/json');
my $ham = 'Terima kasih infonya, semoga banjirnya cepat surut.';

# --- chunked

my $body = form(name => 'Siti', comment => $ham);
my $r = $t->http_post('/comments',
    [ substr($body, 0, 5), substr($body, 5, 17), substr($body, 22) ],
    'Transfer-Encoding' => 'chunked');
my $req = $t->backend_last();
is($r->status, 200, 'chunked ham forwarded');
is($req->body, $body, 'chunked ham: the backend got the dechunked bytes');
is($req->header('Content-Length'), length($body),
    'chunked ham: the backend got a Content-Length');

$body = form(comment => 'ayo main slot gacor sekarang');
my $cut = index($body, 'ga') + 1;
$r = $t->http_post('/comments', [ substr($body, 0, $cut), substr($body, $cut) ],
    'Transfer-Encoding' => 'chunked');
is($r->status, 403, 'chunked spam split inside a word: rejected');

$r = $t->http_post('/comments', [ split //, $body ],
    'Transfer-Encoding' => 'chunked');
is($r->status, 403, 'chunked spam, one byte per chunk: rejected');

$r = $t->http('', delay => 0.02, parts => [
    "POST /comments HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    . "Content-Type: application/x-www-form-urlencoded\r\n"
    . "Transfer-Encoding: chunked\r\n\r\n",
    "8\r\ncomment=\r\n", "5\r\nslot \r\n", "5\r\ngacor\r\n", "0\r\n\r\n" ]);
is($r->status, 403, 'chunked spam sent slowly: rejected');

# --- Expect: 100-continue

# expect($body): sends the head, waits for "100 Continue", sends the body;
# (the interim answer, the final one)
sub expect {
    my ($body) = @_;

    my $s = $t->http_start($t->request('POST', '/comments', undef,
        'Content-Type' => 'application/x-www-form-urlencoded',
        'Content-Length' => length($body), 'Expect' => '100-continue'));

    my $interim = '';
    my $sel = IO::Select->new($s);
    while ($interim !~ /\r\n\r\n/ && $sel->can_read(5)) {
        sysread($s, $interim, 4096, length $interim) or last;
    }

    syswrite($s, $body);

    return ($interim, $t->http_end($s));
}

my ($interim, $final) = expect(form(comment => $ham));
like($interim, qr{^HTTP/1.1 100 Continue\r\n}, 'Expect: 100 Continue sent');
is($final->status, 200, 'Expect: ham forwarded');

($interim, $final) = expect(form(comment => 'slot gacor'));
is($final->status, 403, 'Expect: spam rejected');

# --- keep-alive: the next request on the connection is read right

my @ka = ('Connection' => 'keep-alive');
my @answers = $t->http_pipeline(
    $t->request('POST', '/comments', form(comment => 'slot gacor'), @ka),
    $t->request('POST', '/comments', form(comment => $ham), @ka),
    $t->request('POST', '/comments', [ 'comment=slot', '+gacor' ], @ka,
        'Transfer-Encoding' => 'chunked'),
    $t->request('POST', '/comments', 'comment=%ZZ', @ka),
    $t->request('GET', '/comments?last', undef));

is(join(' ', map { $_->status } @answers), '403 200 403 400 200',
    'keep-alive: each answer in turn after rejected and malformed bodies');

for my $first (
    [ 'too large', form(comment => 'x' x 70000) ],
    [ 'too large, chunked', [ 'comment=', 'x' x 70000 ],
        'Transfer-Encoding' => 'chunked' ],
) {
    my ($name, $body, @headers) = @$first;

    @answers = $t->http_pipeline(
        $t->request('POST', '/comments', $body, @ka, @headers),
        $t->request('GET', '/comments?after', undef));

    my $statuses = join ' ', map { $_->status } @answers;
    like($statuses, qr/^413(?: 200)?$/,
        "keep-alive after $name: the body is not read as a request");
}

# --- spooled to a temp file

my $filler = join ' ', ('Warga bergotong royong membersihkan saluran air.') x 420;
my $big_ham = form(name => 'Siti', comment => $filler);
ok(length($big_ham) > 20000, 'a 20 KB comment');

my $before = $t->backend_count();
$r = $t->http_post('/spool', $big_ham);
$req = $t->backend_last();
is($r->status, 200, 'spooled ham forwarded');
ok($req && $req->body eq $big_ham, 'spooled ham: byte for byte')
    or diag('backend got ' . length($req ? $req->body : '') . ' bytes');
ok($t->wait_for_log(qr/a client request body is buffered to a temporary file/),
    'the body really went to a temp file');

$r = $t->http_post('/spool', form(comment => "$filler slot gacor"));
is($r->status, 403, 'spooled: spam in the last bytes rejected');

$r = $t->http_post('/spool', [ form(comment => "$filler "), 'togel' ],
    'Transfer-Encoding' => 'chunked');
is($r->status, 403, 'spooled and chunked: spam in the last chunk rejected');

$r = $t->http_post('/spool', form(comment => "$filler " x 4 . 'slot gacor'));
is($r->status, 413, 'spooled past max_body: 413');
is($t->backend_count(), $before + 1, 'spooled: only the ham was forwarded');

# --- HTTP/2

SKIP: {
    skip 'curl without HTTP/2', 9 unless $t->has_curl_http2();

    $body = form(comment => $ham);
    $r = $t->http2_post('/comments', $body);
    $req = $t->backend_last();
    is($r->version, '2.0', 'HTTP/2 answer');
    is($r->status, 200, 'HTTP/2 ham forwarded');
    is($req->body, $body, 'HTTP/2 ham: byte for byte');
    is($req->header('X-Comment-Moderation'), 'accept', 'HTTP/2 ham: marked');

    $r = $t->http2_post('/comments', form(comment => 'slot gacor'), @json);
    is($r->status, 403, 'HTTP/2 spam rejected');
    is($r->json && $r->json->{decision}, 'reject', 'HTTP/2 spam: JSON answer');

    # larger than the initial stream window (64 KB) and spooled
    $r = $t->http2_post('/big', form(comment => "$filler " x 4 . 'slot gacor'));
    is($r->status, 403, 'HTTP/2 spam after 80 KB rejected');

    $r = $t->http2_post('/spool', $big_ham);
    $req = $t->backend_last();
    is($r->status, 200, 'HTTP/2 spooled ham forwarded');
    ok($req && $req->body eq $big_ham, 'HTTP/2 spooled ham: byte for byte');
}

# --- other methods pass untouched

$before = $t->backend_count();

$r = $t->http_get('/comments?comment=slot+gacor');
$req = $t->backend_last();
is($r->status, 200, 'GET passes');
is($req->method, 'GET', 'GET reached the backend');
is($req->header('X-Comment-Moderation'), undef, 'GET: no verdict header');

$r = $t->http_method('PUT', '/comments', form(comment => 'slot gacor'));
$req = $t->backend_last();
is($r->status, 200, 'PUT with spam passes (only POST is judged)');
is($req->method . ' ' . $req->body, 'PUT comment=slot+gacor',
    'PUT: body forwarded');
is($req->header('X-Comment-Moderation'), undef, 'PUT: no verdict header');

$r = $t->http_method('DELETE', '/comments/5', undef);
is($r->status, 200, 'DELETE passes');

# --- internal redirect: error_page to a named location

my $queued = () = $t->error_log() =~ /comment moderation: queue/g;

$before = $t->backend_count();
$body = form(comment => 'lihat http://example.com/foto');
$r = $t->http_post('/redirect', $body);
my @reqs = ($t->backend_requests())[$before .. $t->backend_count() - 1];

is($r->status, 200, 'error_page: the named location answered');
is(scalar @reqs, 2, 'error_page: the backend got the first try and the fallback');
is(join(' ', map { $_->uri } @reqs), '/first?cm_status=404 /redirect',
    'error_page: URIs');
is(join(' ', map { $_->header('X-Comment-Moderation') || '-' } @reqs),
    'queue queue', 'error_page: both marked with the one verdict');
ok(!grep({ $_->body ne $body } @reqs), 'error_page: both got the body');
is($reqs[1] && $reqs[1]->header('X-Fallback'), 'yes', 'error_page: fallback');

my $queued_after = () = $t->error_log() =~ /comment moderation: queue/g;
is($queued_after - $queued, 1, 'error_page: the comment was judged once');

# --- mirror subrequest

$before = $t->backend_count();
$body = form(comment => $ham);
$r = $t->http_post('/mirrored', $body);
is($r->status, 200, 'mirror: answered');
is($t->wait_backend_count($before + 2), $before + 2,
    'mirror: the mirror request was sent too');
@reqs = ($t->backend_requests())[$before .. $before + 1];
ok(!grep({ $_->body ne $body } @reqs), 'mirror: both got the body');

$before = $t->backend_count();
$r = $t->http_post('/mirrored', form(comment => 'slot gacor'));
is($r->status, 403, 'mirror: spam rejected');
$t->http_get('/comments?after');
ok(!grep({ $_->uri eq '/mirror' } ($t->backend_requests())[$before .. $t->backend_count() - 1]),
    'mirror: a rejected comment is not mirrored');
