#!/usr/bin/perl

# More of the editors' work (docs/admin-api.md, issue 6) against real nginx
# and Redis: stricter thresholds for a section (the section from
# comment_moderation_section, from the body's section= field, the directive
# winning), live without a reload; the section kept with a held comment and
# read by "try"; a rule made from a held comment (api/rules/matches lists
# the pending comments it fires on, the bulk action rejects them, the
# publish rejects the next one); a shadow rule previewed and promoted
# (api/rules/promote).

use strict;
use warnings;
use utf8;

use JSON::PP ();
use Test::More;
use Test::CM;
use Test::CM::Admin;
use Test::CM::HTTP qw/ form json_encode /;
use Test::CM::Redis;
use Time::HiRes qw/ sleep /;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

my $redis = Test::CM::Redis->start();
my $t = Test::CM->new()->plan(41);

my $BASE = <<'EOF';
rule tautan
    words tautan
    score 3
    note  "a link word: 3 points, held only where it is stricter"

rule coba
    words cobacoba
    action reject
    shadow
    note  "tried as a shadow first"
EOF

my $SECTIONS = "threshold queue 3 for section pemilu, politik\n\n" . $BASE;

$t->write_rules($BASE);

my $m = Test::CM::Admin->new($t, $redis, editor => 'rahasia redaksi');

my $conf = http_conf(<<'EOF');
comment_moderation_redis %%REDIS%% timeout=500ms;
comment_moderation_secret 0123456789abcdef0123;
comment_moderation_sample_accepted 100%;
comment_moderation_spool_path %%PREFIX%%/spool;
comment_moderation_rules %%RULES%%;
comment_moderation_queue hold;

map $uri $cm_section {
    ~^/pemilu/  pemilu;
    default     "";
}

server {
    listen 127.0.0.1:%%PORT%%;

    location /comments {
        comment_moderation on;
        proxy_pass http://%%BACKEND%%;
    }

    location /pemilu/ {
        comment_moderation on;
        comment_moderation_section $cm_section;
        proxy_pass http://%%BACKEND%%;
    }

    location /form/ {
        comment_moderation on;
        comment_moderation_fields text=comment email=email section=rubrik;
        proxy_pass http://%%BACKEND%%;
    }

    location /both/ {
        comment_moderation on;
        comment_moderation_fields text=comment email=email section=rubrik;
        comment_moderation_section olahraga;
        proxy_pass http://%%BACKEND%%;
    }

%%ADMIN%%}
EOF
$conf =~ s/%%REDIS%%/$redis->address()/ge;
$conf =~ s/%%ADMIN%%/$m->locations('client_body_buffer_size 1m;')/e;

$t->run($conf);

ok($t->wait_for_log(qr/comment moderation: redis \S+ connected/),
    'the worker connected to Redis');

sub draft { Test::CM::Admin::draft(@_) }

sub act { $m->act('editor', @_) }

sub post {
    my ($uri, $text, %more) = @_;

    return $t->http_post($uri, form(comment => $text,
        email => 'pembaca' . int(rand(1e9)) . '@example.com', %more),
        'Accept' => 'application/json')->status;
}

# a text made unique each time
sub status_soon {
    my ($want, $uri, $text) = @_;

    return Test::CM::Admin::status_soon($want,
        sub { post($uri, $text . ' ' . int(rand(1e9))) });
}

# --- sections: live, without a reload

my $r = act('rules/publish', { %{ draft($BASE) }, note => 'base' });
is($r->json->{version}, 1, 'publish the base set') or diag($r->raw);

is(status_soon(200, '/comments', 'baca tautan'), 200,
    'v1: 3 points pass in a normal location');
is(post('/pemilu/berita', 'baca tautan'), 200,
    'v1: and in the election section (no override yet)');

$r = act('rules/publish', { %{ draft($SECTIONS) }, note => 'stricter pemilu' });
is($r->json->{version}, 2, 'publish the section thresholds');

is(status_soon(202, '/pemilu/berita', 'baca tautan'), 202,
    'v2: 3 points are held in the election section, no reload');
is(post('/comments', 'baca tautan'), 200, 'v2: still accepted elsewhere');
unlike($t->error_log, qr/reconfiguring|signal 1 \(SIGHUP\)/, 'v2: live, without a reload');

my $id = $m->hold('pemiluheld', uri => '/pemilu/berita',
    comment => 'baca tautan pemiluheld');
is($m->field($id, 'section'), 'pemilu', 'the held comment keeps its section');
is($m->field($id, 'reason'), 'score 3 >= queue 3 (section pemilu)',
    'its reason names the section');

$r = $m->get('editor', "api/comments/$id");
is($r->json->{section}, 'pemilu', 'api/comments/ID shows the section');
$r = $m->get('editor', 'api/comments?state=pending&limit=200');
my ($summary) = grep { $_->{id} eq $id } @{ $r->json->{comments} };
is($summary && $summary->{section}, 'pemilu', 'the list shows it too');

is(post('/form/x', 'baca tautan', rubrik => 'politik'), 202,
    'the body\'s section= field: politik is stricter');
is(post('/form/x', 'baca tautan', rubrik => 'olahraga'), 200,
    'the body\'s section= field: olahraga is not');
