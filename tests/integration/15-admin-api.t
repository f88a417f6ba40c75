#!/usr/bin/perl

# The moderation API (docs/admin-api.md) against real nginx and Redis: who
# may come in (auth_basic with an {SSHA} password, or a variable; 401
# without a moderator); the review page and its files; session, counts, the
# list by state with its orders, paging and filters, one comment in full
# with its hits, spans and history, the audit log; the CSRF token and the
# same-origin check of actions, GET to an action; reject, reject-block (the
# block key with its expiry), approve-trust (the trusted author), approve
# from rejected (the way back), bulk with an unknown id among others;
# hostile ids and filter values that look like Lua or Redis commands.
# Releases to the backend are tested in 16-admin-release.t.

use strict;
use warnings;
use utf8;

use Digest::SHA qw/ hmac_sha1_hex /;
use Test::More;
use Test::CM;
use Test::CM::Admin;
use Test::CM::Redis;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

my $SECRET = '0123456789abcdef0123';

my $redis = Test::CM::Redis->start();
my $t = Test::CM->new()->plan(144);

$t->write_rules(<<'EOF' . $JUDOL_RULE);
rule tautan
    words tautan
    score 5

rule promo
    words promo
    score 3

rule blocked-author
    when author blocked = 1
    action reject

rule blocked-network
    when network blocked = 1
    action reject

rule moderator-trusted
    when author trusted = 1
    score -5
EOF

# two moderators with passwords for auth_basic ({SSHA})
my %PASSWORD = (budi => 'rahasia budi', ani => 'rahasia-ani');
my $m = Test::CM::Admin->new($t, $redis, %PASSWORD);

my $conf = http_conf(<<'EOF');
comment_moderation_redis %%REDIS%% timeout=500ms;
comment_moderation_secret %%SECRET%%;
comment_moderation_spool_path %%PREFIX%%/spool;

server {
    listen 127.0.0.1:%%PORT%%;

    location /comments {
        comment_moderation on;
        comment_moderation_rules %%RULES%%;
        comment_moderation_queue hold;
        # the address comes from the test, as a proxy in front would send it
        set_real_ip_from 127.0.0.1;
        real_ip_header X-Real-IP;
        proxy_pass http://%%BACKEND%%;
    }

    location /moderation/ {
        auth_basic "moderasi";
        auth_basic_user_file %%PREFIX%%/moderators.htpasswd;
        comment_moderation_admin;
        comment_moderation_release_to /_release;
    }

    # the moderator named by a header an auth_request would set
    location /by-header/ {
        comment_moderation_admin;
        comment_moderation_admin_user $http_x_moderator;
        comment_moderation_release_to /_release;
    }

    # protected by address only: no $remote_user, nobody is let in
    location /no-user/ {
        allow 127.0.0.1;
        deny all;
        comment_moderation_admin;
        comment_moderation_release_to /_release;
    }

    location /_release/ {
        internal;
        proxy_pass http://%%BACKEND%%/;
    }
}
EOF
$conf =~ s/%%REDIS%%/$redis->address()/ge;
$conf =~ s/%%SECRET%%/$SECRET/g;

$t->run($conf);

ok($t->wait_for_log(qr/comment moderation: redis \S+ connected/),
    'the worker connected to Redis');

sub r { $redis->command(@_) }

sub hmac_key {
    my ($kind, $data) = @_;

    return substr(hmac_sha1_hex("$kind:$data", $SECRET), 0, 32);
}

sub auth { $m->auth(@_) }
sub get { $m->get(@_) }
sub csrf { $m->csrf(@_) }
sub act { $m->act(@_) }
sub state_of { $m->state(@_) }

my %held;

sub hold { $held{$_[0]} = $m->hold(@_) }

sub ids_of { join ',', map { $_->{id} } @{ $_[0]->json->{comments} || [] } }

###############################################################################
# who may come in

my $r = $t->http_get('/moderation/api/session');
is($r->status, 401, 'no credentials: 401 (auth_basic)');

$r = $t->http_get('/moderation/api/session', auth('budi', 'salah'));
is($r->status, 401, 'a wrong password: 401');

$r = $t->http_get('/no-user/api/session');
is($r->status, 401, 'no $remote_user behind allow/deny: 401 from the module');
like($r->json && $r->json->{error}, qr/moderator/, 'no moderator: JSON error');

