#!/usr/bin/perl

# Redis Sentinel: a master, its replica and three redis-sentinel processes
# on loopback, and two nginx instances that share them (as two hosts would),
# each told only the sentinels and the master's name.  Both find the master;
# then a stream of comments (accepted and held, to both) runs while
# SENTINEL FAILOVER promotes the replica.  Every comment gets its decision,
# both nginx follow the new master, and afterwards every held comment is in
# the new master exactly once: the writes the old master took but had not
# passed on (WAIT found no replica) were spooled and replayed there.
# The metrics name the master before and after, and count the failover
# followed; the second nginx is also told of a sentinel that is down, which
# its workers count as sentinel errors while the others answer.

use strict;
use warnings;
use utf8;

use Test::More;
use Test::CM;
use Test::CM::Redis;
use Time::HiRes qw/ time sleep /;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;
plan(skip_all => 'no redis-sentinel')
    unless Test::CM::Redis->sentinel_available;

my $NAME = 'mymaster';
my $STREAM_MAX = 30;            # s: the failover and the old master's
                                # demotion take 5-15 s
my $DRAIN = 15;                 # s: spool tick, reconnects, a loaded machine

my $master = Test::CM::Redis->start();
my $replica = Test::CM::Redis->start(replica_of => $master);

my $t = Test::CM->new()->plan(23);
my $t2 = Test::CM->new();

ok($replica->wait_for(sub {
    $replica->info('replication')->{master_link_status} eq 'up'
}, 10), 'the replica follows the master');

my @sentinels = map {
    Test::CM::Redis->start_sentinel(monitor => $master, name => $NAME,
        quorum => 2)
} 1 .. 3;

# a sentinel fails over only to a replica it knows; the others learn of the
# new master from it through hello messages, so they must know each other
ok($master->wait_for(sub {
    for my $s (@sentinels) {
        return 0 unless @{ $s->command('SENTINEL', 'replicas', $NAME) } == 1
            && @{ $s->command('SENTINEL', 'sentinels', $NAME) } == 2;
    }
    1;
}, 20), 'three sentinels know the replica and each other');

my $rules = <<'EOF';
rule tautan
    words tautan
    action queue
EOF

my $addresses = join ' ', map { $_->address() } @sentinels;

my $template = redis_hold_conf("comment_moderation_redis_sentinel %%SENTINELS%% "
    . "$NAME timeout=300ms", '', $METRICS_LOCATION);

# a sentinel that is down, for the second nginx only
my $dead_sentinel = '127.0.0.1:' . Test::CM::Redis::free_port();

# what nginx -t says of a wrong directive
sub refused {
    my ($directive) = @_;
    my ($rc, $out) = $t->nginx_t(redis_hold_conf($directive));

    return $rc ? $out : "accepted: $out";
}

$t->write_rules($rules);

like(refused("comment_moderation_redis_sentinel $addresses"),
    qr/needs at least one sentinel address and the master's name/,
    'a sentinel list without the master\'s name is refused');
like(refused("comment_moderation_redis_sentinel $addresses $NAME quorum=2"),
    qr/invalid parameter "quorum=2"/, 'an unknown option is refused');
like(refused("comment_moderation_redis_sentinel unix:/tmp/s.sock $NAME"),
    qr{invalid redis address "unix:/tmp/s.sock"},
    'sentinels are reached over TCP');
like(refused("comment_moderation_redis 127.0.0.1:6379;\n"
        . "comment_moderation_redis_sentinel $addresses $NAME"),
    qr/"comment_moderation_redis_sentinel" directive is duplicate/,
    'one Redis: an address or sentinels');

for ([ $t, $addresses ], [ $t2, "$dead_sentinel $addresses" ]) {
    my ($n, $list) = @$_;
    (my $conf = $template) =~ s/%%SENTINELS%%/$list/;
    $n->write_rules($rules);
    $n->run($conf);
}

my $at_master = qr/redis sentinel $NAME connected to the master at 127\.0\.0\.1:/;
my $mport = $master->port();
my $rport = $replica->port();

ok($t->wait_for_log(qr/${at_master}$mport\b/)
    && $t2->wait_for_log(qr/${at_master}$mport\b/),
    'both nginx asked the sentinels and connected to the master');

# the master's address label(s) of the metrics, "address=value ..."
sub masters {
    my ($m) = @_;

    return join ' ', map { /^comment_moderation_redis_master\{address="(.*)"\}$/
        ? "$1=$m->{$_}" : () } sort keys %$m;
}

my $before = $t->metrics();

is(masters($before), "127.0.0.1:$mport=1",
    'metrics: the master\'s address as a label');
is($before->{comment_moderation_redis_failovers_total}, 0,
    'metrics: no failover followed yet');

###############################################################################
# the stream, and the failover in the middle of it

my %EXPECT = (ham => 200, held => 202);
my $seq = 0;

sub post {
    my ($n, $kind, $token) = @_;
    my $text = $kind eq 'held' ? "Lihat tautan ini $token"
        : "Semoga lekas pulih $token";

    return $n->http_post('/comments', form(comment => $text,
        email => 'pembaca' . ++$seq . '@example.com', article_id => 'a-1'));
}

