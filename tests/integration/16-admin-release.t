#!/usr/bin/perl

# Approving releases the held comment to the backend through nginx
# (comment_moderation_release_to, an internal location with proxy_pass):
# the recording backend receives the original request once, byte for byte
# (method, URI with its arguments, Content-Type, body: urlencoded, multipart
# with binary bytes, JSON, chunked), marked approved with the moderator's
# name and the comment's id, and none of the moderator's headers; a
# commenter's forged marks do not pass.  Two approvals pipelined on one
# connection; the same id twice in a bulk; a comment the rules refused,
# approved by a moderator (the way back).  Approving again: 409,
# nothing sent.  Two approvals at once, and a second approval while the
# first waits for the backend: released once, one 200 and one 409.  A
# backend answering 500, refusing the connection, or not answering in time:
# release-failed with the error, and a retry once it is back delivers it.
# A reload while a release waits: the old worker finishes it.  The
# moderator's request over HTTP/2 releases too.  A moderator who
# leaves before the backend answers: the outcome is still recorded.  Redis
# answering a claim too late: the claim is given back.  Redis down during an
# action: 503 in JSON, nothing sent, and the comment still pending when
# Redis is back.

use strict;
use warnings;
use utf8;

use IO::Socket::INET;
use Test::More;
use Test::CM;
use Test::CM::Admin;
use Test::CM::Redis;
use Time::HiRes qw/ sleep /;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

my $redis = Test::CM::Redis->start();
my $t = Test::CM->new()->plan(109);
my $m = Test::CM::Admin->new($t, $redis, budi => 'rahasia budi',
    ani => 'rahasia-ani');

# stands for a backend that takes the connection and never answers
my $silent = IO::Socket::INET->new(Proto => 'tcp', LocalAddr => '127.0.0.1',
    LocalPort => 0, Listen => 16) or die "listen: $!";
my $silent_port = $silent->sockport;

$t->write_rules(<<'EOF' . $JUDOL_RULE);
rule tautan
    words tautan
    action queue
EOF

my $conf = http_conf(<<'EOF');
comment_moderation_redis %%REDIS%% timeout=300ms;
comment_moderation_secret 0123456789abcdef0123;
comment_moderation_spool_path %%PREFIX%%/spool;

server {
    listen 127.0.0.1:%%PORT%%;
    listen 127.0.0.1:%%PORT_H2%% http2;

    location /comments {
        comment_moderation on;
        comment_moderation_rules %%RULES%%;
        comment_moderation_queue hold;
        proxy_pass http://%%BACKEND%%;
    }

%%ADMIN%%
    # the same moderators, releasing to a backend that is down...
    location /down/ {
        auth_basic "moderasi";
        auth_basic_user_file %%PREFIX%%/moderators.htpasswd;
        comment_moderation_admin;
        comment_moderation_release_to /_release_down;
    }

    location /_release_down/ {
        internal;
        proxy_pass http://127.0.0.1:%%PORT_CLOSED%%/;
    }

    # ... or that does not answer
    location /silent/ {
        auth_basic "moderasi";
        auth_basic_user_file %%PREFIX%%/moderators.htpasswd;
        comment_moderation_admin;
        comment_moderation_release_to /_release_silent;
    }

    location /_release_silent/ {
        internal;
        proxy_read_timeout 1s;
        proxy_pass http://127.0.0.1:%%SILENT%%/;
    }
}
EOF
$conf =~ s/%%REDIS%%/$redis->address()/ge;
$conf =~ s/%%ADMIN%%/$m->locations()/e;
$conf =~ s/%%SILENT%%/$silent_port/g;

$t->run($conf);

ok($t->wait_for_log(qr/comment moderation: redis \S+ connected/),
    'the worker connected to Redis');

sub r { $redis->command(@_) }

