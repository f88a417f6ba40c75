#!/usr/bin/perl

# The editors' rule work (docs/admin-api.md, "Editors: rules") against real
# nginx and Redis: a draft checked by the module's own compiler (the error
# names file and line), tried on a text (decision, hits, byte spans),
# backtested against held comments, published with a note (the next comment
# with the new brand, disguised too, is rejected without a reload), the
# versions listed, rolled back (the old behaviour returns); the audit log,
# the hit counts of api/rules, and the refusals (no note, no token, GET).

use strict;
use warnings;
use utf8;

use Test::More;
use Test::CM;
use Test::CM::Admin;
use Test::CM::Redis;
use Time::HiRes qw/ sleep /;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

my $redis = Test::CM::Redis->start();
my $t = Test::CM->new()->plan(47);

my $BASE = <<'EOF';
rule tautan
    words tautan
    score 5
    note  "a link word: held for a moderator"

rule judol
    words "slot gacor", maxwin
    action reject
EOF

# the files serve until something is published; the same text as v1
$t->write_rules($BASE);

my %PASSWORD = (editor => 'rahasia redaksi');
my $m = Test::CM::Admin->new($t, $redis, %PASSWORD);

my $conf = http_conf(<<'EOF');
comment_moderation_redis %%REDIS%% timeout=500ms;
comment_moderation_secret 0123456789abcdef0123;
# every accepted comment is kept for the backtests
comment_moderation_sample_accepted 100%;
comment_moderation_spool_path %%PREFIX%%/spool;

server {
    listen 127.0.0.1:%%PORT%%;

    location /comments {
        comment_moderation on;
        comment_moderation_rules %%RULES%%;
        comment_moderation_queue hold;
        proxy_pass http://%%BACKEND%%;
    }

%%ADMIN%%
    location = /metrics {
        comment_moderation_metrics;
    }
}
EOF
$conf =~ s/%%REDIS%%/$redis->address()/ge;
$conf =~ s/%%ADMIN%%/$m->locations('client_body_buffer_size 1m;')/e;

$t->run($conf);

ok($t->wait_for_log(qr/comment moderation: redis \S+ connected/),
    'the worker connected to Redis');

sub draft { Test::CM::Admin::draft(@_) }

sub act { $m->act('editor', @_) }

# a flat JSON object as "k=v,..." sorted, true as 1 and null as "null"
sub flat {
    my ($j) = @_;

    return join ',', map { "$_=" . (defined $j->{$_} ? 0 + $j->{$_} : 'null') }
        sort keys %$j;
}

sub post {
    my ($text) = @_;

    return $t->http_post('/comments', form(comment => $text,
        email => 'pembaca' . int(rand(1e9)) . '@example.com'),
        'Accept' => 'application/json')->status;
}

sub status_soon {
    my ($want, $text) = @_;

    return Test::CM::Admin::status_soon($want, sub { post($text) });
}

# --- nothing published yet

is($m->get('editor', 'api/rules/source')->status, 404,
    'source: 404 before anything is published');

# --- check: the module's compiler, its message with file and line

my $r = act('rules/check', draft($BASE));
is(flat($r->json), 'ok=1,rules=2', 'check: a good draft, 2 rules')
    or diag($r->raw);

$r = act('rules/check', draft($BASE . "\nrule rusak\n    regex \"(abc\"\n"
    . "    action reject\n"));
is($r->status, 200, 'check: a broken draft is still answered 200');
ok(!$r->json->{ok}, 'check: not ok');
like($r->json->{error}, qr/^default\.rules:11: rule rusak: regex error at offset 4/,
    'check: the error names the file, the line and the offset')
    or diag($r->json->{error});

$r = act('rules/check', { entry => 'default.rules', files => {
    'default.rules' => "include lain.rules\n" } });
like($r->json->{error}, qr/lain\.rules/, 'check: a missing included file');

# --- try: the draft's decision on a text

my $WITH_BRAND = $BASE . <<'EOF';

rule brand-baru
    words mahjongsakti
    score 12
    note  "a gambling site that appeared this morning"
EOF

$r = act('rules/try', draft($WITH_BRAND, text => 'main di mahjongsakti yuk'));
is($r->json->{decision}, 'reject', 'try: the new brand rejects');
is($r->json->{score}, 12, 'try: its score');
is_deeply($r->json->{hits}, [{ rule => 'brand-baru', contribution => 12 }],
    'try: the rule and its contribution');
is_deeply([ map { [$_->{rule}, $_->{start}, $_->{end}] } @{ $r->json->{spans} } ],
    [[ 'brand-baru', 8, 20 ]], 'try: the span, in bytes of the text');

$r = act('rules/try', draft($WITH_BRAND, text => 'main di m a h j o n g s a k t i'));
is($r->json->{decision}, 'reject', 'try: spaced out too');

$r = act('rules/try', draft($BASE, text => 'main di mahjongsakti yuk'));
is($r->json->{decision}, 'accept', 'try: without the rule, accepted');

$r = act('rules/try', draft($BASE));
is($r->status, 400, 'try: no text, 400');

# --- publish the base set: the live version 1

$r = act('rules/publish', draft($BASE));
is($r->status, 400, 'publish: without a note, refused');
like($r->json->{error}, qr/note/, 'publish: the reason');

$r = act('rules/publish', draft($BASE . "\nrule x\n    regex \"(\"\n"),
    note => 'broken');
ok(!$r->json->{ok}, 'publish: a draft that does not compile is not published');
is($redis->command('GET', 'cm:rules:active'), undef,
    'publish: nothing is active after the refusal');

