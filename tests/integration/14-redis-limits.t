#!/usr/bin/perl

# Flood and swarm rules against a real Redis: identical comments from many
# addresses are rejected from the (K+1)-th on within the window; one author
# posting fast reaches the queue past the limit; a newcomer's link is held
# and a regular's is not; 2+ refusals in 24 h count against the author.

use strict;
use warnings;

use Test::More;
use Test::CM;
use Test::CM::Redis;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

my $redis = Test::CM::Redis->start();
my $t = Test::CM->new()->plan(17);

$t->write_rules(<<'EOF');
rule link
    regex "https?://"
    when author accepted = 0, author approved = 0
    action queue

rule swarm
    regex "\S.{19,}"
    limit text 4/10m
    action reject

rule flood
    limit author 5/60s
    action queue

rule refused
    words ditolak
    action reject

rule repeat-offender
    when author rejected-24h >= 2
    action queue
EOF

# the address comes from the test, as a proxy in front would send it
my $conf = redis_hold_conf('comment_moderation_redis %%REDIS%% timeout=500ms',
    "set_real_ip_from 127.0.0.1;\nreal_ip_header X-Real-IP;\n");
$conf =~ s/%%REDIS%%/$redis->address()/ge;

$t->run($conf);

ok($t->wait_for_log(qr/comment moderation: redis \S+ connected/),
    'the worker connected to Redis');

sub post {
    my ($email, $ip, $text) = @_;
    return $t->http_post('/comments',
        form(name => 'N', email => $email, comment => $text,
             article_id => 7),
        'X-Real-IP' => $ip, 'Accept' => 'application/json')->status;
}

# a bot swarm: the same text, 20 accounts, 20 addresses
my $swarm = 'Kunjungi halaman kami untuk info menarik setiap hari ya kak';
my @swarm = map { post("bot$_\@example.com", "10.0.$_.9", $swarm) } 1 .. 20;
is("@swarm[0 .. 3]", '200 200 200 200', 'swarm: the first 4 copies pass');
is(scalar(grep { $_ == 403 } @swarm[4 .. 19]), 16,
    'swarm: every copy from the 5th on is rejected');

# the swarm's next copies are refused at once: no rule runs, no Redis call
my $at_once = qr/rules: swarm \(a copy of a text that rule rejected, refused at once\)/;
my $refused_before = () = $t->error_log() =~ /$at_once/g;
is($refused_before, 15,
    'swarm: the 15 copies after the first rejected one were refused at once');
my $evalsha = $redis->command_calls('evalsha');
my @copies = map { post("late$_\@example.com", "10.1.$_.9", $swarm) } 1 .. 10;
is(scalar(grep { $_ == 403 } @copies), 10,
    'swarm: 10 more copies are rejected');
is($redis->command_calls('evalsha') - $evalsha, 0,
    'swarm: ... without a Redis call (INFO commandstats)');
my $refused = () = $t->error_log() =~ /$at_once/g;
is($refused - $refused_before, 10,
    'swarm: each copy is logged as refused at once, naming the rule');
like($t->error_log(), qr/rule "swarm" rejected a swarm's text: its copies are refused at once for 600 s/,
    'swarm: learning the text is logged with the window');
is(post('other@example.com', '10.2.0.9', $swarm . ' dan lainnya'), 200,
    'swarm: a different text is judged as usual');

# the same swarm text disguised is the same text
is(post('bot99@example.com', '10.0.99.9',
        'K u n j u n g i halaman kami untuk info menarik setiap hari ya kaaak'),
    403, 'swarm: a disguised copy counts as the same text');

# a flood from one author: 5 a minute pass, the 6th is held
my @flood = map { post('cepat@example.id', '192.0.2.7', "komentar nomor $_") }
    1 .. 7;
is("@flood[0 .. 4]", '200 200 200 200 200', 'flood: 5 comments a minute pass');
is("@flood[5 .. 6]", '202 202', 'flood: the 6th and 7th are held');

# a newcomer's link is held; an author with published comments is not
is(post('baru@example.id', '192.0.2.8', 'Sumber: https://example.org/x'),
    202, 'link: a first-time author is held');
is(post('cepat@example.id', '192.0.2.7', 'Sumber: https://example.org/x'),
    202, 'link: ... while the flood window still holds the fast author');
is(post('budi@example.id', '192.0.2.9', 'Komentar biasa saja'), 200,
    'link: an author publishes a comment');
is(post('budi@example.id', '192.0.2.9', 'Sumber: https://example.org/y'),
    200, 'link: then the same author\'s link passes');

# two refusals today: the next comment, however harmless, is held
post('nakal@example.id', '192.0.2.10', "ditolak $_") for 1 .. 2;
is(post('nakal@example.id', '192.0.2.10', 'Maaf, komentar biasa'), 202,
    'repeat offender: held after 2 refusals in 24 h');