# what the backend received of a comment (by the id nginx marks it with)
sub released {
    my ($id) = @_;

    return grep { ($_->header('X-Comment-Moderation-Id') // '') eq $id }
        $t->backend_requests();
}

sub counts { $m->get('budi', 'api/counts')->json || {} }

# keeps the backend busy (it takes one connection at a time) with a request
# of ours until finish() is called on what this returns
sub busy_backend {
    my $busy = IO::Socket::INET->new(PeerAddr => $t->backend()->address(),
        Proto => 'tcp') or die "backend: $!";
    print $busy "POST /busy HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
    sleep(0.2);

    return sub {
        print $busy "ok";
        my $answer = <$busy>;
        close $busy;
    };
}

sub result {
    my ($r) = @_;
    my $j = $r->json || {};

    return join ' ', $r->status, map { $j->{$_} // '-' } qw/ state from /;
}

###############################################################################
# approve: the original request, byte for byte, once

my $form = form(name => 'Budi Santoso', email => 'budi@example.com',
    comment => "Cek tautan ini <form> 100% + & = \x{fc} \x{1F600}",
    article_id => 'a-42');

my $r = $t->http_post('/comments?page=2&x=%41&y=a+b', $form,
    'Accept' => 'application/json', 'User-Agent' => 'Pembaca/1.0',
    'Referer' => 'http://localhost/artikel/42', 'Cookie' => 'reader=1');
is($r->status, 202, 'a comment held');
my $id = $m->find('<form>') // '';
my $before = $t->backend_count();
my %counts = %{ counts() };

$r = $m->act('budi', "comments/$id/approve", undef,
    'Cookie' => 'moderator-session=secret', 'Origin' => 'http://localhost');
is(result($r), '200 approved pending', 'approve: 200, approved from pending');
is_deeply($r->json, { id => $id, ok => JSON::PP::true(), state => 'approved',
    from => 'pending', status => 200, error => '' },
    'approve: the result with the backend\'s status');
is($t->backend_count(), $before + 1, 'approve: the backend got one request');

my $req = $t->backend_last();
is($req->method, 'POST', 'released: the method');
is($req->uri, '/comments?page=2&x=%41&y=a+b',
    'released: the path and arguments as posted');
is($req->header('Content-Type'), 'application/x-www-form-urlencoded',
    'released: the Content-Type');
is($req->body, $form, 'released: the body, byte for byte');
is($req->header('Content-Length'), length($form), 'released: Content-Length');
is(join('|', map { $req->header($_) // '-' } qw/ X-Comment-Moderation
    X-Comment-Moderation-Moderator X-Comment-Moderation-Id /),
    "approved|budi|$id", 'released: marked approved, by whom, which comment');
is(join('|', map { $req->header($_) // '-' } qw/ User-Agent Referer /),
    'Pembaca/1.0|http://localhost/artikel/42',
    'released: the commenter\'s User-Agent and Referer');
is(join(',', grep { defined $req->header($_) } qw/ Authorization Cookie
    X-CSRF-Token Origin /), '', 'released: none of the moderator\'s headers');
unlike($req->head, qr/moderator-session|rahasia|reader=1/i,
    'released: no credentials or cookies of anybody');

is($m->state($id), 'approved', 'approved in Redis');
is($m->field($id, 'moderator'), 'budi', 'the moderator in Redis');
my $c = counts();
is(join(' ', $c->{pending} - $counts{pending}, $c->{approved} - $counts{approved}),
    '-1 1', 'counts: one pending less, one approved more');

$r = $m->act('ani', "comments/$id/approve");
is(result($r), '409 approved -', 'approve again: 409, state approved');
like($r->json && $r->json->{error}, qr/already approved/,
    'approve again: says why');
is($m->act('ani', "comments/$id/reject")->status, 409,
    'reject an approved comment: 409');
is(scalar released($id), 1, 'approved twice: released once');

###############################################################################
# a commenter cannot pose as approved: the marks a release carries, sent by
# the client with an ordinary comment, do not reach the backend as sent

$r = $t->http_post('/comments', form(comment => 'Terima kasih <forged>'),
    'X-Comment-Moderation' => 'approved',
    'X-Comment-Moderation-Moderator' => 'admin',
    'X-Comment-Moderation-Id' => 'f' x 25,
    'X-Comment-Moderation-Client-IP' => '10.0.0.1');
$req = $t->backend_last();
is($r->status . ' ' . ($req && $req->header('X-Comment-Moderation')),
    '200 accept', 'a forged mark: the comment is judged, marked accept');
is(join(',', map { $req && $req->header($_) || '' } qw/
    X-Comment-Moderation-Moderator X-Comment-Moderation-Client-IP /), ',',
    'a forged mark: no moderator or address of the client\'s');
like($req && $req->header('X-Comment-Moderation-Id') // '', qr/^[0-9a-f]{20,}$/,
    'a forged mark: the id is the decision\'s own');
isnt($req && $req->header('X-Comment-Moderation-Id'), 'f' x 25,
    'a forged mark: not the client\'s id');

###############################################################################
# other bodies: multipart with binary bytes, JSON; a path with %-escapes

my ($ct, $mp) = multipart(comment => 'tautan <multipart>', name => 'Ani',
    avatar => { filename => 'a.bin', value => "\x00\xff\r\n--x\r\n\x80" });
$t->http_post('/comments/berita/%C3%A9?a=1', $mp, 'Content-Type' => $ct);
$id = $m->find('<multipart>') // '';
is(result($m->act('budi', "comments/$id/approve")), '200 approved pending',
    'a multipart comment approved');
($req) = released($id);
is($req && $req->body, $mp, 'multipart: the body byte for byte');
is($req && $req->header('Content-Type'), $ct,
    'multipart: the Content-Type with its boundary');
is($req && $req->uri, '/comments/berita/%C3%A9?a=1',
    'a path with %-escapes: as posted');

my $json = json_encode({ comment => "tautan <json> \x{201C}x\x{201D}",
    article_id => 7 });
$t->http_post('/comments', $json, 'Content-Type' => 'application/json');
$id = $m->find('<json>') // '';
is(result($m->act('budi', "comments/$id/approve")), '200 approved pending',
    'a JSON comment approved');
($req) = released($id);
is(($req && $req->header('Content-Type')) . ' ' . ($req && $req->body),
    "application/json $json", 'JSON: type and body byte for byte');

###############################################################################
# a chunked comment is released with its length; two approvals pipelined on
# one keep-alive connection; the same id twice in a bulk

$r = $t->http_post('/comments', [ 'comment=tautan+%3Cchunked%3E', '&name=Rina' ],
    'Transfer-Encoding' => 'chunked');
$id = $m->find('<chunked>') // '';
is(result($m->act('budi', "comments/$id/approve")), '200 approved pending',
    'a chunked comment approved');
($req) = released($id);
is(join(' ', map { $req && ($req->header($_) // '-') } qw/ Content-Length
    Transfer-Encoding /) . ' ' . ($req && $req->body),
    length('comment=tautan+%3Cchunked%3E&name=Rina')
    . ' - comment=tautan+%3Cchunked%3E&name=Rina',
    'a chunked comment: released with Content-Length, the same body');

my @two = map { $m->hold("<pipelined-$_>") } 1 .. 2;
my @answers2 = $t->http_pipeline(map {
    my $req = $m->act_request('budi', "comments/$two[$_]/approve");
    $_ == 0 ? $req =~ s/^Connection: close\r\n//mr : $req
} 0 .. 1);
is(join(' ', map { result($_) } @answers2),
    '200 approved pending 200 approved pending',
    'two approvals pipelined on one connection: both answered');
is(join(' ', map { scalar released($_) } @two), '1 1',
    'two approvals pipelined: each released once');

$id = $m->hold('<twice>');
$r = $m->act('budi', 'bulk', { action => 'approve', ids => [ $id, $id ] });
is(join(' ', map { ($_->{ok} ? 'ok' : 'no') . ":$_->{state}" }
    @{ ($r->json || {})->{results} || [] }), 'ok:approved no:approved',
    'the same id twice in a bulk: approved, then already approved');
is(scalar released($id), 1, 'the same id twice in a bulk: released once');

# a large selection: 60 releases from one request, one after the other
# (more than nginx's 50 subrequests, were they counted per request)
my @many = map { $m->hold("<many-$_>") } 1 .. 60;
$r = $m->act('budi', 'bulk', { action => 'approve', ids => \@many });
my @states = map { $_->{state} } @{ ($r->json || {})->{results} || [] };
is($r->status . ' ' . scalar(grep { $_ eq 'approved' } @states), '200 60',
    'bulk approve of 60: all approved');
is(join('', map { scalar released($_) } @many), '1' x 60,
    'bulk approve of 60: each released once');

$r = $m->get('budi', 'api/comments?state=approved&limit=100000');
my $approved = ($r->json || {})->{total} // 0;
ok($approved > 60, 'more than 60 comments approved by now');
is(scalar @{ ($r->json || {})->{comments} || [] }, $approved,
    'a limit above 200: 200 at most (not the default 50)');
is(scalar @{ ($m->get('budi', 'api/comments?state=approved')->json || {})
    ->{comments} || [] }, 50, 'no limit: a page of 50');

###############################################################################
# the way back for a comment the rules refused: kept as rejected, approved
# by a moderator, it reaches the backend for the first time

$before = $t->backend_count();
my $refused = form(comment => 'Ini bukan slot gacor, sungguh <refused>',
    name => 'Wati');
$r = $t->http_post('/comments?from=rules', $refused);
is($r->status . ' ' . $t->backend_count(), "403 $before",
    'refused by the rules: 403, not forwarded');
($id) = grep { ($m->field($_, 'text') // '') =~ /<refused>/ }
    @{ r('ZRANGE', 'cm:q:rejected', 0, -1) };
$id //= '';
is($m->state($id), 'rejected', 'kept as rejected');
is(result($m->act('budi', "comments/$id/approve")), '200 approved rejected',
    'a moderator approves it');
($req) = released($id);
is($req ? join(' ', $req->uri, $req->body) : 'not released',
    "/comments?from=rules $refused", 'released as it was posted');

###############################################################################
# two approvals at once: one release

$id = $m->hold('<race>');
$before = $t->backend_count();

my @s = map { $t->http_start($m->act_request($_, "comments/$id/approve")) }
    qw/ budi ani /;
my @answers = map { $t->http_end($_) } @s;

is(join(' ', sort map { $_->status } @answers), '200 409',
    'two approvals at once: one 200, one 409');
is(scalar released($id), 1, 'two approvals at once: released once');
is($t->backend_count(), $before + 1, 'two approvals at once: nothing else sent');

$id = $m->hold('<race4>');
@s = map { $t->http_start($m->act_request($_, "comments/$id/approve")) }
    qw/ budi ani budi ani /;
@answers = map { $t->http_end($_) } @s;
is(join(' ', sort map { $_->status } @answers), '200 409 409 409',
    'four approvals at once: one 200, three 409');
is(scalar released($id), 1, 'four approvals at once: released once');

# a second approval while the first waits for the backend: the backend
# takes one connection at a time, and a request of ours keeps it busy
$id = $m->hold('<busy>');
my $finish = busy_backend();

my $first = $t->http_start($m->act_request('budi', "comments/$id/approve"));
ok($redis->wait_for(sub { $m->state($id) eq 'releasing' }),
    'while the backend has not answered: releasing');
is(counts()->{releasing}, 1, 'counts: one releasing');

$r = $m->act('ani', "comments/$id/approve");
is(result($r), '409 releasing -', 'a second approval meanwhile: 409');
like($r->json && $r->json->{error}, qr/being released/,
    'a second approval meanwhile: says why');
is($m->act('ani', "comments/$id/reject")->status, 409,
    'a reject meanwhile: 409');

$finish->();
$r = $t->http_end($first);
is(result($r), '200 approved pending', 'the first approval: approved');
is(scalar released($id), 1, 'released once');
is($m->field($id, 'moderator'), 'budi', 'by the first moderator');

###############################################################################
# a reload while a release waits for the backend: the old worker finishes
# it, the outcome is recorded

$id = $m->hold('<reload>');
$finish = busy_backend();
$first = $t->http_start($m->act_request('budi', "comments/$id/approve"));
$redis->wait_for(sub { $m->state($id) eq 'releasing' });
$t->reload();
$t->wait_for_log_count(qr/start worker process/, 2);
sleep(0.3);
$finish->();
$r = $t->http_end($first);

is(result($r), '200 approved pending', 'a reload during a release: approved');
is(scalar released($id), 1, 'a reload during a release: released once');

###############################################################################
# the backend fails, then a retry delivers

$id = $m->hold('<fail500>');
$t->backend_status(500);
$r = $m->act('budi', "comments/$id/approve");
$t->backend_status(undef);

is(result($r), '200 release-failed pending', 'backend 500: release-failed');
is($r->json && $r->json->{ok}, JSON::PP::false(), 'backend 500: ok false');
like($r->json && $r->json->{error}, qr/500/, 'backend 500: the error says 500');
is($m->state($id), 'release-failed', 'backend 500: in Redis');
like($m->field($id, 'error') // '', qr/500/, 'backend 500: the error kept');

$r = $m->get('budi', 'api/comments?state=release-failed');
my ($listed) = grep { $_->{id} eq $id } @{ ($r->json || {})->{comments} || [] };
like($listed && $listed->{error}, qr/backend answered 500/,
    'the release-failed list shows it with its error');
is(counts()->{'release-failed'}, 1, 'counts: one release-failed');

$r = $m->act('ani', "comments/$id/approve");
is(result($r), '200 approved release-failed', 'the retry: approved');
my @got = released($id);
is(scalar @got, 2, 'the retry: sent again (the first answered 500)');
is($got[1] && $got[1]->header('X-Comment-Moderation-Moderator'), 'ani',
    'the retry: by the moderator who retried');
is(counts()->{'release-failed'}, 0, 'counts: none release-failed');

my @audit = @{ $m->get('budi', 'api/audit?limit=2')->json->{entries} || [] };
is(join(' ', map { "$_->{who}:$_->{action}:$_->{from}>$_->{to}" } @audit),
    'ani:approve:release-failed>approved budi:release-failed:pending>release-failed',
    'audit: the failure and the retry');

# a backend that refuses the connection
$id = $m->hold('<down>');
$m->{location} = '/down/';
$r = $m->act('budi', "comments/$id/approve");
$m->{location} = '/moderation/';

is(result($r), '200 release-failed pending', 'backend down: release-failed');
like($m->field($id, 'error') // '', qr/50[0-9]/, 'backend down: the error kept')
    or diag($m->field($id, 'error'));
is(scalar released($id), 0, 'backend down: nothing received');

$r = $m->act('budi', "comments/$id/reject");
is(result($r), '200 rejected release-failed',
    'a release-failed comment can be rejected');
is(result($m->act('budi', "comments/$id/approve")), '200 approved rejected',
    'and approved after all, through the backend that is up');
is(scalar released($id), 1, 'delivered once');

# a backend that does not answer in time (proxy_read_timeout 1s)
$id = $m->hold('<silent>');
$m->{location} = '/silent/';
$r = $m->act('budi', "comments/$id/approve");
$m->{location} = '/moderation/';

is(result($r), '200 release-failed pending', 'backend silent: release-failed');
like($m->field($id, 'error') // '', qr/504/, 'backend silent: a timeout (504)')
    or diag($m->field($id, 'error'));
is(result($m->act('budi', "comments/$id/approve")),
    '200 approved release-failed', 'backend silent: the retry delivers');
is(scalar released($id), 1, 'backend silent: delivered once');

###############################################################################
# HTTP/2: the moderator's request over h2c releases too

SKIP: {
    skip 'curl without HTTP/2', 6 unless $t->has_curl_http2();

    my @h2 = ($m->auth('budi'), 'X-CSRF-Token' => $m->csrf('budi'));

    $id = $m->hold('<h2>', comment => 'tautan <h2> lewat HTTP/2 ü');
    $r = Test::CM::HTTP::http2_request($t->prefix, $t->port('H2'), 'POST',
        "/moderation/api/comments/$id/approve", undef, @h2);
    is($r->version . ' ' . result($r), '2.0 200 approved pending',
        'approve over HTTP/2: approved');
    ($req) = released($id);
    is($req && $req->body, form(comment => 'tautan <h2> lewat HTTP/2 ü'),
        'approve over HTTP/2: the body byte for byte');
    is(($req && $req->method) . ' ' . ($req && $req->header('Content-Length')),
        'POST ' . length(form(comment => 'tautan <h2> lewat HTTP/2 ü')),
        'approve over HTTP/2: POST with its length');

    my @ids = map { $m->hold("<h2-bulk-$_>") } 1 .. 2;
    $r = Test::CM::HTTP::http2_request($t->prefix, $t->port('H2'), 'POST',
        '/moderation/api/bulk', json_encode({ action => 'approve',
            ids => \@ids }), @h2, 'Content-Type' => 'application/json');
    is(join(' ', map { $_->{state} } @{ ($r->json || {})->{results} || [] }),
        'approved approved', 'bulk approve over HTTP/2: both approved');
    is(join(' ', map { scalar released($_) } @ids), '1 1',
        'bulk approve over HTTP/2: each released once');

    $r = Test::CM::HTTP::http2_request($t->prefix, $t->port('H2'), 'GET',
        '/moderation/api/counts', undef, $m->auth('budi'));
    is($r->status . ' ' . ($r->json ? 'JSON' : 'not JSON'), '200 JSON',
        'a read over HTTP/2');
}

###############################################################################
# the moderator leaves (curl gives up, the HTTP/2 stream is reset) before
# the backend answers: the outcome is still recorded, to retry, also when
# Redis has to be sent the script itself (after SCRIPT FLUSH)

SKIP: {
    skip 'curl without HTTP/2', 3 unless $t->has_curl_http2();

    $id = $m->hold('<left>');
    r('SCRIPT', 'FLUSH');
    $finish = busy_backend();
    {
        local $Test::CM::HTTP::TIMEOUT = 1;
        $r = Test::CM::HTTP::http2_request($t->prefix, $t->port('H2'), 'POST',
            "/moderation/api/comments/$id/approve", undef, $m->auth('budi'),
            'X-CSRF-Token' => $m->csrf('budi'));
    }
    $finish->();

    is($r->status, 0, 'the moderator left before the backend answered');
    ok($redis->wait_for(sub { $m->state($id) eq 'release-failed' }),
        'then: release-failed, not left "releasing"') or diag($m->state($id));
    is(result($m->act('budi', "comments/$id/approve")),
        '200 approved release-failed', 'and a retry approves it');
}

###############################################################################
# Redis answers the claim too late (paused longer than the timeout): the
# claim is given back, the comment can be approved at once

$id = $m->hold('<paused>');
$m->csrf('budi');
$before = $t->backend_count();

$redis->pause();
$r = $m->act('budi', "comments/$id/approve");
$redis->resume();

is($r->status, 503, 'Redis paused during approve: 503');
like($r->json && $r->json->{error}, qr/Redis/, 'Redis paused: says Redis');
ok($redis->wait_for(sub { $m->state($id) eq 'pending' }),
    'Redis paused: the late claim is given back, pending again')
    or diag($m->state($id));
is($t->backend_count(), $before, 'Redis paused: nothing sent');
is(result($m->act('budi', "comments/$id/approve")), '200 approved pending',
    'Redis paused: approved right after');

###############################################################################
# Redis down during an action: 503, nothing lost

$id = $m->hold('<redis-down>');
my $csrf = $m->csrf('budi');
$before = $t->backend_count();

my $connected = () = $t->error_log() =~ /comment moderation: redis \S+ connected/g;
r('SAVE');
$redis->stop();

$r = $m->act('budi', "comments/$id/approve");
is($r->status, 503, 'Redis down: approve answers 503');
like($r->header('Content-Type'), qr{^application/json}, 'Redis down: JSON');
is($r->json && $r->json->{ok}, JSON::PP::false(), 'Redis down: ok false');
like($r->json && $r->json->{error}, qr/Redis/, 'Redis down: says Redis');

$r = $m->act('budi', 'bulk', { action => 'reject', ids => [ $id ] });
is(join(' ', $r->status, map { $_->{ok} ? 'ok' : 'no' }
    @{ ($r->json || {})->{results} || [] }), '200 no',
    'Redis down: a bulk action says each failed');

$r = $m->get('budi', 'api/counts');
is($r->status . ' ' . ($r->json && $r->json->{error} ? 'error' : '-'),
    '503 error', 'Redis down: a read answers 503 in JSON');
is($t->backend_count(), $before, 'Redis down: nothing sent to the backend');

$redis->restart(keep => 1);
ok($t->wait_for_log_count(qr/comment moderation: redis \S+ connected/,
    $connected + 1, 'error.log', 12) > $connected, 'nginx reconnected to Redis');

is($m->state($id), 'pending', 'Redis back: the comment is still pending');
is($m->get('budi', 'api/session')->json->{csrf}, $csrf,
    'Redis back: the same token (it is not kept in Redis)');
is(result($m->act('budi', "comments/$id/approve")), '200 approved pending',
    'Redis back: approved');
is(scalar released($id), 1, 'Redis back: released once');
