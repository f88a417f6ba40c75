#!/usr/bin/perl

# Clients that go away: while the body is being sent, right after sending
# it, in the middle of a chunked or spooled body.  Nothing is forwarded, the
# worker keeps serving, and when nginx stops no connection is left open
# (the final error.log check: no alert, no "open socket ... left").  A slow
# client does not hold up the worker either.

use strict;
use warnings;

use IO::Socket::INET;
use Test::More;
use Test::CM;
use Time::HiRes qw/ sleep /;

my $t = Test::CM->new()->plan(15);

$t->write_rules($JUDOL_RULE);

$t->run(http_conf(<<'EOF'));
server {
    listen 127.0.0.1:%%PORT%%;

    comment_moderation on;
    comment_moderation_rules %%RULES%%;

    location /comments {
        proxy_pass http://%%BACKEND%%;
    }

    location /spool {
        client_body_buffer_size 1k;
        proxy_pass http://%%BACKEND%%;
    }

    location /stall {
        client_body_timeout 1s;
        proxy_pass http://%%BACKEND%%;
    }

    location = /ping {
        return 200 "pong\n";
    }
}
EOF

my $head = "POST %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    . "Content-Type: application/x-www-form-urlencoded\r\n";

# send($bytes): connect, send, and leave without reading
sub send_and_close {
    my ($bytes) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port())
        or die "connect: $!";

    syswrite($s, $bytes);
    close $s;
}

# the worker logs each abort at info; wait for the n-th
sub aborts_logged {
    my ($n) = @_;

    return $t->wait_for_log_count(qr/client prematurely closed connection/, $n)
        >= $n;
}

my $body = 'comment=' . ('halo ' x 2000);

send_and_close(sprintf($head, '/comments')
    . "Content-Length: " . length($body) . "\r\n\r\n" . substr($body, 0, 100));
ok(aborts_logged(1), 'closed while sending the body: nginx noticed');

send_and_close(sprintf($head, '/comments')
    . "Transfer-Encoding: chunked\r\n\r\n" . "64\r\n" . substr($body, 0, 50));
ok(aborts_logged(2), 'closed inside a chunk: nginx noticed');

send_and_close(sprintf($head, '/spool')
    . "Content-Length: " . length($body) . "\r\n\r\n" . substr($body, 0, 5000));
ok(aborts_logged(3), 'closed while the body is spooled: nginx noticed');

is($t->http_get('/ping')->status, 200, 'the worker still serves');
is($t->backend_count(), 0, 'nothing half-sent reached the backend');

# closed right after a complete body: judged or not, nothing hangs

my $spam = 'comment=slot+gacor+maxwin';
send_and_close(sprintf($head, '/comments')
    . "Content-Length: " . length($spam) . "\r\n\r\n$spam");

my $ham = 'comment=' . ('salam ' x 10);
send_and_close(sprintf($head, '/comments')
    . "Content-Length: " . length($ham) . "\r\n\r\n$ham");

is($t->http_get('/ping')->status, 200, 'the worker still serves after that');
is($t->http_post('/comments', $spam)->status, 403, 'spam still rejected');
is($t->http_post('/comments', $ham)->status, 200, 'ham still forwarded');

# a slow client: the body arrives in pieces while others are served

my $s = $t->http_start('', parts => [ sprintf($head, '/comments')
    . "Content-Length: " . length($spam) . "\r\n\r\ncomment=slot" ]);

my $ping = $t->http_get('/ping');
is($ping->status, 200, 'a GET while a body is half sent is served');
ok($ping->elapsed < 0.5, '... at once');

syswrite($s, substr($spam, length('comment=slot')));
is($t->http_end($s)->status, 403, 'the slow spam is judged once complete');

# a client that stops sending: client_body_timeout ends it

$s = $t->http_start('', parts => [ sprintf($head, '/stall')
    . "Content-Length: 100\r\n\r\ncomment=" ]);

my $res = $t->http_end($s);
ok($res->status == 0 || $res->status == 408, 'a stalled body: closed');
ok($res->elapsed > 0.9 && $res->elapsed < 3,
    'a stalled body: closed by client_body_timeout 1s')
    or diag(sprintf('after %.3f s', $res->elapsed));

# abort several requests at once, then stop nginx (the final check)

send_and_close(sprintf($head, '/spool')
    . "Content-Length: 30000\r\n\r\n" . ('x' x 3000)) for 1 .. 10;

is($t->http_get('/ping')->status, 200, 'serves after a burst of aborts');
ok(aborts_logged(13), 'every aborted request was finished by nginx');