$r = $t->http_get('/no-user/');
is($r->status, 401, 'no moderator: not even the page');

$r = $t->http_get('/by-header/api/session');
is($r->status, 401, 'comment_moderation_admin_user empty: 401');

$r = $t->http_get('/by-header/api/session', 'X-Moderator' => 'sari');
is($r->status . ' ' . ($r->json && $r->json->{user}), '200 sari',
    'comment_moderation_admin_user: the moderator from the variable');

$r = get('budi', 'api/session');
is($r->status, 200, 'auth_basic with an {SSHA} password: 200');
like($r->header('Content-Type'), qr{^application/json; charset=utf-8},
    'session: JSON');
is($r->json && $r->json->{user}, 'budi', 'session: the user of auth_basic');
like($r->json && $r->json->{csrf}, qr/^[0-9a-f]{32}$/, 'session: a CSRF token');
is(get('budi', 'api/session')->json->{csrf}, $r->json && $r->json->{csrf},
    'session: the same token each time for the same login');
isnt(csrf('ani'), csrf('budi'), 'another moderator: another token');

###############################################################################
# the page

$r = get('budi', '');
is($r->status, 200, 'the page at the location');
like($r->header('Content-Type'), qr{^text/html}, 'the page: text/html');
like($r->header('Content-Security-Policy') // '', qr/default-src 'none'/,
    'the page: Content-Security-Policy');
like($r->body, qr/review\.js/, 'the page loads review.js');

$r = get('budi', 'review.js');
is($r->status, 200, 'review.js');
like($r->header('Content-Type'), qr/javascript/, 'review.js: a script');
ok(length($r->body) > 1000 && $r->body !~ /<html/i, 'review.js: its code');

$r = get('budi', 'review.css');
is($r->status, 200, 'review.css');
like($r->header('Content-Type'), qr{^text/css}, 'review.css: a style sheet');

is(get('budi', 'nope.html')->status, 404, 'another file: 404');
$r = get('budi', 'api/nope');
is($r->status, 404, 'an unknown API call: 404');
ok($r->json && $r->json->{error}, 'an unknown API call: JSON error');
$r = act('budi', 'comments/0123abcd/approve/more');
is($r->status, 404, 'an unknown action: 404');
is(get('budi', 'api/comments/0123abcd/approve')->status, 405,
    'a GET to an action: 405');

