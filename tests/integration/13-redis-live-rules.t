#!/usr/bin/perl

# Live rule sets: a set published with scripts/cm-rules decides within 2 s,
# without a reload, in place of the rule files; another set, then a rollback,
# each within 2 s; a set that does not compile (written into Redis by hand:
# cm-rules refuses such sets) is refused with a logged error and the last
# good set keeps deciding; a worker restarted while Redis is down serves from
# the files, and picks up the active version when Redis is back.

use strict;
use warnings;
use utf8;

use File::Path qw/ make_path /;
use POSIX ();
use Test::More;
use Test::CM;
use Test::CM::Message qw/ slurp spew /;
use Test::CM::Redis;
use Time::HiRes qw/ time sleep /;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

my $redis = Test::CM::Redis->start();
my $t = Test::CM->new()->plan(38);

# the files: gambling words rejected, "tautan" held
$t->write_rules(<<'EOF' . $JUDOL_RULE);
rule tautan
    words tautan
    action queue
EOF

my $conf = redis_hold_conf('comment_moderation_redis %%REDIS%% timeout=200ms');
$conf =~ s/%%REDIS%%/$redis->address()/ge;

$t->run($conf);

# a set that rejects "poker88" and holds "tautan"; one that holds "halo"
my $p = $t->prefix();
write_set("$p/set-a", 'default.rules' => "include poker.rules\n"
    . "rule tautan words tautan action queue\n",
    'poker.rules' => "rule poker\n    words poker88\n    action reject\n");
write_set("$p/set-b", 'default.rules' => "rule sapaan words halo action queue\n");

my $POKER = 'Ayo main poker88 malam ini';
my $GACOR = 'Ada slot gacor malam ini';
my $HALO = 'halo semua pembaca';

sub status_of {
    my ($text) = @_;

    return $t->http_post('/comments', form(comment => $text))->status;
}

# write_set($dir, name => text, ...)
sub write_set {
    my ($dir, %files) = @_;

    for my $name (keys %files) {
        make_path("$dir/" . ($name =~ m{^(.*)/} ? $1 : ''));
        spew("$dir/$name", $files{$name});
    }
}

# cm_rules(@args): scripts/cm-rules against our Redis; (exit status, stdout,
# stderr)
sub cm_rules {
    my (@args) = @_;

    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$p/cm-rules.out";
        open STDERR, '>', "$p/cm-rules.err";
        $ENV{CM_EDITOR} = 'tester';
        exec('python3', $t->root() . '/scripts/cm-rules', '--redis',
            $redis->address(), @args) or POSIX::_exit(127);
    }

    waitpid($pid, 0);

    return ($? >> 8, slurp("$p/cm-rules.out"), slurp("$p/cm-rules.err"));
}

# seconds from now until $text is answered $status (polled), or undef after
# $timeout seconds
sub until_status {
    my ($text, $status, $timeout) = @_;
    my $start = time();

    while (1) {
        my $got = status_of($text);
        return time() - $start if $got == $status;
        return undef if time() - $start > $timeout;
        sleep(0.05);
    }
}

sub in_use {
    my ($version, $n) = @_;

    return $t->wait_for_log_count(
        qr/comment moderation: rule set version $version from redis in use/,
        $n || 1, undef, 5);
}

ok($t->wait_for_log(qr/comment moderation: redis \S+ connected/),
    'connected to Redis');

###############################################################################
# the files decide while nothing is published

is(status_of($POKER), 200, 'nothing published: the files accept poker88');
is(status_of($GACOR), 403, 'nothing published: the files reject slot gacor');

my $reloads = () = $t->error_log() =~ /reconfiguring/g;

###############################################################################
# publish: the set decides within 2 s, in place of the files

my ($rc, $out, $err) = cm_rules('publish', "$p/set-a", '--note', 'poker88');
is("$rc $out", "0 published version 1\n", 'set A published as version 1')
    or diag($err);

my $took = until_status($POKER, 403, 3);
ok(defined $took && $took < 2, 'publish: poker88 rejected within 2 s')
    or diag(defined $took ? "after $took s" : 'not within 3 s');
is(in_use(1), 1, 'publish: "rule set version 1 from redis in use" logged');
like($t->error_log(), qr/rule set version 1 from redis in use: 2 rules/,
    'publish: with its count of rules');
is(status_of($GACOR), 200, 'publish: the set replaces the files');