# the failover is over for us when every sentinel names the replica and the
# old master has been turned into a replica of it
sub switched {
    for my $s (@sentinels) {
        return 0 unless ($s->master_address($NAME) // '') eq "127.0.0.1:$rport";
    }

    return ($master->command('ROLE')->[0] // '') eq 'slave';
}

my (@posts, $failover_at, $switched_at);
my $start = time();
my $next_check = 0;

for (my $i = 0; time() - $start < $STREAM_MAX; $i++) {
    my $n = $i % 2 ? $t2 : $t;
    my $kind = ($i >> 1) % 2 ? 'held' : 'ham';
    my $token = "<s-$kind-$i>";

    push @posts, [ $kind, $token, post($n, $kind, $token) ];

    if (!$failover_at && time() - $start > 1.5) {
        $sentinels[0]->command('SENTINEL', 'FAILOVER', $NAME);
        $failover_at = time();
    }

    if ($failover_at && time() > $next_check) {
        $next_check = time() + 0.5;
        $switched_at ||= time() if eval { switched() };
    }

    # two more seconds of comments once it is over
    last if $switched_at && time() - $switched_at > 2;

    sleep(0.01);
}

my $held = grep { $_->[0] eq 'held' } @posts;
diag(sprintf '%d comments (%d held), failover over after %.1f s',
    scalar @posts, $held,
    $switched_at ? $switched_at - $failover_at : -1);

ok($switched_at, 'the sentinels promoted the replica, the old master follows it');

my @wrong = grep { $_->[2]->status != $EXPECT{$_->[0]} } @posts;
is(join(' ', map { "$_->[1]:" . $_->[2]->status } @wrong), '',
    'every comment decided: accepted 200, held 202');

ok($t->wait_for_log(qr/${at_master}$rport\b/, undef, 10)
    && $t2->wait_for_log(qr/${at_master}$rport\b/, undef, 10),
    'both nginx follow the new master');

# the first worker that connects to the new master shows it and counts the
# failover (more than once only if a sentinel still named the old one)
my $after = $t->metrics();
my $after2 = $t2->metrics();

diag(sprintf 'metrics after the failover: failovers %s, readonly %s, '
    . 'sentinel errors %s; second nginx (a sentinel down): %s, %s, %s',
    map { $_->{comment_moderation_redis_failovers_total},
          $_->{comment_moderation_redis_readonly_total},
          $_->{comment_moderation_redis_sentinel_errors_total} }
        $after, $after2);

is(masters($after), "127.0.0.1:$rport=1", 'metrics: the new master\'s address');
ok($after->{comment_moderation_redis_failovers_total} >= 1,
    'metrics: the failover followed is counted');
is(masters($after2), "127.0.0.1:$rport=1",
    'second nginx\'s metrics: the new master');
ok($after2->{comment_moderation_redis_sentinel_errors_total} >= 1,
    'second nginx\'s metrics: the sentinel that is down is counted');

###############################################################################
# every held comment in the new master, once

# the texts of the held comments in Redis, each with how many comments carry
# it
sub kept_texts {
    my ($r) = @_;
    my %count;

    for my $id (@{ $r->command('ZRANGE', 'cm:q:pending', 0, -1) }) {
        my $text = $r->command('HGET', "cm:c:$id", 'text') // '';
        $count{$1}++ if $text =~ /(<s-held-\d+>)/;
    }

    return \%count;
}

my @held_tokens = map { $_->[1] } grep { $_->[0] eq 'held' } @posts;

my $texts = $replica->wait_for(sub {
    my $k = kept_texts($replica);
    (grep { !$k->{$_} } @held_tokens) ? undef : $k;
}, $DRAIN) || kept_texts($replica);

is(join(' ', grep { !$texts->{$_} } @held_tokens), '',
    'every held comment is in the new master');
is(join(' ', grep { ($texts->{$_} // 0) > 1 } @held_tokens), '',
    'none of them twice');
is(scalar keys %$texts, scalar @held_tokens, 'and nothing else held');

# no comment hash without its index entry (a second copy under another id)
my @keys;
my $cursor = 0;
do {
    my $r = $replica->command('SCAN', $cursor, 'MATCH', 'cm:c:*',
        'COUNT', 1000);
    ($cursor, my $batch) = @$r;
    push @keys, @$batch;
} while ($cursor);

# (the sample of accepted comments has an index of its own)
is(scalar @keys, $replica->command('ZCARD', 'cm:q:pending')
        + $replica->command('ZCARD', 'cm:q:accepted'),
    'as many comments as index entries');

# the drainer deletes a spool file once its last record is confirmed
ok($replica->wait_for(sub {
    !grep { -s } map { glob($_->prefix() . '/spool/comments.spool*') } $t, $t2
}, 5), 'the spools are empty');

# the accepted comments reached the backends
is($t->backend_count() + $t2->backend_count(),
    scalar(grep { $_->[0] eq 'ham' } @posts),
    'every accepted comment reached a backend');

$t2->error_log_clean('second nginx: error.log clean');