$r = act('rules/publish', { %{ draft($BASE) }, note => 'the base set' });
is(flat($r->json), 'ok=1,previous=null,version=1', 'publish: version 1')
    or diag($r->raw);

is(status_soon(200, 'main di mahjongsakti yuk'), 200,
    'live v1: the unknown brand passes');

# the sample of accepted comments, for backtests: stored as "accepted"
my ($sampled) = grep {
    ($redis->command('HGET', "cm:c:$_", 'text') // '') eq 'main di mahjongsakti yuk'
} @{ $redis->command('ZRANGE', 'cm:q:accepted', 0, -1) };
ok($sampled, 'the accepted comment is in the sample');
is($sampled && $redis->command('HGET', "cm:c:$sampled", 'state'), 'accepted',
    'its state: accepted');

# --- backtest: held comments against a draft

my $held = $m->hold('btest' . int(rand(1e9)));
$r = act('rules/backtest', { %{ draft($BASE =~ s/score 5/score 0/r) },
    limit => 100 });
ok($r->json->{ok}, 'backtest: ok') or diag($r->raw);
my ($flip) = grep { $_->{id} eq $held } @{ $r->json->{comments} || [] };
is($flip && "$flip->{outcome}: $flip->{was} -> $flip->{now}",
    'queue: queue -> accept', 'backtest: the held comment would now be accepted');
ok($r->json->{total} >= 1 && $r->json->{changed} >= 1,
    'backtest: totals');

$r = act('rules/backtest', { %{ draft($BASE) }, limit => 100 });
ok(!grep({ $_->{id} eq $held } @{ $r->json->{comments} }),
    'backtest: the live rules keep it held');

$r = act('rules/backtest', { %{ draft($WITH_BRAND) }, limit => 100 });
($flip) = grep { $_->{id} eq ($sampled // '') } @{ $r->json->{comments} || [] };
is($flip && "$flip->{state}: $flip->{was} -> $flip->{now}",
    'accepted: accept -> reject',
    'backtest: an accepted comment the new brand would reject');

# --- publish the brand: rejected without a reload, disguised too

$r = act('rules/publish', { %{ draft($WITH_BRAND) },
    note => 'new brand mahjongsakti' });
is(flat($r->json), 'ok=1,previous=1,version=2', 'publish: version 2');

is(status_soon(403, 'main di mahjongsakti yuk'), 403,
    'live v2: the brand is rejected, no reload');
is(post('main di m a h j o n g s a k t i'), 403, 'live v2: spaced out too');
is(post('MAHJONG-SAKTI gacorrr'), 403, 'live v2: with a dash, in capitals');

$r = $m->get('editor', 'api/rules/source');
is($r->json->{version}, 2, 'source: the active version');
is($r->json->{files}{'default.rules'}, $WITH_BRAND, 'source: its files');

$r = $m->get('editor', 'api/rules/versions');
is(join(',', map { "$_->{version}:$_->{author}:$_->{note}" }
        @{ $r->json->{versions} }),
    '2:editor:new brand mahjongsakti,1:editor:the base set',
    'versions: newest first, with author and note');

$r = $m->get('editor', 'api/rules/diff?from=1&to=2');
is_deeply([ map { [$_->{file}, $_->{added}, $_->{removed}] }
        @{ $r->json->{files} } ],
    [[ 'default.rules', [ 'rule brand-baru', '    words mahjongsakti',
        '    score 12', '    note  "a gambling site that appeared this morning"' ],
        [] ]],
    'diff: the lines the new version added') or diag($r->raw);
is($m->get('editor', 'api/rules/diff?from=1&to=9')->status, 404,
    'diff: an unknown version, 404');

# the rule's hits are counted
$r = $m->get('editor', 'api/rules');
my ($count) = grep { $_->{rule} eq 'brand-baru' } @{ $r->json->{counts} };
ok($count && $count->{hour} >= 2, 'api/rules: the new rule\'s hits');

# --- rollback: the old behaviour returns

$r = act('rules/rollback', { version => 1, note => 'too broad' });
is(flat($r->json), 'ok=1,previous=2,version=1', 'rollback');
is(status_soon(200, 'main di mahjongsakti yuk'), 200,
    'after the rollback the brand passes again');

$r = act('rules/rollback', { version => 9, note => 'x' });
is($r->status, 404, 'rollback: an unknown version, 404');

my @audit = map { "$_->{action}:$_->{version}" }
    grep { $_->{action} =~ /^(publish|rollback)$/ }
    @{ $m->get('editor', 'api/audit')->json->{entries} };
is(join(',', @audit), 'rollback:1,publish:2,publish:1',
    'audit: publishes and the rollback');

# --- the metrics: decisions counted, the queue's depth from Redis

$r = $t->http_get('/metrics');
like($r->header('Content-Type') // '', qr{^text/plain}, 'metrics: text');
my ($rejected) = $r->body =~ /^comment_moderation_decisions_total\{decision="reject"\} (\d+)$/m;
ok(($rejected // 0) >= 3, 'metrics: the rejections counted') or diag($r->body);
my ($pending) = $r->body =~ /^comment_moderation_queue\{state="pending"\} (\d+)$/m;
is($pending, $redis->command('ZCARD', 'cm:q:pending'),
    'metrics: the pending queue as Redis counts it');
like($r->body, qr/^comment_moderation_engine_seconds_count [1-9]/m,
    'metrics: the engine histogram');

# --- refusals

$r = $t->http_post('/moderation/api/rules/publish',
    json_encode({ %{ draft($BASE) }, note => 'x' }),
    'Content-Type' => 'application/json', $m->auth('editor'));
is($r->status, 403, 'publish without the CSRF token: 403');

is($m->get('editor', 'api/rules/check')->status, 405, 'GET check: 405');