my $r = $t->http_post('/comments', form(comment => 'tautan live-v1'));
is($r->status, 202, 'publish: a comment held by the set');
my ($id) = $t->error_log() =~ /queue, .*rules: tautan .*id (\w+)/;
is($redis->command('HGET', 'cm:c:' . ($id // ''), 'version'), '1',
    'publish: the held comment names version 1');

###############################################################################
# another set, then a rollback

($rc, $out) = cm_rules('publish', "$p/set-b", '--note', 'halo');
is("$rc $out", "0 published version 2\n", 'set B published as version 2');

$took = until_status($POKER, 200, 3);
ok(defined $took && $took < 2, 'version 2: poker88 accepted within 2 s')
    or diag(defined $took ? "after $took s" : 'not within 3 s');
is(in_use(2), 1, 'version 2: logged in use');
is(status_of($HALO), 202, 'version 2: halo held');

($rc, $out) = cm_rules('rollback', 1, '--note', 'back');
is("$rc $out", "0 active version: 1\n", 'rolled back to version 1');

$took = until_status($POKER, 403, 3);
ok(defined $took && $took < 2, 'rollback: poker88 rejected again within 2 s')
    or diag(defined $took ? "after $took s" : 'not within 3 s');
is(in_use(1, 2), 2, 'rollback: version 1 logged in use again');
is(status_of($HALO), 200, 'rollback: halo accepted again');

###############################################################################
# a set that does not compile, written into Redis by hand

my $v = $redis->command('INCR', 'cm:rules:seq');
is($v, 3, 'a broken set as version 3');
$redis->command('HSET', "cm:rules:v:$v", '@entry', 'default.rules',
    '@author', 'tester', '@note', 'broken', '@time', time(), '@files', 1,
    'file:default.rules', "rule poker\n    wordz poker88\n    action reject\n");
$redis->command('ZADD', 'cm:rules:versions', $v, $v);
$redis->command('SET', 'cm:rules:active', $v);
my $set_at = time();

my $refused = $t->wait_for_log(
    qr/\[error\] .*(comment moderation: rule set version 3 from redis refused, the current set stays: .*)/,
    undef, 5);
ok($refused, 'broken set: refused, logged at error');
like($refused // '', qr/default\.rules:2/, 'broken set: the error names FILE:LINE');
is(status_of($POKER), 403, 'broken set: the last good set still decides');
is(status_of($HALO), 200, 'broken set: and nothing of version 2 came back');

# a few polls later: refused once, not again at every poll
sleep(1.5 - (time() - $set_at)) if time() - $set_at < 1.5;
my $n = () = $t->error_log() =~ /rule set version 3 from redis refused/g;
is($n, 1, 'broken set: refused once, not at every poll');
is(status_of($POKER), 403, 'broken set: still the last good set');

($rc, $out) = cm_rules('rollback', 1, '--note', 'after the broken one');
is($rc, 0, 'active version back to 1');

my $now_reloads = () = $t->error_log() =~ /reconfiguring/g;
is($now_reloads, $reloads, 'no reload all along');

###############################################################################
# a worker restarted while Redis is down: the files serve; then Redis is
# back and the worker takes the active version

$redis->command('SAVE');
$redis->stop();

my $old = $t->worker_pid();
my $starts = () = $t->error_log() =~ /start worker process \d+/g;
kill 'TERM', $old;

is($t->wait_for_log_count(qr/start worker process \d+/, $starts + 1, undef, 10),
    $starts + 1, 'a worker killed (TERM): the master started another');
my $new = $t->worker_pid();
isnt($new, $old, 'a new worker');
ok($t->wait_for_log(qr/\[error\] $new#\d+: comment moderation: redis \S+: connect failed/),
    'the new worker cannot reach Redis');

is(status_of($POKER), 200, 'Redis down, new worker: the files accept poker88');
is(status_of($GACOR), 403, 'Redis down, new worker: the files reject slot gacor');
is(status_of('tautan live-down'), 202,
    'Redis down, new worker: held (to the spool)');

$redis->restart(keep => 1);

ok($t->wait_for_log(qr/\[notice\] $new#\d+: comment moderation: rule set version 1 from redis in use/,
    undef, 10), 'Redis back: the new worker took version 1');
is(status_of($POKER), 403, 'Redis back: poker88 rejected again');
is(status_of($GACOR), 200, 'Redis back: the set, not the files');

my @held;
ok($redis->wait_for(sub {
    @held = grep { index($redis->command('HGET', "cm:c:$_", 'text') // '',
        'live-down') >= 0 } @{ $redis->command('ZRANGE', 'cm:q:pending', 0, -1) };
    @held }, 5), 'Redis back: the comment held meanwhile moved in');
is($redis->command('HGET', 'cm:c:' . ($held[0] // ''), 'version'), '0',
    'Redis back: it names the files (version 0) that held it');

$t->stop();
