#!/usr/bin/perl

# A rule whose regex backtracks catastrophically, "(a+)+$", against 50 KB of
# "a": pcre2's limits end the match quickly, the comment gets an answer
# (queued: "set regex-error queue"), the rule is named in error.log, and the
# one worker keeps serving other connections meanwhile.
#
# Timing bounds scale with CM_TEST_TIME_FACTOR (default 1) for slow machines
# and sanitizer builds.

use strict;
use warnings;

use Test::More;
use Test::CM;
use Time::HiRes qw/ time /;

my $t = Test::CM->new()->plan(14);

my $factor = $ENV{CM_TEST_TIME_FACTOR} || 1;

$t->write_rules(<<'EOF' . $JUDOL_RULE);
set regex-error queue

rule backtrack regex "(a+)+$" view raw score 1
EOF

$t->run(http_conf(<<'EOF'));
server {
    listen 127.0.0.1:%%PORT%%;

    location /comments {
        comment_moderation on;
        comment_moderation_rules %%RULES%%;
        proxy_pass http://%%BACKEND%%;
    }

    location = /ping {
        return 200 "pong\n";
    }
}
EOF

sub best {
    my @sorted = sort { $a <=> $b } @_;
    return $sorted[0];
}

# warm up the worker, so that the timings below are the module's
$t->http_get('/ping');

# "a" x 50000 then "!": every start position fails at the end, after
# exponentially many ways to split the run between the two "+"
my $hostile = 'comment=' . ('a' x 50000) . '%21';

# Timings are the best of three tries: a loaded machine (a parallel test run)
# slows some tries down, a worker stuck in a regex slows down all of them.

my (@alone, @statuses, $r, $req);

for (1 .. 3) {
    $r = $t->http_post('/comments', $hostile);
    push @alone, $r->elapsed;
    push @statuses, $r->status;
}

$req = $t->backend_last();

is("@statuses", '200 200 200', 'hostile comment answered (queued, forwarded)');
ok(best(@alone) < 0.2 * $factor, 'answered within 200 ms')
    or diag(sprintf('best of three took %.3f s', best(@alone)));
is($req && $req->header('X-Comment-Moderation'), 'queue',
    'a regex that hits a limit queues the comment');
ok($t->wait_for_log(qr/\[warn\].*"backtrack".*limit/),
    'error.log names the rule that hit the limit');
is($req && $req->body, $hostile, 'the hostile body forwarded unchanged');

# meanwhile, on the same (only) worker: another connection is not held up

my (@pings, @slow);

for (1 .. 3) {
    my $s = $t->http_start($t->request('POST', '/comments', $hostile));
    my $ping = $t->http_get('/ping');
    push @pings, $ping;
    push @slow, $t->http_end($s);
}

note(sprintf('hostile alone: %s ms; GET during one: %s ms',
    join(' ', map { sprintf '%.1f', $_ * 1000 } @alone),
    join(' ', map { sprintf '%.1f', $_->elapsed * 1000 } @pings)));

is(join(' ', map { $_->status } @pings), '200 200 200',
    'a GET during the hostile request is served');
ok(best(map { $_->elapsed } @pings) < 0.05 * $factor, 'within 50 ms')
    or diag(sprintf('best of three took %.3f s',
        best(map { $_->elapsed } @pings)));
is(join(' ', map { $_->status } @slow), '200 200 200',
    'the hostile requests still answered');

# several at once: the worker stays responsive

my @socks = map {
    $t->http_start($t->request('POST', '/comments', $hostile));
} 1 .. 5;

my $start = time();
my $ping = $t->http_get('/ping');
my @answers = map { $t->http_end($_) } @socks;
my $all = time() - $start;

is($ping->status, 200, 'a GET among five hostile requests is served');
ok($all < 1 * $factor, 'five hostile requests answered within 1 s')
    or diag(sprintf('took %.3f s', $all));
is(join(' ', map { $_->status } @answers), '200 200 200 200 200',
    'every hostile request answered');

# a run of "a" that matches is no trouble, and spam is still judged

my @match = map { $t->http_post('/comments', 'comment=' . ('a' x 50000)) }
    1 .. 3;
is(join(' ', map { $_->status } @match), '200 200 200',
    'a matching run of "a" answered');
ok(best(map { $_->elapsed } @match) < 0.2 * $factor, '... within 200 ms');

$r = $t->http_post('/comments', 'comment=' . ('a' x 50000) . '+slot+gacor');
is($r->status, 403, 'spam after the hostile run is rejected');
