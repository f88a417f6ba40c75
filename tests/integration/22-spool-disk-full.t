#!/usr/bin/perl

# The spool on a disk that fills up, then has room again (found by the
# chaos ledger's review, issue 7).  Redis is down; the spool lives on a
# 64 KiB tmpfs.  A spool write that ENOSPC cuts short fails its comment (its
# client gets an error, rightly) and must leave no torn record behind: space
# comes back (another file on the disk goes), the next held comments are
# spooled and answered 202, and when Redis is back they must reach Redis.
# The drain stops at a torn record and sets the rest of the file aside as
# .broken, so before the writer truncated its torn record away these
# comments never reached the moderators' queue.
#
# Needs root (mount -t tmpfs); skipped otherwise.

use strict;
use warnings;

use Test::More;
use Test::CM;
use Test::CM::Redis;
use Time::HiRes qw/ time sleep /;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;
plan(skip_all => 'mounting a tmpfs needs root') if $>;

my $redis = Test::CM::Redis->start();
my $t = Test::CM->new();

my $spool = $t->prefix() . '/spool';
mkdir $spool or die "$spool: $!";

system('mount', '-t', 'tmpfs', '-o', 'size=64k,mode=0777', 'tmpfs', $spool) == 0
    or plan(skip_all => 'cannot mount a tmpfs here');

# unmounted before Test::CM's END removes the prefix
END { system('umount', $spool) if $spool && -d $spool }

$t->plan(6);

# a full disk is worth its critical lines
$t->allow_log(qr/cannot write spool .*\(28: No space left on device\)/,
    qr/could be kept neither in redis nor in the spool/);

$t->write_rules(<<'EOF' . $JUDOL_RULE);
rule tautan
    words tautan
    action queue
EOF

my $conf = http_conf(<<'EOF');
comment_moderation_redis %%REDIS%% timeout=200ms;
comment_moderation_secret 0123456789abcdef0123;
comment_moderation_spool_path %%PREFIX%%/spool;

server {
    listen 127.0.0.1:%%PORT%%;

    location /comments {
        comment_moderation on;
        comment_moderation_rules %%RULES%%;
        comment_moderation_queue hold;
        proxy_pass http://%%BACKEND%%;
    }
}
EOF

$conf =~ s/%%REDIS%%/$redis->address()/e;
$t->run($conf);
$t->wait_for_log(qr/comment moderation: redis \S+ connected/);

$redis->crash();

# each record about 1.7 KiB (the text, and the body that has it too): two
# fit in the last free page, the third is torn
sub held {
    my ($token) = @_;

    return $t->http_post('/comments', form(
        comment => "Lihat tautan ini <$token> " . ('panjang sekali ' x 50),
        email => "$token\@example.com", article_id => 'a-1'))->status;
}

# the disk full but one page
my $filler = "$spool/filler";
open my $fh, '>', $filler or die "$filler: $!";
print $fh 'x' x (60 * 1024);
close $fh;

my (@before, $torn);

for my $i (1 .. 10) {
    my $status = held("before-$i");
    push @before, [ "before-$i", $status ];
    last if $status >= 500;
}

ok($before[-1][1] >= 500 && grep({ $_->[1] == 202 } @before),
    'disk full: held comments spooled (202) until a write failed (5xx)')
    or diag(join ' ', map { "$_->[0]:$_->[1]" } @before);

# room again, and more held comments
unlink $filler;

my @after = map { [ "after-$_", held("after-$_") ] } 1 .. 3;

is(join(' ', map { $_->[1] } @after), '202 202 202',
    'room again: held comments answered 202, spooled');

$redis->restart();

sub spool_files { map { s!.*/!!r } glob("$spool/comments.spool*") }

# the drain is done when the spool is gone (or set aside as .broken)
$t->wait_for_log(qr/moving spool/, undef, 15);
$redis->wait_for(sub { !grep { !/\.broken$/ } spool_files() }, 15);
sleep(0.5);

my %kept;

for my $id (@{ $redis->command('ZRANGE', 'cm:q:pending', 0, -1) }) {
    my $text = $redis->command('HGET', "cm:c:$id", 'text') // '';
    $kept{$1}++ if $text =~ /<([\w-]+)>/;
}

my @told = grep { $_->[1] == 202 } @before;

is(join(' ', map { $_->[0] } grep { ($kept{$_->[0]} // 0) != 1 } @told), '',
    'the held comments before the torn record: in Redis once');

is(join(' ', map { $_->[0] } grep { ($kept{$_->[0]} // 0) != 1 } @after), '',
    'the held comments spooled after the failed write: in Redis once');
is(join(' ', spool_files()), '', 'nothing left behind in the spool');

ok(!$kept{$before[-1][0]}, 'the comment whose write failed is not held');

$t->stop();
