package Test::CM::Backend;

# The recording backend: a small HTTP/1.1 server in a forked process that
# stands in for the CMS behind proxy_pass.  It takes one connection at a time,
# reads the request (Content-Length or chunked body), writes it to numbered
# files in its directory, and answers with "Connection: close" and a small
# JSON body.  The request is on disk before the answer is sent, so a test
# that got nginx's answer can read what the backend received without waiting.
#
# The status it answers: "cm_status=NNN" in the request's query, else the
# number in the file "status" in its directory (a test may change it at any
# time), else 200.
#
# Failures to inject: stop() and start() again on the same port and
# directory (restart()): requests meanwhile are refused; the numbering goes
# on where it stopped.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use POSIX qw/ WNOHANG _exit /;
use Time::HiRes qw/ sleep /;

use Test::CM::Message qw/ slurp spew /;

# Test::CM::Backend->start($dir [, port => N]): listens on 127.0.0.1 (a
# free port unless given), forks
sub start {
    my ($class, $dir, %opts) = @_;

    mkdir $dir or die "$dir: $!" unless -d $dir;

    my $self = bless {
        dir => $dir,
        port => $opts{port} || 0,
        owner => $$,
    }, $class;

    return $self->_fork();
}

# restart(): stopped (if running) and started again on the same port
sub restart {
    my ($self) = @_;

    $self->stop();

    return $self->_fork();
}

sub _fork {
    my ($self) = @_;

    my $listen = IO::Socket::INET->new(
        Proto => 'tcp',
        LocalAddr => '127.0.0.1',
        LocalPort => $self->{port},
        Listen => 128,
        ReuseAddr => 1,
    ) or die "backend: cannot listen on port $self->{port}: $!";

    $self->{port} = $listen->sockport;

    # after a restart the numbers go on: no request file is overwritten
    my $first = $self->count();

    my $pid = fork();
    die "backend: fork: $!" unless defined $pid;

    if ($pid == 0) {
        $SIG{TERM} = sub { _exit(0) };
        eval { $self->_serve($listen, $first) };
        _exit(0);
    }

    close $listen;
    $self->{pid} = $pid;

    return $self;
}

sub port { $_[0]{port} }
sub address { '127.0.0.1:' . $_[0]{port} }

sub stop {
    my ($self) = @_;

    return unless $self->{pid} && $self->{owner} == $$;

    kill 'TERM', $self->{pid};

    for (1 .. 300) {
        last if waitpid($self->{pid}, WNOHANG) != 0;
        sleep(0.01);
    }

    if (kill 0, $self->{pid}) {
        kill 'KILL', $self->{pid};
        waitpid($self->{pid}, 0);
    }

    delete $self->{pid};
}

# the status the next requests get (undef: back to 200)
sub set_status {
    my ($self, $status) = @_;

    if (!defined $status) {
        unlink "$self->{dir}/status";
        return;
    }

    spew("$self->{dir}/status.tmp", "$status\n");
    rename "$self->{dir}/status.tmp", "$self->{dir}/status" or die "$!";
}

# every request received so far, oldest first (Test::CM::Backend::Request)
sub requests {
    my ($self) = @_;

    opendir my $dh, $self->{dir} or return ();
    my @heads = sort { $a <=> $b } map { /^(\d+)\.head$/ ? $1 : () }
        readdir $dh;
    closedir $dh;

    return map { $self->_load("$_.head") } @heads;
}

sub count {
    my ($self) = @_;

    opendir my $dh, $self->{dir} or return 0;
    my $n = grep { /^\d+\.head$/ } readdir $dh;
    closedir $dh;

    return $n;
}

sub last_request {
    my ($self) = @_;
    my @r = $self->requests();

    return $r[-1];
}

sub _load {
    my ($self, $head_file) = @_;
    my ($n) = $head_file =~ /^(\d+)/;

    my $head = slurp("$self->{dir}/$head_file");
    my ($line, @lines) = split /\r\n/, $head;
    my ($method, $uri, $version) = split / /, $line, 3;

    return Test::CM::Backend::Request->new(\@lines, n => $n + 0,
        method => $method, uri => $uri, version => $version, head => $head,
        body => slurp("$self->{dir}/$n.body"));
}

###############################################################################
# the server process

sub _serve {
    my ($self, $listen, $n) = @_;
    my $parent = getppid();
    my $sel = IO::Select->new($listen);

    while (1) {
        # the test process is gone (killed hard): do not linger
        _exit(0) if getppid() != $parent;

        next unless $sel->can_read(0.5);

        my $c = $listen->accept() or next;

        eval {
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm(10);
            $self->_handle($c, ++$n);
            alarm(0);
        };
        alarm(0);

        close $c;
    }
}

sub _handle {
    my ($self, $c, $n) = @_;
    my $buf = '';

    _fill($c, \$buf) or return until $buf =~ /\r\n\r\n/;

    my $end = index($buf, "\r\n\r\n");
    my $head = substr($buf, 0, $end);
    $buf = substr($buf, $end + 4);

    my $body = '';

    if ($head =~ /^Transfer-Encoding:\s*chunked\s*$/mi) {
        while (1) {
            _fill($c, \$buf) or return until $buf =~ /\r\n/;
            $buf =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n// or return;
            my $len = hex $1;

            if ($len == 0) {
                # trailers, if any, up to the empty line
                _fill($c, \$buf) or return until $buf =~ /(?:^|\r\n)\r\n/;
                last;
            }

            _fill($c, \$buf) or return until length($buf) >= $len + 2;
            $body .= substr($buf, 0, $len);
            $buf = substr($buf, $len + 2);
        }

    } elsif ($head =~ /^Content-Length:\s*(\d+)\s*$/mi) {
        my $len = $1;
        _fill($c, \$buf) or return until length($buf) >= $len;
        $body = substr($buf, 0, $len);
    }

    # the body first: a ".head" file means the request is complete
    my $name = sprintf("%s/%04d", $self->{dir}, $n);
    spew("$name.body", $body);
    spew("$name.tmp", $head);
    rename "$name.tmp", "$name.head" or die "$!";

    my ($uri) = $head =~ /^\S+ (\S+)/;
    my $status = 200;

    if ($uri =~ /[?&]cm_status=(\d{3})/) {
        $status = $1;

    } elsif (-e "$self->{dir}/status") {
        ($status) = slurp("$self->{dir}/status") =~ /(\d{3})/;
    }

    my $json = sprintf('{"backend":"ok","n":%d,"length":%d}' . "\n",
        $n, length $body);

    my $answer = "HTTP/1.1 $status Backend\r\n"
        . "Content-Type: application/json\r\n"
        . "Content-Length: " . length($json) . "\r\n"
        . "X-Backend-Request: $n\r\n"
        . "Connection: close\r\n\r\n$json";

    while (length $answer) {
        my $w = syswrite($c, $answer);
        last unless $w;
        substr($answer, 0, $w, '');
    }
}

sub _fill {
    my ($c, $buf) = @_;

    return sysread($c, $$buf, 65536, length $$buf);
}

###############################################################################

package Test::CM::Backend::Request;

use parent -norequire, 'Test::CM::Message';

# ->method, ->uri, ->body (raw bytes, dechunked), ->header(NAME), ->head
# (request line and headers as received), ->n (1 for the first request)
sub method { $_[0]{method} }
sub uri    { $_[0]{uri} }
sub head   { $_[0]{head} }
sub n      { $_[0]{n} }

1;