$r = get('budi', 'api/counts');
is(join(' ', map { $r->header($_) // '-' } qw/ Cache-Control
    X-Content-Type-Options /), 'no-store nosniff',
    'an API answer: never cached, never sniffed');
$r = $t->http_method('HEAD', '/moderation/api/counts', undef, auth('budi'));
is($r->status . ' ' . length($r->body), '200 0', 'HEAD of a read: no body');
$r = $t->http_method('DELETE', '/moderation/api/counts', undef, auth('budi'));
is($r->status, 405, 'DELETE of a read: 405');

###############################################################################
# comments to review

my $siti = hmac_key('e', 'siti@example.com');

my $a1 = hold('<s1>', name => 'Siti', email => 'Siti@Example.com',
    article_id => 'a-1', ip => '10.1.1.1');
my $a2 = hold('<s2>', name => 'Siti', email => 'siti@example.com',
    article_id => 'a-2', ip => '10.1.1.1',
    comment => 'Promo tautan <s2> 50%');
my $a3 = hold('<s3>', name => 'Siti', email => 'siti@example.com',
    article_id => 'a-1', ip => '10.1.1.2');
my $b1 = hold('<b1>', name => 'Budiman', email => 'budiman@example.com',
    article_id => 'a-2', ip => '10.2.2.2');
my $b2 = hold('<b2>', name => 'Ani', email => 'ani@example.com',
    article_id => 'a-3', ip => '10.2.2.3',
    comment => 'Ada PROMO besar di tautan <b2>');

is(scalar(keys %held), 5, 'five comments held');

$r = get('budi', 'api/counts');
is_deeply($r->json, { pending => 5, rejected => 0, approved => 0,
    'release-failed' => 0, releasing => 0 }, 'counts: five pending');

$r = get('budi', 'api/comments');
is($r->json && $r->json->{state}, 'pending', 'list: pending by default');
is($r->json && $r->json->{total}, 5, 'list: total');
is(ids_of($r), "$a1,$a2,$a3,$b1,$b2", 'list: oldest first by default');

my ($c) = grep { $_->{id} eq $a2 } @{ $r->json->{comments} };
is(join('|', map { $c->{$_} // '-' } qw/ state article name email ip score rules /),
    "pending|a-2|Siti|siti\@example.com|10.1.1.1|8|tautan,promo",
    'a summary: state, article, name, email, address, score, rules');
is($c->{text}, 'Promo tautan <s2> 50%', 'a summary: the text as posted');
is_deeply([ sort { $a->{start} <=> $b->{start} } @{ $c->{spans} || [] } ],
    [ { rule => 'promo', field => 'text', start => 0, end => 5 },
      { rule => 'tautan', field => 'text', start => 6, end => 12 } ],
    'a summary: the spans, byte offsets into the text');
like($c->{reason}, qr/score 8/, 'a summary: the reason');
ok($c->{time} > 1.7e12, 'a summary: the time in ms');

is(ids_of(get('budi', 'api/comments?order=newest')), "$b2,$b1,$a3,$a2,$a1",
    'order=newest');
is(ids_of(get('budi', 'api/comments?order=score')), "$b2,$a2,$b1,$a3,$a1",
    'order=score: highest first, then newest');

$r = get('budi', 'api/comments?offset=1&limit=2');
is(ids_of($r) . ' ' . $r->json->{total} . ' ' . $r->json->{offset},
    "$a2,$a3 5 1", 'offset and limit: a page, the total of all');
is(ids_of(get('budi', 'api/comments?order=score&offset=3&limit=5')),
    "$a3,$a1", 'offset and limit by score');
is(scalar @{ get('budi', 'api/comments?limit=100000')->json->{comments} }, 5,
    'a limit above 200: a page all the same');

$r = get('budi', 'api/comments?article=a-1');
is(ids_of($r) . ' ' . $r->json->{total}, "$a1,$a3 2", 'filter: article');
is(ids_of(get('budi', 'api/comments?rule=promo')), "$a2,$b2", 'filter: rule');
is(ids_of(get('budi', 'api/comments?rule=prom')), '',
    'filter: a rule name is matched whole');
is(ids_of(get('budi', 'api/comments?author=SITI%40example.COM')),
    "$a1,$a2,$a3", 'filter: author by e-mail, any case');
is(ids_of(get('budi', 'api/comments?author=ani')), $b2,
    'filter: author by name');
is(ids_of(get('budi', 'api/comments?ip=10.1.1.1')), "$a1,$a2",
    'filter: address');
is(ids_of(get('budi', 'api/comments?q=promo+besar')), $b2,
    'filter: a piece of the text, any case, + as a space');
is(ids_of(get('budi', 'api/comments?q=50%25')), $a2, 'filter: q with a %');
is(ids_of(get('budi', 'api/comments?article=a-1&order=score&ip=10.1.1.2')),
    $a3, 'filters together');
is(get('budi', 'api/comments?state=bogus')->status, 400, 'an unknown state: 400');
is(get('budi', 'api/comments?state=rejected')->json->{total}, 0,
    'state=rejected: none yet');

# filters are data: Lua patterns, Redis commands, JSON, keys
for my $q ('%', '.*', '(', "'); redis.call('FLUSHALL') --",
    '"]}', 'cm:q:pending', "\\") {
    (my $enc = $q) =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord $1)/ge;
    $r = get('budi', "api/comments?q=$enc&author=$enc&rule=$enc&article=$enc");
    is($r->status . ' ' . ($r->json ? $r->json->{total} : 'not JSON'), '200 0',
        "a filter \"$q\" is just data");
}
is(r('ZCARD', 'cm:q:pending'), 5, 'the queue is intact after those filters');

###############################################################################
# one comment in full

$r = get('budi', "api/comments/$a2");
is($r->status, 200, 'show: 200');
my $full = $r->json || {};
is($full->{id}, $a2, 'show: its id');
is_deeply([ sort { $a->{rule} cmp $b->{rule} } @{ $full->{hits} || [] } ],
    [ { rule => 'promo', contribution => 3 },
      { rule => 'tautan', contribution => 5 } ],
    'show: each rule with its contribution');
is(scalar @{ $full->{spans} || [] }, 2, 'show: the spans');
is($full->{folded}, 'promo tautan <s2> 50%', 'show: the normalized text');
is(join('|', map { $full->{$_} // '-' } qw/ method uri content_type version /),
    'POST|/comments|application/x-www-form-urlencoded|0',
    'show: method, URI, content type, rule-set version');

my $h = $full->{history}{author} || {};
is(join(',', map { "$_=" . ($h->{$_} // '-') } qw/ seen queued approved rejected
    trusted blocked /), 'seen=3,queued=3,approved=0,rejected=0,trusted=0,blocked=0',
    'show: the author\'s history (by e-mail, any case)');
is(join(',', sort map { $_->{id} } @{ $h->{recent} || [] }),
    join(',', sort $a1, $a3), 'show: the author\'s other recent comments');
$h = $full->{history}{address} || {};
is(join(',', $h->{seen} // '-', map { $_->{id} } @{ $h->{recent} || [] }),
    "2,$a1", 'show: the address\'s history and its other comment');

$r = get('budi', 'api/comments/' . ('0' x 20));
is($r->status, 404, 'show an unknown id: 404');
ok($r->json && $r->json->{error}, 'show an unknown id: JSON error');

###############################################################################
# CSRF: a POST, with the token of the moderator's session, from the page's
# origin

my $before = r('HGETALL', "cm:c:$b1");

$r = $t->http_post("/moderation/api/comments/$b1/reject", undef, auth('budi'));
is($r->status, 403, 'an action without X-CSRF-Token: 403');
ok($r->json && $r->json->{error}, 'refused: JSON error');

$r = $t->http_post("/moderation/api/comments/$b1/reject", undef, auth('budi'),
    'X-CSRF-Token' => '0' x 32);
is($r->status, 403, 'a wrong token: 403');

$r = $t->http_post("/moderation/api/comments/$b1/reject", undef, auth('budi'),
    'X-CSRF-Token' => csrf('ani'));
is($r->status, 403, 'the token of another moderator: 403');

$r = act('budi', "comments/$b1/reject", undef,
    'Origin' => 'http://evil.example');
is($r->status, 403, 'the right token from another origin: 403');

$r = act('budi', "comments/$b1/reject", undef,
    'Origin' => 'http://localhost.evil.example');
is($r->status, 403, 'an origin that starts like ours: 403');

$r = act('budi', "comments/$b1/reject", undef, 'Origin' => 'null');
is($r->status, 403, 'Origin: null: 403');

$r = $t->http_get("/moderation/api/comments/$b1/reject", auth('budi'),
    'X-CSRF-Token' => csrf('budi'));
is($r->status, 405, 'GET to an action: 405');

$r = $t->http_post('/by-header/api/comments/' . $b1 . '/reject', undef,
    'X-Moderator' => 'ani', 'X-CSRF-Token' => csrf('ani'));
is($r->status, 403,
    'the token of ani\'s password login does not fit ani named by a header');

is_deeply(r('HGETALL', "cm:c:$b1"), $before,
    'nothing refused changed the comment');
is(r('LLEN', 'cm:audit'), 0, 'nothing refused is in the audit log');

###############################################################################
# reject, from the page's origin

$r = act('budi', "comments/$b1/reject", undef,
    'Origin' => 'http://localhost');
is($r->status, 200, 'reject with the token, from the page\'s origin: 200');
is_deeply($r->json, { id => $b1, ok => JSON::PP::true(), state => 'rejected',
    from => 'pending', status => 0, error => '' }, 'reject: the result');
is(state_of($b1), 'rejected', 'reject: state rejected in Redis');
ok(defined r('ZSCORE', 'cm:q:rejected', $b1)
    && !defined r('ZSCORE', 'cm:q:pending', $b1), 'reject: moved to its index');
is(r('HGET', "cm:c:$b1", 'moderator'), 'budi', 'reject: the moderator kept');

$r = act('budi', "comments/$b1/reject");
is($r->status . ' ' . ($r->json && $r->json->{state}), '409 rejected',
    'reject again: 409 with the current state');
is($r->json && $r->json->{ok}, JSON::PP::false(), 'reject again: ok false');

$r = get('budi', 'api/counts')->json;
is("$r->{pending} $r->{rejected}", '4 1', 'counts after a reject');
is(ids_of(get('budi', 'api/comments?state=rejected')), $b1,
    'the rejected list has it');

# a tool sends no Origin: the token suffices
$r = $t->http_post("/by-header/api/comments/$b2/reject", undef,
    'X-Moderator' => 'sari',
    'X-CSRF-Token' => $t->http_get('/by-header/api/session',
        'X-Moderator' => 'sari')->json->{csrf});
is($r->status, 200, 'a moderator named by a header acts with their token');
is(r('HGET', "cm:c:$b2", 'moderator'), 'sari', 'that moderator is recorded');

###############################################################################
# reject-block: the author's block key with its expiry

$r = act('ani', "comments/$a3/reject-block", { block => 'somebody' });
is($r->status, 400, 'reject-block with an unknown "block": 400');
$r = act('ani', "comments/$a3/reject-block", { block => 'author', hours => 0 });
is($r->status, 400, 'reject-block for 0 hours: 400');
is(state_of($a3), 'pending', 'a refused reject-block leaves it pending');

my $rejected_before = r('HGET', "cm:rep:a:$siti", 'rejected') // 0;

$r = act('ani', "comments/$a3/reject-block", { block => 'author', hours => 2 });
is($r->status . ' ' . ($r->json && $r->json->{state}), '200 rejected',
    'reject-block author for 2 hours: rejected');
my $ttl = r('TTL', "cm:block:a:$siti") // -2;
ok($ttl > 7000 && $ttl <= 7200, 'reject-block: cm:block:a:<author> for 2 h')
    or diag("TTL $ttl");
is(r('HGET', "cm:rep:a:$siti", 'rejected'), $rejected_before + 1,
    'reject-block: the author\'s rejections counted');
is(get('ani', "api/comments/$a1")->json->{history}{author}{blocked}, 1,
    'the author\'s history shows the block');

my $net = hmac_key('n', "\x0a\x02\x02");
$r = act('ani', "comments/$b1/reject-block", { block => 'network' });
is($r->status, 409, 'reject-block of a rejected comment: 409');
ok(!r('EXISTS', "cm:block:n:$net"), 'a refused reject-block blocks nothing');

###############################################################################
# approve from rejected (the way back), approve-trust

$r = act('budi', "comments/$b1/approve");
is($r->status . ' ' . ($r->json && $r->json->{from}) . ' '
    . ($r->json && $r->json->{state}), '200 rejected approved',
    'approve a rejected comment: the way back');
ok(defined r('ZSCORE', 'cm:q:approved', $b1)
    && !defined r('ZSCORE', 'cm:q:rejected', $b1),
    'approved from rejected: moved from the rejected index to the approved');

$r = act('ani', "comments/$a1/approve-trust");
is($r->status . ' ' . ($r->json && $r->json->{state}), '200 approved',
    'approve-trust: approved');
is(r('HGET', "cm:rep:a:$siti", 'trusted'), 1,
    'approve-trust: the author is trusted');
is(get('ani', "api/comments/$a2")->json->{history}{author}{trusted}, 1,
    'the author\'s history shows the trust');

###############################################################################
# bulk

my $unknown = 'f' x 20;

$r = act('budi', 'bulk', { action => 'reject', ids => [ $a2, $unknown, $a1 ] });
is($r->status, 200, 'bulk: 200');
my @res = @{ ($r->json && $r->json->{results}) || [] };
is(join(' ', map { "$_->{id}:" . ($_->{ok} ? 'ok' : 'no') . ":$_->{state}" } @res),
    "$a2:ok:rejected $unknown:no:unknown $a1:no:approved",
    'bulk: each result in order (one done, one unknown, one already approved)');
is(state_of($a2), 'rejected', 'bulk: the pending one is rejected');
is(state_of($a1), 'approved', 'bulk: the approved one is left as it was');

$r = act('budi', 'bulk', { action => 'reject', ids => [ $a2, 'xyz' ] });
is($r->status, 400, 'bulk with an id that is not an id: 400');
$r = act('budi', 'bulk', { action => 'explode', ids => [ $a2 ] });
is($r->status, 404, 'bulk with an unknown action: 404');
$r = act('budi', 'bulk', { action => 'reject', ids => [] });
is($r->status, 400, 'bulk without ids: 400');
$r = act('budi', 'bulk', { action => 'reject', ids => [ ($a2) x 201 ] });
is($r->status, 400, 'bulk with more than 200 ids: 400');

###############################################################################
# hostile ids

for my $id ('ABCDEF', "a'b", '*', 'a%0d%0aFLUSHALL', '1%202',
    'g' x 20, '0' x 65) {
    $r = act('budi', "comments/$id/reject");
    is($r->status, 404, "the id \"$id\": 404");
}
is(get('budi', 'api/comments/cm:q:pending')->status, 404,
    'a key name as an id: 404');
is(act('budi', 'comments/..%2F..%2Fetc/reject')->status, 405,
    'dots in an id: nginx resolves them, the path leaves the API (a file)');
is(r('ZCARD', 'cm:q:rejected') + r('ZCARD', 'cm:q:pending')
    + r('ZCARD', 'cm:q:approved'), 5, 'every comment still there');

###############################################################################
# the audit log: every action, newest first

$r = get('budi', 'api/audit');
my $audit = $r->json || {};
my @e = @{ $audit->{entries} || [] };
is($audit->{total}, 6, 'audit: six actions');
is(join(' ', map { "$_->{who}:$_->{action}:$_->{from}>$_->{to}" } @e),
    join(' ', 'budi:reject:pending>rejected', 'ani:approve-trust:pending>approved',
        'budi:approve:rejected>approved', 'ani:reject-block:pending>rejected',
        'sari:reject:pending>rejected', 'budi:reject:pending>rejected'),
    'audit: who did what from which state, newest first')
    or diag(explain \@e);
is($e[0]{id}, $a2, 'audit: the comment');
ok(abs(($e[0]{time} // 0) / 1000 - time()) < 60, 'audit: the time in ms');

$r = get('budi', 'api/audit?offset=1&limit=2');
is(join(' ', map { $_->{action} } @{ $r->json->{entries} || [] }),
    'approve-trust approve', 'audit: paged');

###############################################################################
# what the rules make of a block and a trust (reputation.rules' facts
# "author blocked", "network blocked", "author trusted")

$r = $t->http_post('/comments', form(comment => 'Terima kasih <blocked>',
    email => 'siti@example.com'), 'Accept' => 'application/json',
    'X-Real-IP' => '10.7.7.7');
is($r->status, 403, 'a blocked author\'s next comment: rejected');
like($t->read_file('error.log'), qr/rules: blocked-author\b/,
    'a blocked author\'s next comment: by blocked-author');

my $n1 = hold('<net1>', name => 'Farm', ip => '10.9.9.9');
$r = act('budi', "comments/$n1/reject-block", { block => 'network',
    hours => 1 });
is($r->status, 200, 'reject-block network');
$ttl = r('TTL', 'cm:block:n:' . hmac_key('n', "\x0a\x09\x09")) // -2;
ok($ttl > 3500 && $ttl <= 3600, 'reject-block: cm:block:n:<network> for 1 h')
    or diag("TTL $ttl");

$r = $t->http_post('/comments', form(comment => 'Halo semua <net2>',
    email => 'lain@example.com'), 'X-Real-IP' => '10.9.9.77');
is($r->status, 403, 'another author of the blocked network: rejected');
$r = $t->http_post('/comments', form(comment => 'Halo semua <net3>',
    email => 'lain@example.com'), 'X-Real-IP' => '10.9.8.1');
is($r->status, 200, 'the next network: accepted');

my $j1 = hold('<joko1>', email => 'joko@example.com', ip => '10.5.5.5');
is(act('ani', "comments/$j1/approve-trust")->status, 200,
    'approve-trust a newcomer');
my $forwarded = $t->backend_count();
$r = $t->http_post('/comments', form(comment => 'Baca tautan ini <joko2>',
    email => 'joko@example.com'), 'X-Real-IP' => '10.5.5.5');
is($r->status, 200, 'the trusted author\'s next link: accepted, not held');
is($t->backend_count(), $forwarded + 1, 'and forwarded to the backend');
