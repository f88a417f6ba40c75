#!/usr/bin/perl

# Bodies the module cannot judge: too large (413, with Content-Length and
# chunked), malformed (400: broken %-escapes, invalid UTF-8, truncated
# multipart, bad JSON, no comment field, unsupported type).  By default the
# backend never sees them; comment_moderation_on_invalid accept|queue
# forwards them marked.

use strict;
use warnings;

use Test::More;
use Test::CM;

my $t = Test::CM->new()->plan(51);

$t->write_rules($JUDOL_RULE);

$t->run(http_conf(<<'EOF'));
server {
    listen 127.0.0.1:%%PORT%%;
    comment_moderation on;
    comment_moderation_rules %%RULES%%;

    location /comments {
        proxy_pass http://%%BACKEND%%;
    }

    location /small {
        comment_moderation_max_body 1k;
        proxy_pass http://%%BACKEND%%;
    }

    location /accept-invalid {
        comment_moderation_on_invalid accept;
        comment_moderation_max_body 1k;
        proxy_pass http://%%BACKEND%%;
    }

    location /queue-invalid {
        comment_moderation_on_invalid queue;
        proxy_pass http://%%BACKEND%%;
    }
}
EOF

my @json = ('Accept' => 'application/json');

# --- too large

my $large = form(comment => 'panjang ' x 9000);     # 72 KB, over 64k
my $r = $t->http_post('/comments', $large, @json);
is($r->status, 413, 'over the default 64k: 413');
is($r->json && $r->json->{decision}, 'invalid', 'too large: JSON decision');
like($r->json && $r->json->{message}, qr/terlalu panjang/,
    'too large: its own message');

$r = $t->http_post('/comments', $large, @json,
    'Transfer-Encoding' => 'chunked');
is($r->status, 413, 'over 64k, chunked: 413');

$r = $t->http_post('/small', form(comment => 'x' x 1100), @json);
is($r->status, 413, 'comment_moderation_max_body 1k: 413');

$r = $t->http_post('/small', [ ('comment=' . 'x' x 600), 'y' x 600 ], @json,
    'Transfer-Encoding' => 'chunked');
is($r->status, 413, 'max_body 1k, chunked in two chunks: 413');

$r = $t->http_post('/small', form(comment => 'x' x 1000), @json);
is($r->status, 200, 'just under max_body: judged and forwarded');

my $before = $t->backend_count();

# --- malformed: 400, never forwarded

my @bad = (
    [ 'broken %-escape', 'comment=abc%ZZdef' ],
    [ 'truncated %-escape', 'comment=abc%4' ],
    [ 'overlong UTF-8', 'comment=%C0%AFetc' ],
    [ 'UTF-16 surrogate in UTF-8', 'comment=%ED%A0%80' ],
    [ 'truncated UTF-8 sequence', 'comment=abc%E2%82' ],
    [ 'raw invalid UTF-8 byte', "comment=abc\xff" ],
    [ 'code point over U+10FFFF', 'comment=%F4%90%80%80' ],
    [ 'no comment field', 'name=Budi&email=budi%40example.id' ],
    [ 'empty body', '' ],
);

for my $case (@bad) {
    my ($name, $body) = @$case;
    $r = $t->http_post('/comments', $body, @json);
    is($r->status, 400, "400: $name");
}

$r = $t->http_post('/comments', 'comment=%C0%AF', @json);
is($r->json && $r->json->{decision}, 'invalid', 'invalid: JSON decision');
ok($r->json && length($r->json->{reason} || ''), 'invalid: a reason');
like($r->json && $r->json->{message}, qr/tidak dapat dibaca/,
    'invalid: Indonesian message');

$r = $t->http_post('/comments', 'comment=%ZZ');
is($r->status, 400, 'invalid, HTML client: 400');
like($r->header('Content-Type'), qr{^text/html}, 'invalid, HTML client: a page');

my ($ct, $mp) = multipart(comment => 'halo semua');
$mp =~ s/--[^-]*--\r\n$//;
$r = $t->http_post('/comments', $mp, 'Content-Type' => $ct, @json);
is($r->status, 400, '400: multipart without its closing boundary');

($ct, $mp) = multipart(comment => 'halo semua');
$r = $t->http_post('/comments', substr($mp, 0, 40), 'Content-Type' => $ct, @json);
is($r->status, 400, '400: multipart cut inside the headers of a part');

