#!/usr/bin/perl

# The fault-injection ledger (issue 7): senders post a numbered stream of
# comments (each carries its number in its text; the shipped rules accept,
# hold or reject them) to a real nginx with the module, a real redis-server
# and the recording backend, while the test kills (SIGKILL) and restarts
# redis-server, pauses it (SIGSTOP/SIGCONT), reloads (HUP) and restarts
# nginx, kills its worker (SIGKILL), stops the backend and makes it answer
# 500.  Then everything is
# healed, the spool drains, and a ledger accounts for every number: accepted
# at the backend, held in Redis (cm:c:<id>, state pending), rejected and kept
# (state rejected), or answered with an error the client saw (5xx, or no
# answer).  None may be unaccounted, in two places, or told one outcome and
# stored as another.
#
# CM_CHAOS_SECONDS (default 35: the short form in make test; make chaos runs
# it longer), CM_CHAOS_SENDERS (3), CM_CHAOS_WORKERS (nginx's, 2), CM_CHAOS_SEED (printed, to replay the
# order of the faults).

use strict;
use warnings;

use Test::More;
use Test::CM;
use Test::CM::Redis;
use List::Util qw/ shuffle sum0 /;
use POSIX qw/ WNOHANG _exit /;
use Time::HiRes qw/ time sleep /;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

my $SECONDS = $ENV{CM_CHAOS_SECONDS} || 35;
my $SENDERS = $ENV{CM_CHAOS_SENDERS} || 3;
my $WORKERS = $ENV{CM_CHAOS_WORKERS} || 2;
my $SEED = $ENV{CM_CHAOS_SEED} || (time() ^ $$) % 100000;
my $DRAIN = 30;             # s: Redis reconnect backoff (<= 5 s), spool
                            # tick (1 s), a loaded machine

srand($SEED);

# a process killed loses nothing it wrote to the append-only file; without
# it a SIGKILL would empty Redis and the ledger would count Redis's loss.
# "always": with "everysec" Redis may answer a write it has postponed
# writing to the file (while an fsync is slow), and a SIGKILL then loses
# an acknowledged comment (seen once under valgrind)
my $redis = Test::CM::Redis->start(
    args => [ '--appendonly', 'yes', '--appendfsync', 'always' ]);

# two workers: they write the same spool, and drain it, side by side
my $t = Test::CM->new(workers => $WORKERS)->plan(13);

# the worker this test kills; nothing else may die
$t->allow_log(qr/worker process \d+ exited on signal 9$/);

# the number's own address (and /24): no reputation or flood rule of the
# shipped rules ties one comment's outcome to another's
my $conf = http_conf(<<'EOF');
comment_moderation_redis %%REDIS%% timeout=200ms;
comment_moderation_secret 0123456789abcdef0123;
# the ledger finds each comment where it ended: no sampled copies of the
# accepted ones (they are also at the backend)
comment_moderation_sample_accepted 0%;
comment_moderation_spool_path %%PREFIX%%/spool;

server {
    listen 127.0.0.1:%%PORT%%;

    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;

    location /comments {
        comment_moderation on;
        comment_moderation_rules %%RULES%%;
        comment_moderation_queue hold;
        proxy_pass http://%%BACKEND%%;
        proxy_connect_timeout 2s;
        proxy_read_timeout 5s;
    }
}
EOF

$conf =~ s/%%REDIS%%/$redis->address()/e;
$t->run($conf);

ok($t->wait_for_log(qr/comment moderation: redis \S+ connected/),
    'connected to Redis');

my $backend = $t->backend();

###############################################################################
# the stream

my %EXPECT = (ham => 200, held => 202, spam => 403);
my %TEXT = (
    ham => 'Semoga lekas pulih nomor %d',
    held => 'Baca juga di beritaku.com nomor %d',
    spam => 'slot gacor maxwin nomor %d',
);

# six in ten accepted, two held, two rejected, mixed
sub kind {
    my ($n) = @_;
    my $r = ($n * 7919) % 10;

    return $r < 6 ? 'ham' : $r < 8 ? 'held' : 'spam';
}

sub address {
    my ($n) = @_;

    return join '.', 10, ($n >> 8) & 255, $n & 255, 1 + ($n >> 16) % 250;
}

my $stop = $t->prefix() . '/stop-senders';

# a sender posts its numbers (k, k + SENDERS, ...) one after the other and
# writes "number kind status seconds" for each; status 0: no answer
sub sender {
    my ($k) = @_;

    local $Test::CM::HTTP::TIMEOUT = 8;
    open my $log, '>', $t->prefix() . "/sender-$k.log" or _exit(1);
    $log->autoflush(1);

    for (my $n = $k; !-e $stop; $n += $SENDERS) {
        my $kind = kind($n);
        my $start = time();

        my $r = $t->http_post('/comments',
            form(comment => sprintf($TEXT{$kind}, $n), name => "Pembaca $n",
                email => "pembaca$n\@example.com", article_id => 'a-' . $n % 40),
            'X-Forwarded-For' => address($n));

        printf $log "%d %s %d %.3f\n", $n, $kind, $r->status,
            time() - $start;

        # nginx down: do not spin
        sleep(0.05) unless $r->status;
        sleep(0.005);
    }

    _exit(0);
}

