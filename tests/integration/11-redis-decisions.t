#!/usr/bin/perl

# The module with a real Redis, everything up: an accepted comment is
# forwarded; a held one (comment_moderation_queue hold) is answered 202 in
# JSON or HTML, not forwarded, and kept in Redis once with its fields, the
# original request byte for byte (urlencoded, multipart, JSON), its rules and
# spans, in cm:q:pending and its article's index; a rejected one is answered
# 403 and kept in cm:q:rejected with comment_moderation_keep_rejected as its
# expiry.  One Redis round trip (EVALSHA) per accepted comment, two for a
# kept one, and nothing else from the request path.  Reputation keys are
# keyed hashes (no plain email or address in Redis), the author is the
# logged-in user, else the email, else the address; rule hit counters.

use strict;
use warnings;
use utf8;

use Digest::SHA qw/ hmac_sha1_hex /;
use Test::More;
use Test::CM;
use Test::CM::Redis;
use Time::HiRes qw/ time /;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

my $SECRET = '0123456789abcdef0123';

my $redis = Test::CM::Redis->start();
my $t = Test::CM->new()->plan(81);

$t->write_rules(<<'EOF' . $JUDOL_RULE);
rule tautan
    words tautan
    action queue

rule halo-shadow
    words halo
    score 20
    shadow
EOF

my $conf = http_conf(<<'EOF');
comment_moderation_redis %%REDIS%% timeout=200ms;
comment_moderation_secret %%SECRET%%;
# the Redis calls are counted here: no sample of accepted comments
comment_moderation_sample_accepted 0%;
comment_moderation_spool_path %%PREFIX%%/spool;
comment_moderation_keep_rejected 3d;

server {
    listen 127.0.0.1:%%PORT%%;

    comment_moderation on;
    comment_moderation_rules %%RULES%%;

    location /comments {
        comment_moderation_queue hold;
        proxy_pass http://%%BACKEND%%;
    }

    location /users {
        comment_moderation_queue hold;
        comment_moderation_user $http_x_user_id;
        proxy_pass http://%%BACKEND%%;
    }
}
EOF
$conf =~ s/%%REDIS%%/$redis->address()/ge;
$conf =~ s/%%SECRET%%/$SECRET/g;

$t->run($conf);

ok($t->wait_for_log(qr/comment moderation: redis \S+ connected/),
    'the worker connected to Redis');

my @json = ('Accept' => 'application/json');

sub r { $redis->command(@_) }

# the comments kept in an index whose text contains $token: their hashes
sub kept {
    my ($index, $token) = @_;
    my @found;

    for my $id (@{ r('ZRANGE', $index, 0, -1) }) {
        my %c = @{ r('HGETALL', "cm:c:$id") || [] };
        push @found, \%c if defined $c{text} && index($c{text}, $token) >= 0;
    }

    return @found;
}

sub hmac_key {
    my ($kind, $data) = @_;

    return substr(hmac_sha1_hex("$kind:$data", $SECRET), 0, 32);
}

###############################################################################
# accept: forwarded

my $ham = form(name => 'Siti', email => 'siti@example.com',
    comment => 'Semoga cepat pulih, warga Cianjur.', article_id => 'a-42');

my $r = $t->http_post('/comments', $ham, @json);
my $req = $t->backend_last();
is($r->status, 200, 'accept: answered by the backend');
is($req && $req->body, $ham, 'accept: forwarded byte for byte');
is($req && $req->header('X-Comment-Moderation'), 'accept', 'accept: marked');

###############################################################################
# held, urlencoded, JSON answer

my $before = $t->backend_count();
my $text = "Cek tautan ini ya \x{1F600} held-form 100% + & = ü";
my $form = form(name => 'Budi Santoso', email => 'budi@example.com',
    url => 'http://budi.example/', comment => $text, article_id => 'a-42');
my $t0 = time();

$r = $t->http_post('/comments?page=2&x=%41', $form, @json);
is($r->status, 202, 'held: 202');
like($r->header('Content-Type'), qr{^application/json}, 'held: JSON answer');
is($r->json && $r->json->{decision}, 'queue', 'held: JSON decision "queue"');
like($r->json && $r->json->{message}, qr/menunggu moderasi/,
    'held: the Indonesian "waiting for moderation" message');
is($t->backend_count(), $before, 'held: not forwarded');

my @c = kept('cm:q:pending', 'held-form');
is(scalar @c, 1, 'held: in cm:q:pending once');
my %c = %{ $c[0] || {} };