is(post('/both/x', 'baca tautan', rubrik => 'politik'), 200,
    'comment_moderation_section wins over the body\'s field');

$r = act('rules/try', draft($SECTIONS, text => 'baca tautan',
    section => 'pemilu'));
is($r->json->{decision} . ': ' . $r->json->{reason},
    'queue: score 3 >= queue 3 (section pemilu)', 'try: with a section');
$r = act('rules/try', draft($SECTIONS, text => 'baca tautan'));
is($r->json->{decision}, 'accept', 'try: without one');

# --- a rule from a held comment: its matches, the bulk action, publish

my $tag = int(rand(1e9));
my @hits = map {
    $m->hold("kartu$_$tag", uri => '/pemilu/berita',
        comment => "baca tautan Kartu  HOKI nomor $_ kartu$_$tag")
} 1 .. 2;
my $other = $m->hold("lain$tag", uri => '/pemilu/berita',
    comment => "baca tautan yang lain lain$tag");

my $RULE = "\nrule from-$hits[0]\n    words \"kartu hoki\"\n    action reject\n"
    . "    note  \"from comment $hits[0] by editor\"\n";
my $WITH_RULE = $SECTIONS . $RULE;

$r = act('rules/matches', draft($WITH_RULE, rule => "from-$hits[0]"));
ok($r->json->{ok}, 'matches: ok') or diag($r->raw);
is(join(',', sort map { $_->{id} } @{ $r->json->{comments} }),
    join(',', sort @hits), 'matches: the two pending comments with the phrase');
is($r->json->{matched}, 2, 'matches: counted');
ok($r->json->{total} >= 3, 'matches: every pending comment looked at');
is(join(',', map { "$_->{now}:$_->{section}" } @{ $r->json->{comments} }),
    'reject:pemilu,reject:pemilu', 'matches: the draft\'s decision, the section');

$r = act('rules/matches', draft($WITH_RULE, rule => 'tidak-ada'));
is($r->json->{ok} ? 'ok' : $r->json->{error},
    'the draft has no rule of that name', 'matches: an unknown rule');
$r = act('rules/matches', draft($WITH_RULE));
is($r->status, 400, 'matches: without a rule, 400');
$r = $t->http_post('/moderation/api/rules/matches',
    json_encode(draft($WITH_RULE, rule => "from-$hits[0]")),
    'Content-Type' => 'application/json', $m->auth('editor'));
is($r->status, 403, 'matches: without the CSRF token, 403');

$r = act('bulk', { action => 'reject', ids => [ @hits ] });
is(join(',', map { $_->{ok} ? $_->{state} : $_->{error} }
        @{ $r->json->{results} }), 'rejected,rejected',
    'the matches rejected in bulk');
is($m->state($other), 'pending', 'the other one stays pending');

$r = act('rules/publish', { %{ draft($WITH_RULE) },
    note => "from comment $hits[0] by editor" });
is($r->json->{version}, 3, 'the rule published');
is(status_soon(403, '/comments', 'ada kartu hoki'), 403,
    'the next such comment is rejected live');

# --- promote a shadow rule

is(post('/comments', 'cobacoba sekarang'), 200,
    'the shadow rule changes nothing');
$r = $m->get('editor', 'api/rules');
my ($coba) = grep { $_->{name} eq 'coba' } @{ $r->json->{rules} };
ok($coba && $coba->{shadow}, 'api/rules: coba is a shadow');

$r = act('rules/promote', { rule => 'coba', preview => JSON::PP::true(),
    limit => 200 });
ok($r->json->{ok}, 'promote preview: ok') or diag($r->raw);
my @would = grep { $_->{text} =~ /^cobacoba sekarang/ } @{ $r->json->{comments} };
is(join(',', map { "$_->{was}->$_->{now}" } @would), 'accept->reject',
    'promote preview: the accepted comment it would have rejected');
is($redis->command('GET', 'cm:rules:active'), 3,
    'promote preview: nothing published');

$r = act('rules/promote', { rule => 'coba' });
is(join(',', map { "$_=" . ($r->json->{$_} // 'null') } qw/ ok version previous /),
    'ok=1,version=4,previous=3', 'promote: published as version 4')
    or diag($r->raw);
is(status_soon(403, '/comments', 'cobacoba sekarang'), 403,
    'promoted: the rule rejects, no reload');

$r = $m->get('editor', 'api/rules/source');
my $file = $r->json->{files}{'default.rules'};
ok($file !~ /^\s*shadow\s*$/m && $file =~ /note  "tried as a shadow first"/,
    'promote: only the shadow line is gone from the source');
$r = $m->get('editor', 'api/rules/versions');
is($r->json->{versions}[0]{note}, 'promoted coba from shadow',
    'promote: the version\'s default note');

$r = act('rules/promote', { rule => 'coba' });
is($r->status . ' ' . $r->json->{error}, '409 rule coba is not a shadow',
    'promote: not a shadow any more, 409');
$r = act('rules/promote', { rule => 'tidak-ada' });
is($r->status, 404, 'promote: an unknown rule, 404');

my @audit = map { "$_->{action}:$_->{version}" }
    grep { $_->{action} eq 'publish' }
    @{ $m->get('editor', 'api/audit')->json->{entries} };
is($audit[0], 'publish:4', 'audit: the promotion is a publish');