my @senders;
my $began = time();

for my $k (1 .. $SENDERS) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    sender($k) if $pid == 0;
    push @senders, $pid;
}

###############################################################################
# the faults, in a shuffled order, again and again until the time is up

my $redis_down = 0;

sub a_while { $_[0] + rand($_[1] - $_[0]) }

my @FAULTS = (
    'redis SIGKILL, restart' => sub {
        $redis->crash();
        sleep(a_while(0.5, 2.5));
        $redis->restart();
    },
    'redis SIGSTOP, SIGCONT' => sub {
        $redis->pause();
        sleep(a_while(0.5, 3.5));       # past open_time (2 s) at times
        $redis->resume();
    },
    'nginx HUP' => sub {
        $t->reload();
    },
    'nginx restart' => sub {
        $t->restart();
    },
    'nginx worker SIGKILL' => sub {
        # mid-request, maybe mid-spool: the master starts another, which
        # takes the dead one's spool over
        kill 'KILL', $t->worker_pid();
    },
    'backend stopped' => sub {
        $backend->stop();
        sleep(a_while(0.5, 2));
        $backend->restart();
    },
    'backend 500' => sub {
        $backend->set_status(500);
        sleep(a_while(0.5, 2));
        $backend->set_status(undef);
    },
    'redis SIGKILL, nginx restart' => sub {
        $redis->crash();
        sleep(a_while(0.3, 1));
        $t->restart();                  # with a spool, Redis still down
        sleep(a_while(0.3, 1.5));
        $redis->restart();
    },
    'redis SIGSTOP, nginx HUP' => sub {
        $redis->pause();
        sleep(0.1);
        $t->reload();                   # requests waiting for Redis
        sleep(a_while(0.3, 1.5));
        $redis->resume();
    },
);

my %FAULT = @FAULTS;
my @NAMES = grep { !ref } @FAULTS;
my %injected;
my $end = time() + $SECONDS;

# every kind once, whatever the time; then again until the time is up
for (my $round = 1; $round == 1 || time() < $end; $round++) {
    for my $name (shuffle @NAMES) {
        last if $round > 1 && time() >= $end;
        sleep(a_while(0.3, 1.2));       # calm between
        $FAULT{$name}->();
        $injected{$name}++;
    }
}

sleep(1);
open my $fh, '>', $stop or die "$stop: $!";
close $fh;

for my $pid (@senders) {
    my $deadline = time() + 30;
    sleep(0.05) while waitpid($pid, WNOHANG) == 0 && time() < $deadline;
    kill 'KILL', $pid and waitpid($pid, 0) if time() >= $deadline;
}

my $elapsed = time() - $began;

is(join(', ', grep { !$injected{$_} } @NAMES), '',
    'every kind of fault injected');

###############################################################################
# healed: the spool drains into Redis

sub spool_files {
    return glob($t->prefix() . '/spool/comments.spool*');
}

my $deadline = time() + $DRAIN;
sleep(0.2) while spool_files() && time() < $deadline;
sleep(1.5);                 # a move in flight lands

is(join(' ', spool_files()), '', 'the spool drained into Redis');

###############################################################################
# the ledger

# the senders' records: number => [ kind, status, seconds ]
my (%sent, @sent_twice);

for my $k (1 .. $SENDERS) {
    for (split /\n/, $t->read_file("sender-$k.log")) {
        my ($n, $kind, $status, $seconds) = split / /;
        push @sent_twice, $n if $sent{$n};
        $sent{$n} = [ $kind, $status, $seconds ];
    }
}

# where each number is: backend, pending, rejected (how many times)
my (%at, @stray);

for my $req ($backend->requests()) {
    my ($n) = $req->body() =~ /nomor\+(\d+)/;
    push @stray, 'backend request ' . $req->n() and next unless defined $n;
    $at{$n}{backend}++;
}

