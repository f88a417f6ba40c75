package Test::CM::HTTP;

# HTTP clients for the integration tests: raw HTTP/1.x over a socket (the test
# controls every byte, the chunking and the pace), and HTTP/2 through curl
# (--http2-prior-knowledge against a "listen ... http2" port).  Also the body
# encoders the tests need: urlencoded forms, multipart, JSON, chunked.
#
# Strings with Perl's UTF-8 flag (literals under "use utf8") are sent as UTF-8;
# byte strings are sent as they are, so a test can send invalid UTF-8.

use strict;
use warnings;

use Exporter qw/ import /;
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX qw/ WNOHANG /;
use Time::HiRes qw/ time sleep /;

use Test::CM::Message qw/ slurp spew /;

our @EXPORT_OK = qw/
    http_start http_end http_request http_pipeline http_post_request
    http2_request parse_response form multipart json_encode json_decode chunked bytes
/;

our $TIMEOUT = $ENV{CM_TEST_HTTP_TIMEOUT} || 10;

###############################################################################
# encoders

# the bytes of a string: UTF-8 for character strings, as is for byte strings
sub bytes {
    my ($s) = @_;

    return '' unless defined $s;
    utf8::encode($s) if utf8::is_utf8($s);
    return $s;
}

# form(comment => 'x', name => 'y'): application/x-www-form-urlencoded
sub form {
    my (@pairs) = @_;
    my @out;

    while (my ($k, $v) = splice(@pairs, 0, 2)) {
        push @out, _urlencode($k) . '=' . _urlencode($v);
    }

    return join '&', @out;
}

sub _urlencode {
    my $s = bytes(shift);

    $s =~ s/([^A-Za-z0-9\-._~ ])/sprintf('%%%02X', ord($1))/ge;
    $s =~ tr/ /+/;

    return $s;
}

# multipart(comment => 'x', avatar => { filename => 'a.png', type => 'image/png',
#     value => $bytes }): returns (content type, body)
sub multipart {
    my (@pairs) = @_;
    my $boundary = '----cmtest' . join('', map { int(rand(10)) } 1 .. 16);
    my $body = '';

    while (my ($k, $v) = splice(@pairs, 0, 2)) {
        $body .= "--$boundary\r\n";

        if (ref $v eq 'HASH') {
            $body .= 'Content-Disposition: form-data; name="' . bytes($k)
                . '"; filename="' . bytes($v->{filename}) . "\"\r\n"
                . 'Content-Type: ' . ($v->{type} || 'application/octet-stream')
                . "\r\n\r\n" . bytes($v->{value}) . "\r\n";
            next;
        }

        $body .= 'Content-Disposition: form-data; name="' . bytes($k)
            . "\"\r\n\r\n" . bytes($v) . "\r\n";
    }

    $body .= "--$boundary--\r\n";

    return ("multipart/form-data; boundary=$boundary", $body);
}

# JSON text (UTF-8 bytes) of a Perl structure, keys in a stable order
sub json_encode {
    my ($data) = @_;

    return JSON::PP->new->utf8->canonical->encode($data);
}

# a decoded JSON document, or undef if the text is not JSON
sub json_decode {
    my ($text) = @_;

    return undef unless defined $text;
    return eval { JSON::PP->new->utf8->decode($text) };
}

# chunked($body, 7) or chunked([ 'part 1', 'part 2' ]): the chunked encoding
# of a body, ending with the last chunk
sub chunked {
    my ($body, $size) = @_;
    my @chunks;

    if (ref $body eq 'ARRAY') {
        @chunks = map { bytes($_) } @$body;

    } else {
        $body = bytes($body);
        $size ||= length($body) || 1;
        push @chunks, substr($body, 0, $size, '') while length $body;
    }

    return join('', map { sprintf("%x\r\n", length $_) . "$_\r\n" }
        grep { length } @chunks) . "0\r\n\r\n";
}

###############################################################################
# HTTP/1.x over a socket

# Connects and sends the request.  Options:
#   parts => [ ... ]   send these pieces instead of $request (with delay)
#   delay => 0.05      seconds between pieces
# Returns the socket (undef if nginx could not be reached).
sub http_start {
    my ($port, $request, %opts) = @_;
    my $start = time();

    my $s = IO::Socket::INET->new(
        Proto => 'tcp',
        PeerAddr => "127.0.0.1:$port",
        Timeout => $TIMEOUT,
    ) or return undef;

    ${*$s}{cm_start} = $start;

    my @parts = $opts{parts} ? @{$opts{parts}} : ($request);

    for my $i (0 .. $#parts) {
        sleep($opts{delay}) if $opts{delay} && $i > 0;
        _write_all($s, bytes($parts[$i])) or last;
    }

    return $s;
}

# reads the answer until nginx closes; a Test::CM::HTTP::Response
sub http_end {
    my ($s) = @_;
    my $raw = '';
    my $sel = IO::Select->new($s);
    my $deadline = time() + $TIMEOUT;

    while (1) {
        my $left = $deadline - time();
        last if $left <= 0;
        last unless $sel->can_read($left);

        my $n = sysread($s, $raw, 65536, length $raw);
        last unless $n;
    }

    my $elapsed = time() - ${*$s}{cm_start};
    close $s;

    my $r = parse_response($raw);
    $r->{elapsed} = $elapsed;

    return $r;
}

