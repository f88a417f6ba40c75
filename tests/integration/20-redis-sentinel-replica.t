#!/usr/bin/perl

# Never a write to a replica.  A stand-in sentinel (this test answers
# SENTINEL get-master-addr-by-name with the address it is told) names a
# replica: nginx checks with ROLE, refuses it and keeps asking; comments are
# decided without Redis, held ones spooled.  Named the master, nginx
# connects and the spooled comment lands there once.  Then that master is
# turned into a replica under nginx (REPLICAOF): the next comment's write is
# answered READONLY, nginx leaves and asks the sentinel again, and once the
# sentinel names the new master the comment is there, once.  A sentinel
# that never answers is given up on after its timeout; a reload asks again.
# The metrics count the READONLY reply, the sentinel's timeouts and the one
# failover followed (a replica refused after ROLE is not a master, and the
# reload's new worker finds the master shown).

use strict;
use warnings;
use utf8;

use Test::More;
use Test::CM;
use Test::CM::Redis;
use IO::Socket::INET;
use POSIX qw/ _exit /;
use Time::HiRes qw/ time sleep /;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

my $master = Test::CM::Redis->start();
my $replica = Test::CM::Redis->start(replica_of => $master);
my $other = Test::CM::Redis->start();

# a sentinel that takes connections and never answers
my $stalled = Test::CM::Redis->start();
$stalled->pause();

my $t = Test::CM->new()->plan(18);

ok($replica->wait_for(sub {
    $replica->info('replication')->{master_link_status} eq 'up'
}, 10), 'the replica follows the master');

###############################################################################
# the stand-in sentinel: answers with the port in $t->prefix/named

my $named = $t->prefix() . '/named';

sub name_master {
    my ($redis) = @_;

    $t->write_file('named.tmp', $redis->port() . "\n");
    rename "$named.tmp", $named or die "$named: $!";
}

name_master($replica);

my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 16, ReuseAddr => 1) or die "listen: $!";
my $sentinel_port = $listen->sockport();

my $sentinel_pid = fork();
die "fork: $!" unless defined $sentinel_pid;

if ($sentinel_pid == 0) {
    while (my $c = $listen->accept()) {
        # one command: *N then N bulk strings
        my $head = <$c> // next;
        my ($n) = $head =~ /^\*(\d+)/ or next;
        my @args;

        for (1 .. $n) {
            my ($len) = (<$c> // '') =~ /^\$(\d+)/ or last;
            read($c, my $arg, $len + 2);
            push @args, substr($arg, 0, $len);
        }

        if (lc($args[0] // '') eq 'sentinel') {
            open my $fh, '<', $named or _exit(1);
            chomp(my $port = <$fh>);
            print $c "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($port)
                . "\r\n$port\r\n";
        } else {
            print $c "-ERR not a sentinel\r\n";
        }

        close $c;
    }

    _exit(0);
}

close $listen;

END { kill 'TERM', $sentinel_pid if $sentinel_pid; }

###############################################################################

$t->write_rules(<<'EOF');
rule tautan
    words tautan
    action queue
EOF

my $sport = $stalled->port();

$t->run(redis_hold_conf("comment_moderation_redis_sentinel "
    . "127.0.0.1:$sport 127.0.0.1:$sentinel_port mymaster timeout=300ms",
    '', $METRICS_LOCATION));

my $rport = $replica->port();
my $mport = $master->port();
my $oport = $other->port();

ok($t->wait_for_log(qr/127\.0\.0\.1:$rport is not the master \(slave\)/),
    'a replica named by a sentinel is refused after ROLE');

my $seq = 0;

sub held {
    my ($token) = @_;

    return $t->http_post('/comments', form(comment => "Lihat tautan ini $token",
        email => 'pembaca' . ++$seq . '@example.com', article_id => 'a-1'))
        ->status;
}

# the comments in a Redis carrying the token
sub copies {
    my ($r, $token) = @_;

    return scalar grep {
        index($r->command('HGET', "cm:c:$_", 'text') // '', $token) >= 0
    } @{ $r->command('ZRANGE', 'cm:q:pending', 0, -1) };
}

is(held('<one>'), 202, 'without a master, a held comment is spooled: 202');

name_master($master);

ok($t->wait_for_log(qr/connected to the master at 127\.0\.0\.1:$mport\b/,
    undef, 10), 'the master named, nginx connects');

is($master->wait_for(sub { copies($master, '<one>') }, 10), 1,
    'the spooled comment is in the master, once');

###############################################################################
# the master becomes a replica under nginx: READONLY

$master->command('REPLICAOF', '127.0.0.1', $oport);
ok($master->wait_for(sub {
    $master->info('replication')->{master_link_status} eq 'up'
}, 10), 'the master is now a replica of another');

is(held('<two>'), 202, 'a held comment posted then: 202');

ok($t->wait_for_log(qr/127\.0\.0\.1:$mport answered READONLY, asking the sentinels/)
    && $t->wait_for_log(qr/127\.0\.0\.1:$mport is not the master \(slave\)/),
    'READONLY: nginx left it and asked the sentinel again');

name_master($other);

ok($t->wait_for_log(qr/connected to the master at 127\.0\.0\.1:$oport\b/,
    undef, 10), 'the new master named, nginx connects');

is($other->wait_for(sub { copies($other, '<two>') }, 10), 1,
    'the comment is in the new master, once');

# the sentinels are asked in turn, once a second: the stalled one too
ok($t->wait_for_log(qr/sentinel 127\.0\.0\.1:$sport timed out/, undef, 10),
    'a sentinel that does not answer is given up after its timeout');
my $disconnects = () = $t->error_log() =~ /disconnected/g;
sleep(2);   # two more rounds of questions
is(scalar(() = $t->error_log() =~ /disconnected/g), $disconnects,
    'and the connection to the master stays');

# a reload: the new worker asks the sentinel and connects, the old one
# leaves without leaking its connections (checked at shutdown)
$t->reload();

is($t->wait_for_log_count(
    qr/connected to the master at 127\.0\.0\.1:$oport\b/, 2, undef, 10), 2,
    'after a reload, the new worker asks the sentinel and connects');
is(held('<three>'), 202, 'and keeps comments');
is($other->wait_for(sub { copies($other, '<three>') }, 5), 1,
    'in the master, once');

my $m = $t->metrics();
is(join(' ', map { /address="(.*)"/ ? "$1=$m->{$_}" : () }
        grep { /^comment_moderation_redis_master\{/ } sort keys %$m),
    "127.0.0.1:$oport=1", 'metrics: the master shown is the new one');
is($m->{comment_moderation_redis_failovers_total}, 1,
    'metrics: one failover followed, across the reload');
ok($m->{comment_moderation_redis_readonly_total} >= 1
    && $m->{comment_moderation_redis_sentinel_errors_total} >= 1,
    'metrics: the READONLY reply and the sentinel timeouts counted ('
    . "$m->{comment_moderation_redis_readonly_total}, "
    . "$m->{comment_moderation_redis_sentinel_errors_total})");