$r = $t->http_post('/comments', $mp, 'Content-Type' => 'multipart/form-data',
    @json);
is($r->status, 400, '400: multipart without a boundary');

($ct, $mp) = multipart(comment => "caf\xe9");
$r = $t->http_post('/comments', $mp, 'Content-Type' => $ct, @json);
is($r->status, 400, '400: Latin-1 byte in a multipart field');

for my $case (
    [ 'unterminated JSON', '{"comment": "halo"' ],
    [ 'JSON with a trailing comma', '{"comment": "halo",}' ],
    [ 'JSON that is not an object', '"halo"' ],
    [ 'JSON with a broken \u escape', '{"comment": "\u00zz"}' ],
    [ 'JSON with a lone surrogate escape', '{"comment": "\ud800"}' ],
    [ 'JSON with invalid UTF-8', qq[{"comment": "\xc3\x28"}] ],
    [ 'JSON without the comment', '{"name": "Budi"}' ],
) {
    my ($name, $body) = @$case;
    $r = $t->http_post('/comments', $body,
        'Content-Type' => 'application/json', @json);
    is($r->status, 400, "400: $name");
}

# limits of the parsers: past them the comment is not judged, so not accepted
$r = $t->http_post('/comments',
    form((map { ("f$_" => 'x') } 1 .. 300), comment => 'slot gacor'), @json);
is($r->status, 400, '400: more fields than the parser takes');

$r = $t->http_post('/comments',
    '{"comment": "slot gacor", "x": ' . '[' x 40 . ']' x 40 . '}',
    'Content-Type' => 'application/json', @json);
is($r->status, 400, '400: JSON nested deeper than the parser goes');

$r = $t->http_post('/comments', 'slot gacor', 'Content-Type' => 'text/plain',
    @json);
is($r->status, 400, '400: unsupported Content-Type');

$r = $t->http_post('/comments', 'comment=halo', 'Content-Type' => undef, @json);
is($r->status, 400, '400: no Content-Type');

is($t->backend_count(), $before, 'nothing malformed reached the backend');

ok($t->wait_for_log(qr/\[info\].*comment moderation: invalid comment/),
    'malformed bodies logged at info');

# --- on_invalid accept / queue: forwarded, marked

my $body = 'comment=abc%ZZdef';
$r = $t->http_post('/accept-invalid', $body, @json);
my $req = $t->backend_last();
is($r->status, 200, 'on_invalid accept: forwarded');
is($req->body, $body, 'on_invalid accept: body byte for byte');
is($req->header('X-Comment-Moderation'), 'accept', 'on_invalid accept: marked');
ok(length($req->header('X-Comment-Moderation-Error') || ''),
    'on_invalid accept: the reason for the backend');

$body = "comment=abc%C0%AF";
$r = $t->http_post('/queue-invalid', $body, @json);
$req = $t->backend_last();
is($r->status, 200, 'on_invalid queue: forwarded');
is($req->header('X-Comment-Moderation'), 'queue', 'on_invalid queue: marked');
is($req->body, $body, 'on_invalid queue: body byte for byte');

$body = form(comment => 'x' x 2000);
$r = $t->http_post('/accept-invalid', $body, @json);
$req = $t->backend_last();
is($r->status, 200, 'on_invalid accept, too large: forwarded');
is(length($req->body), length($body), 'on_invalid accept, too large: whole body');

$r = $t->http_post('/accept-invalid', [ substr($body, 0, 1500), substr($body, 1500) ],
    @json, 'Transfer-Encoding' => 'chunked');
$req = $t->backend_last();
is($r->status, 200, 'on_invalid accept, too large, chunked: forwarded');
is($req->body, $body, 'on_invalid accept, too large, chunked: whole body');

# spam is still judged where malformed bodies are accepted
$r = $t->http_post('/accept-invalid', form(comment => 'slot gacor'), @json);
is($r->status, 403, 'on_invalid accept: spam still rejected');

# a forged error header is not trusted
$r = $t->http_post('/queue-invalid', form(comment => 'halo'), @json,
    'X-Comment-Moderation-Error' => 'forged');
$req = $t->backend_last();
unlike($req->head, qr/forged/, 'client-sent error header not forwarded');