# http_pipeline($port, @requests): sends the requests at once on one
# connection (the last should close it) and returns the answers, split by
# their Content-Length or chunked framing
sub http_pipeline {
    my ($port, @requests) = @_;

    my $s = http_start($port, join('', @requests))
        or return ();

    my $all = http_end($s);
    my $raw = $all->{raw};
    my @answers;

    while (length $raw) {
        my $end = index($raw, "\r\n\r\n");
        last if $end < 0;

        my $head = substr($raw, 0, $end + 4);
        my $len = 0;

        if ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
            my $rest = substr($raw, $end + 4);
            $len = $rest =~ /^(.*?\r\n0\r\n(?:[^\r\n]+\r\n)*\r\n)/s
                ? length $1 : length $rest;

        } elsif ($head =~ /^Content-Length:\s*(\d+)/mi && $head !~ /^HEAD /) {
            $len = $1;
        }

        push @answers, parse_response(substr($raw, 0, $end + 4 + $len, ''));
    }

    return @answers;
}

# http_request($port, "GET / HTTP/1.0\r\n\r\n", %opts): send, read the answer
sub http_request {
    my ($port, $request, %opts) = @_;

    my $s = http_start($port, $request, %opts)
        or return parse_response('');

    return http_end($s);
}

# The bytes of a request: http_post_request('POST', '/comments', $body,
# @headers).  Headers are name => value pairs, sent in this order after Host
# (unless given; undef leaves a header out).  Content-Type defaults to a form;
# Content-Length is added unless the headers say "Transfer-Encoding: chunked",
# then the body is chunk-encoded (an array reference gives the chunks).
sub http_post_request {
    my ($method, $uri, $body, @headers) = @_;
    my (%has, $head);

    for (my $i = 0; $i < @headers; $i += 2) {
        $has{lc $headers[$i]} = $headers[$i + 1];
    }

    $head = "$method $uri HTTP/1.1\r\n";
    $head .= "Host: localhost\r\n" unless exists $has{host};

    if (defined $body) {
        unshift @headers, 'Content-Type', 'application/x-www-form-urlencoded'
            unless exists $has{'content-type'};

        if (lc($has{'transfer-encoding'} || '') eq 'chunked') {
            $body = chunked($body);

        } else {
            $body = bytes(ref $body eq 'ARRAY' ? join('', @$body) : $body);
            push @headers, 'Content-Length', length($body)
                unless exists $has{'content-length'};
        }
    }

    push @headers, 'Connection', 'close' unless exists $has{connection};

    # a header given as undef is left out (no Content-Type, say)
    while (my ($k, $v) = splice(@headers, 0, 2)) {
        $head .= bytes($k) . ': ' . bytes($v) . "\r\n" if defined $v;
    }

    return $head . "\r\n" . (defined $body ? $body : '');
}

sub _write_all {
    my ($s, $data) = @_;

    while (length $data) {
        my $n = syswrite($s, $data);
        return 0 unless defined $n;
        substr($data, 0, $n, '');
    }

    return 1;
}

# A Test::CM::HTTP::Response from the raw bytes of an answer.
sub parse_response {
    my ($raw) = @_;

    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my ($status_line, @lines) = split /\r\n/, defined $head ? $head : '';

    my $r = Test::CM::HTTP::Response->new(\@lines, raw => $raw, status => 0,
        body => '');

    return $r unless defined $status_line
        && $status_line =~ m!^HTTP/([\d.]+) (\d{3})!;

    $r->{version} = $1;
    $r->{status} = $2;

    $body = '' unless defined $body;

    if (lc($r->header('transfer-encoding') || '') eq 'chunked') {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $len = hex $1;
            last if $len == 0;
            $out .= substr($body, 0, $len, '');
            $body =~ s/^\r\n//;
        }
        $body = $out;
    }

    $r->{body} = $body;

    return $r;
}

###############################################################################
# HTTP/2 through curl

# http2_request($dir, $port, 'POST', '/comments', $body, @headers):
# a Test::CM::HTTP::Response; $dir holds curl's files
sub http2_request {
    my ($dir, $port, $method, $uri, $body, @headers) = @_;
    my @cmd = ('curl', '-sS', '--http2-prior-knowledge', '--max-time',
        $TIMEOUT, '-X', $method, '-D', "$dir/h2.head", '-o', "$dir/h2.body");

    if (defined $body) {
        spew("$dir/h2.req", bytes($body));
        push @cmd, '--data-binary', "\@$dir/h2.req";
        unshift @headers, 'Content-Type', 'application/x-www-form-urlencoded'
            unless grep { lc eq 'content-type' } @headers;
    }

    while (my ($k, $v) = splice(@headers, 0, 2)) {
        push @cmd, '-H', bytes("$k: $v");
    }

    push @cmd, "http://127.0.0.1:$port$uri";

    unlink "$dir/h2.head", "$dir/h2.body";

    my $start = time();
    system(@cmd);
    my $elapsed = time() - $start;

    my $head = slurp("$dir/h2.head");
    # curl writes "HTTP/2 200"; make it look like a status line we parse
    $head =~ s!^HTTP/2 !HTTP/2.0 !;

    my $r = parse_response($head . slurp("$dir/h2.body"));
    $r->{elapsed} = $elapsed;
    $r->{curl_exit} = $? >> 8;

    return $r;
}

###############################################################################

package Test::CM::HTTP::Response;

use parent -norequire, 'Test::CM::Message';

# ->status, ->body, ->header(NAME), ->raw, ->elapsed (seconds), ->version
# ('1.1', '2.0')
sub status  { $_[0]{status} }
sub raw     { $_[0]{raw} }
sub elapsed { $_[0]{elapsed} }
sub version { $_[0]{version} }

# the body as JSON, or undef
sub json {
    my ($self) = @_;

    return Test::CM::HTTP::json_decode($self->{body});
}

1;