is($c{state}, 'pending', 'held: state pending');
is($c{text}, bytes($text), 'held: text (UTF-8)');
is(join('|', map { $_ // '-' } @c{qw/ name email url article ip /}),
    'Budi Santoso|budi@example.com|http://budi.example/|a-42|127.0.0.1',
    'held: name, email, url, article, address');
is($c{body}, $form, 'held: the original body, byte for byte');
is(join('|', map { $_ // '-' } @c{qw/ method uri content_type /}),
    'POST|/comments?page=2&x=%41|application/x-www-form-urlencoded',
    'held: method, URI as sent, content type');
is($c{rules}, 'tautan', 'held: rules');
is_deeply(json_decode($c{spans}),
    [ { rule => 'tautan', field => 'text', start => 4, end => 10 } ],
    'held: spans of the match in the text');
is($c{version}, '0', 'held: rule-set version 0 (the files)');
like($c{author} // '', qr/^[0-9a-f]{32}$/, 'held: the author as a hash');
ok(defined $c{time} && $c{time} >= int($t0 * 1000) - 1000
    && $c{time} <= time() * 1000 + 1000, 'held: time in ms')
    or diag("time $c{time}, now " . time());

my $id = $c{id} // '';
like($id, qr/^[0-9a-f]{20,}$/, 'held: an id');
is(r('ZSCORE', 'cm:q:pending', $id), $c{time}, 'held: pending index by time');
ok(defined r('ZSCORE', 'cm:q:article:a-42', $id), 'held: in its article index');
is(r('TTL', "cm:c:$id"), -1, 'held: a pending comment does not expire');
ok($t->wait_for_log(qr/comment moderation: queue, .*rules: tautan.*id \Q$id\E/),
    'held: logged with its id');

###############################################################################
# held, multipart, HTML answer

my ($ct, $mp) = multipart(comment => 'Ada tautan di sini held-multipart',
    name => 'Ani', article_id => 'a-7',
    avatar => { filename => 'a.bin', value => "\x00\xff\r\n--x" });

$r = $t->http_post('/comments', $mp, 'Content-Type' => $ct,
    'Accept' => 'text/html');
is($r->status, 202, 'held multipart: 202');
like($r->header('Content-Type'), qr{^text/html}, 'held multipart: HTML page');
like($r->body, qr/Komentar Anda menunggu moderasi/, 'held multipart: message');

@c = kept('cm:q:pending', 'held-multipart');
is(scalar @c, 1, 'held multipart: kept once');
%c = %{ $c[0] || {} };
is($c{body}, $mp, 'held multipart: the body byte for byte');
is($c{content_type}, $ct, 'held multipart: content type with its boundary');
ok(defined r('ZSCORE', 'cm:q:article:a-7', $c{id} // ''),
    'held multipart: in its article index');

###############################################################################
# held, JSON body

my $jbody = json_encode({ comment => "tautan held-json \x{201C}x\x{201D}",
    article_id => 'a-42', name => 'Joko' });

$r = $t->http_post('/comments', $jbody, 'Content-Type' => 'application/json',
    @json);
is($r->status, 202, 'held JSON body: 202');
@c = kept('cm:q:pending', 'held-json');
is(scalar @c, 1, 'held JSON body: kept once');
is($c[0] && $c[0]{body}, $jbody, 'held JSON body: byte for byte');

is($t->backend_count(), $before, 'no held comment was forwarded');
is(r('ZCARD', 'cm:q:article:a-42'), 2, 'article a-42: its two held comments');

###############################################################################
# rejected: 403, kept for rescue with an expiry

$r = $t->http_post('/comments', form(comment => 'slot gacor maxwin reject-1',
    article_id => 'a-42'), @json);
is($r->status, 403, 'rejected: 403');
is($r->json && $r->json->{decision}, 'reject', 'rejected: JSON decision');

@c = kept('cm:q:rejected', 'reject-1');
is(scalar @c, 1, 'rejected: in cm:q:rejected once');
%c = %{ $c[0] || {} };
is($c{state}, 'rejected', 'rejected: state rejected');
is($c{rules}, 'judol-vocab', 'rejected: rules');
is(scalar kept('cm:q:pending', 'reject-1'), 0, 'rejected: not pending');
my $ttl = r('TTL', 'cm:c:' . ($c{id} // ''));
ok($ttl > 3 * 86400 - 120 && $ttl <= 3 * 86400,
    'rejected: expires after comment_moderation_keep_rejected (3d)')
    or diag("TTL $ttl");
ok(defined r('ZSCORE', 'cm:q:article:a-42', $c{id} // ''),
    'rejected: in its article index');
is($t->backend_count(), $before, 'rejected: not forwarded');

###############################################################################
# one Redis round trip per comment, nothing else from the request path

# commands Redis ran since the last reset: { name => calls }
sub commands {
    my $info = $redis->info('commandstats');
    my %calls;

    for my $k (keys %$info) {
        my ($name) = $k =~ /^cmdstat_(.+)$/ or next;
        $calls{$name} = $1 if $info->{$k} =~ /\bcalls=(\d+)/;
    }

    return \%calls;
}

# what nginx sent Redis while $code ran (MONITOR: commands run by the
# scripts are not nginx's), as "COMMAND first-argument" strings
sub sent_by_nginx {
    my ($code) = @_;
    my $mon = $redis->monitor();

    $code->();

    my $seen = $redis->monitored($mon, 0.3);
    close $mon;

    return map { uc($_->{args}[0]) . ' ' . ($_->{args}[1] // '') }
        grep { $_->{client} ne 'lua' } @$seen;
}

# the script is loaded (the comments above were checked by it)
$redis->reset_stats();
$t0 = time();

my $n = 10;
my $ok = 0;
my @sent = sent_by_nginx(sub {
    for my $i (1 .. $n) {
        $r = $t->http_post('/comments', form(comment => "Komentar biasa $i",
            email => "pembaca$i\@example.com"));
        $ok++ if $r->status == 200;
    }
});

my $calls = commands();
my $polls = int((time() - $t0) / 0.5) + 2;
my @evalsha = grep { /^EVALSHA / } @sent;
my @other = grep { !/^EVALSHA / } @sent;

is($ok, $n, "$n accepted comments");
is($calls->{evalsha} // 0, $n, "$n accepted comments: $n EVALSHA (INFO commandstats)");
is($calls->{eval} // 0, 0, 'no EVAL: the script was loaded once');
is(scalar @evalsha, $n, "$n accepted comments: nginx sent $n EVALSHA (MONITOR)");
is(join(',', grep { $_ ne 'GET cm:rules:active' } @other), '',
    'nginx sent nothing else but the live rules poll');
ok(@other <= $polls, 'the poll: a GET at most every 500 ms')
    or diag(scalar(@other) . " GETs, at most $polls");

@sent = grep { /^EVALSHA / } sent_by_nginx(sub {
    $r = $t->http_post('/comments', form(comment => 'tautan round-trip'));
});
is($r->status . ' ' . @sent, '202 2', 'a held comment: two EVALSHA (check, keep)');

@sent = grep { /^EVALSHA / } sent_by_nginx(sub {
    $r = $t->http_post('/comments', form(comment => 'togel round-trip'));
});
is($r->status . ' ' . @sent, '403 2',
    'a rejected comment: two EVALSHA (check, keep)');

# after SCRIPT FLUSH (as after a Redis restart): NOSCRIPT, then EVAL once
r('SCRIPT', 'FLUSH');
$redis->reset_stats();
$r = $t->http_post('/comments', form(comment => 'Setelah flush'));
my $r2 = $t->http_post('/comments', form(comment => 'Setelah flush lagi'));
$calls = commands();
is("$r->{status} $r2->{status}", '200 200', 'after SCRIPT FLUSH: accepted');
is(($calls->{evalsha} // 0) . ' ' . ($calls->{eval} // 0), '2 1',
    'after SCRIPT FLUSH: EVALSHA, NOSCRIPT, EVAL once, then EVALSHA');

###############################################################################
# reputation: keyed hashes, no plain identity anywhere in Redis

# the reputation keys of a kind ('a', 'i', 'n')
sub rep_keys {
    my ($kind) = @_;

    return { map { $_ => 1 } @{ r('KEYS', "cm:rep:$kind:*") } };
}

sub seen {
    my ($key) = @_;

    return r('HGET', $key, 'seen') // 0;
}

# post_as(location, email, user header): the author key it created, if any,
# and the answer's status
sub post_as {
    my ($loc, $email, $user) = @_;
    my $old = rep_keys('a');

    my $r = $t->http_post($loc, form(comment => 'Terima kasih beritanya',
        defined $email ? (email => $email) : ()),
        defined $user ? ('X-User-Id' => $user) : ());

    my @new = grep { !$old->{$_} } keys %{ rep_keys('a') };

    return ($r->status, @new);
}

my $siti = 'cm:rep:a:' . hmac_key('e', 'siti.rahma@example.com');
my $ip = 'cm:rep:i:' . hmac_key('i', '127.0.0.1');
my $net = 'cm:rep:n:' . hmac_key('n', "\x7f\x00\x00");
my $seen_ip = seen($ip);

my ($status, @new) = post_as('/comments', 'Siti.Rahma@Example.COM');
is("$status @new", "200 $siti",
    'author by email: HMAC of the lowercased email with the secret');
is(seen($siti), 1, 'author by email: seen once');
is(seen($ip), $seen_ip + 1, 'the address: HMAC of it, counted');
ok(seen($net) > $seen_ip, 'the network (/24): HMAC of its bytes, counted');

($status, @new) = post_as('/comments', 'siti.rahma@example.com');
is(scalar @new . ' ' . seen($siti), '0 2', 'the same email: the same author');

($status, @new) = post_as('/comments', 'lain@example.com');
is(scalar @new, 1, 'another email: another author');

my $user = 'cm:rep:a:' . hmac_key('u', 'u-42');
($status, @new) = post_as('/users', 'siti.rahma@example.com', 'u-42');
is("@new", $user, 'comment_moderation_user: the user is the author');
is(seen($siti), 2, 'comment_moderation_user: not counted for the email');

($status, @new) = post_as('/users', 'lain@example.com', 'u-42');
is(scalar @new . ' ' . seen($user), '0 2',
    'the same user with another email: the same author');

($status, @new) = post_as('/users', 'siti.rahma@example.com', '');
is(scalar @new . ' ' . seen($siti), '0 3',
    'an empty user variable: the email is the author');

my $by_ip = 'cm:rep:a:' . hmac_key('i', '127.0.0.1');
my $seen_by_ip = seen($by_ip);
($status, @new) = post_as('/comments', undef);
is(seen($by_ip), $seen_by_ip + 1, 'no email: the address is the author');

my %rep = @{ r('HGETALL', $siti) };
# what the rules read and nothing more: the moderators add queued, approved...
is(join(',', sort keys %rep), 'seen', 'reputation: its fields');
ok(!grep({ !/^\d+$/ } values %rep), 'reputation: numbers only');
$ttl = r('TTL', $siti);
ok($ttl > 90 * 86400 - 120 && $ttl <= 90 * 86400,
    'reputation: kept 90 days (the default)') or diag("TTL $ttl");

my @keys = @{ r('KEYS', '*') };
my @plain = grep { /@|example|siti|budi|127\.0\.0|u-42|\x7f/i } @keys;
is("@plain", '', 'no key name holds an email, a user or an address');

my @leaky;
for my $k (grep { /^cm:(?:rep|rej24|rate):/ } @keys) {
    my $type = r('TYPE', $k);
    my $v = $type eq 'hash' ? join(' ', @{ r('HGETALL', $k) })
        : $type eq 'zset' ? join(' ', @{ r('ZRANGE', $k, 0, -1) })
        : r('GET', $k) // '';
    push @leaky, $k if $v =~ /@|example|127\.0\.0/i;
}
is("@leaky", '', 'no reputation value holds an email or an address');

###############################################################################
# rule hit counters: cm:hits:<hour>, every rule that fired, shadow ones too

$t->http_post('/comments', form(comment => 'halo semua')) for 1 .. 2;

# every hour's counters summed (the test may cross an hour)
my %hits;
for my $k (@{ r('KEYS', 'cm:hits:*') }) {
    my %h = @{ r('HGETALL', $k) };
    $hits{$_} += $h{$_} for keys %h;
}

my $hour = int(time() / 3600);
$hour-- unless r('EXISTS', "cm:hits:$hour");
ok(r('EXISTS', "cm:hits:$hour"), 'hit counters: cm:hits:<unix hour>');
is($hits{tautan}, 4, 'hit counters: the held comments');
is($hits{'judol-vocab'}, 2, 'hit counters: the rejected comments');
is($hits{'halo-shadow'}, 2, 'hit counters: a shadow rule');
is(join(',', sort keys %hits), 'halo-shadow,judol-vocab,tautan',
    'hit counters: only rules that fired');
$ttl = r('TTL', "cm:hits:$hour");
ok($ttl > 7 * 86400 && $ttl <= 8 * 86400, 'hit counters: kept 8 days')
    or diag("TTL $ttl");

###############################################################################
# a held comment with every field a browser sends (name, email, url, article,
# User-Agent, Referer): in a second nginx, so that its crash, while the bug
# lasts, does not fail the error.log check of the first

{
    my $full = Test::CM->new();
    $full->write_rules($t->read_file('test.rules'));
    $full->run($conf);
    $full->wait_for_log(qr/comment moderation: redis \S+ connected/);

    my $body = form(name => 'Budi', email => 'budi@example.com',
        url => 'http://budi.example/', comment => 'tautan held-full',
        article_id => 'a-9');

    $r = $full->http_post('/comments', $body, @json,
        'User-Agent' => 'Mozilla/5.0 (cm-test)',
        'Referer' => 'http://localhost/artikel/9');
    @c = kept('cm:q:pending', 'held-full');

    is($r->status, 202, 'held with every field: 202');
    is(join('|', map { $_ // '-' } @{ $c[0] || {} }{qw/ user_agent referer /}),
        'Mozilla/5.0 (cm-test)|http://localhost/artikel/9',
        'held with every field: User-Agent and Referer kept');
    is(join("\n", grep { /exited on signal/ } split /\n/, $full->error_log()),
        '', 'held with every field: no worker crashed');

    $full->stop();
}

$t->stop();