# every comment hash in Redis, and whether its state's index has it
my $kept = $redis->command('EVAL', <<'EOF', 0);
local out = {}
for _, key in ipairs(redis.call('KEYS', 'cm:c:*')) do
  if redis.call('TYPE', key).ok == 'hash' then
    local id, state, text = unpack(redis.call('HMGET', key, 'id', 'state', 'text'))
    local indexed = redis.call('ZSCORE', 'cm:q:' .. (state or '-'), id or '-')
    out[#out + 1] = key
    out[#out + 1] = state or ''
    out[#out + 1] = text or ''
    out[#out + 1] = indexed and '1' or '0'
  end
end
return out
EOF

my @unindexed;

while (my ($key, $state, $text, $indexed) = splice(@$kept, 0, 4)) {
    my ($n) = $text =~ /nomor (\d+)/;
    push @stray, "$key ($state)" and next unless defined $n;
    push @unindexed, "$n:$key:$state" unless $indexed;
    $at{$n}{$state}++;
}

push @stray, map { "number $_ never sent" } grep { !$sent{$_} } keys %at;

# each number: its outcome, and the problems
my %OUTCOME = (backend => 'accepted at the backend',
    pending => 'held in Redis (pending)', rejected => 'rejected and kept');
my %STATUS_OF = (backend => 200, pending => 202, rejected => 403);
my (%ledger, %seen_by, @unaccounted, @duplicated, @contradicted,
    @misdecided);

for my $n (sort { $a <=> $b } keys %sent) {
    my ($kind, $status) = @{ $sent{$n} };
    my $places = $at{$n} || {};
    my $count = sum0(values %$places);
    my $error = $status == 0 || $status >= 500;

    if ($count > 1) {
        push @duplicated, "$n:" . join(',',
            map { "$_=$places->{$_}" } sort keys %$places);
        next;
    }

    if ($count == 0) {
        if ($error) {
            $ledger{'error seen by the client'}++;
            $seen_by{'error seen by the client'}{$status}++;
        } else {
            push @unaccounted, "$n($kind, client saw $status)";
        }
        next;
    }

    my ($place) = keys %$places;

    if (!$OUTCOME{$place}) {
        push @contradicted, "$n: state $place";
        next;
    }

    # told one outcome, stored as another
    if (!$error && $status != $STATUS_OF{$place}) {
        push @contradicted, "$n($kind): client saw $status, $place";
        next;
    }

    push @misdecided, "$n($kind): $place" if $STATUS_OF{$place}
        != $EXPECT{$kind};

    $ledger{$OUTCOME{$place}}++;
    $seen_by{$OUTCOME{$place}}{$status}++;
}

$ledger{unaccounted} = @unaccounted;
$ledger{'duplicated'} = @duplicated;
$ledger{'contradicted (told one, stored another)'} = @contradicted;

my $total = keys %sent;
my @rows = ('accepted at the backend', 'held in Redis (pending)',
    'rejected and kept', 'error seen by the client', 'unaccounted',
    'duplicated', 'contradicted (told one, stored another)');

diag(sprintf "chaos ledger: %d comments from %d senders to %d nginx workers "
    . "in %d s, seed %d", $total, $SENDERS, $WORKERS, $elapsed, $SEED);
# the faults reached the spool: comments went through it
my @moves = $t->error_log() =~ /moving spool "[^"]+" \((\d+) bytes\) into redis/g;

diag(sprintf 'spool: moved into Redis %d times, %d bytes', scalar @moves,
    sum0(@moves));
diag('faults: ' . join(', ', map { "$_ x$injected{$_}" } sort keys %injected));
diag(sprintf '  %-42s %8s   %s', 'outcome', 'comments', 'what the client saw');

for my $row (@rows) {
    my $by = $seen_by{$row} || {};
    diag(sprintf '  %-42s %8d   %s', $row, $ledger{$row} || 0,
        join(' ', map { ($_ || 'no answer') . ":$by->{$_}" }
            sort { $a <=> $b } keys %$by));
}

diag(sprintf '  %-42s %8d', 'total', sum0(map { $ledger{$_} || 0 } @rows));

# how long the answered ones waited (the faults included)
my @waits = sort { $a <=> $b } map { $_->[2] } grep { $_->[1] } values %sent;
diag(sprintf 'answered in: p50 %.3f s, p99 %.3f s, max %.3f s',
    map { $waits[$_ * $#waits] } 0.5, 0.99, 1) if @waits;

ok(@moves, 'the spool was used and moved into Redis');
ok($total >= 30 * $elapsed, "a stream of comments ($total)");
ok($ledger{$_}, "some $_") for 'accepted at the backend',
    'held in Redis (pending)', 'rejected and kept';

is(join(' ', @unaccounted[0 .. ($#unaccounted < 19 ? $#unaccounted : 19)]),
    '', 'no comment unaccounted');
is(join(' ', @duplicated), '', 'no comment counted twice');
is(join(' ', @contradicted), '',
    'no comment told one outcome and stored as another');
is(join(' ', @misdecided), '',
    'each comment decided as the shipped rules say');
is(join(' ', @stray, @unindexed, map { "sent twice: $_" } @sent_twice), '',
    'no stray, unindexed or double-sent comment');

###############################################################################
