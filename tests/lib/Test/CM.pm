package Test::CM;

# Integration tests of ngx_http_comment_moderation_module, in the manner of
# nginx-tests' Test::Nginx: a real nginx (the installed binary, CM_NGINX,
# default /usr/sbin/nginx) loads the built module (CM_MODULE, default
# build/ngx_http_comment_moderation_module.so) in a temporary prefix, on free
# 127.0.0.1 ports, with a recording backend (Test::CM::Backend) behind it.
#
#     my $t = Test::CM->new()->plan(1);
#     $t->write_rules($JUDOL_RULE);
#     $t->run(http_conf(<<'EOF'));
#     server {
#         listen 127.0.0.1:%%PORT%%;
#         location /comments {
#             comment_moderation on;
#             comment_moderation_rules %%RULES%%;
#             proxy_pass http://%%BACKEND%%;
#         }
#     }
#     EOF
#     is($t->http_post('/comments', form(comment => 'halo'))->status, 200);
#
# http_conf() wraps the inside of an http block into a whole configuration:
#
#     load_module %%MODULE%%;
#     %%GLOBALS%%
#     events {}
#     http { %%TEMPS%% ... }
#
# Placeholders: %%MODULE%% (path of the .so), %%GLOBALS%% (daemon off, pid and
# error_log in the prefix, at "info"), %%TEMPS%% (inside http: every temp path
# and the access log in the prefix), %%PORT%% and %%PORT_<NAME>%% (free ports;
# $t->port('NAME')), %%BACKEND%% (address of the recording backend, started on
# first use), %%RULES%% (the file written by write_rules, else the project's
# rules: rules/default.rules, or the folder), %%PREFIX%%.
#
# plan(N) plans N + 1 tests: when the test ends, nginx is stopped (QUIT, so
# that leaked connections are reported) and error.log is checked as the last
# test ("no [alert], [crit], [emerg], leaked sockets or crashed workers").
# CM_TEST_KEEP=1 keeps the prefix, CM_TEST_DEBUG=1 logs at "debug",
# CM_TEST_NO_MASTER=1 runs nginx as one process (master_process off).

use strict;
use warnings;

# Test::More first: END blocks run in reverse order, ours before Test::Builder's
use Test::More ();

use Cwd qw/ abs_path /;
use Exporter qw/ import /;
use File::Basename qw/ dirname /;
use File::Temp qw/ tempdir /;
use IO::Socket::INET;
use POSIX qw/ WNOHANG /;
use Time::HiRes qw/ time sleep /;

use Test::CM::Backend;
use Test::CM::Message qw/ slurp spew /;
use Test::CM::HTTP qw/
    http_request http_post_request http2_request
    form multipart json_encode json_decode chunked bytes
/;

our @EXPORT = qw/
    http_conf redis_hold_conf $METRICS_LOCATION $JUDOL_RULE form multipart json_encode json_decode chunked bytes
/;

our $ROOT = abs_path(dirname(__FILE__) . '/../../..');

# the rule most tests judge by (a test's own rules keep it from depending on
# the shipped rules): gambling vocabulary, rejected outright
our $JUDOL_RULE = <<'EOF';
rule judol-vocab
    words "slot gacor", maxwin, togel
    action reject
EOF

# lines of error.log that fail a test
our @BAD_LOG = (
    qr/\[(?:alert|crit|emerg)\]/,
    qr/open socket #\d+ left in connection/,
    qr/exited on signal/,
    qr/Sanitizer|runtime error:/,
);

# writes to a connection nginx has closed must fail, not kill the test
$SIG{PIPE} = 'IGNORE';

my @instances;

# new(workers => N): worker_processes (default 1)
sub new {
    my ($class, %opts) = @_;

    my $nginx = $ENV{CM_NGINX} || '/usr/sbin/nginx';
    my $module = $ENV{CM_MODULE}
        || "$ROOT/build/ngx_http_comment_moderation_module.so";

    Test::More::BAIL_OUT("no nginx binary at $nginx (set CM_NGINX)")
        unless -x $nginx;
    Test::More::BAIL_OUT("no module at $module: run \"make module\" "
        . "(or set CM_MODULE)") unless -f $module;

    my $prefix = tempdir('cm-test-XXXXXXXX', TMPDIR => 1,
        CLEANUP => !$ENV{CM_TEST_KEEP});

    # nginx workers run as "nobody" when the tests run as root
    chmod 0755, $prefix;

    my $self = bless {
        owner => $$,
        nginx => $nginx,
        module => abs_path($module),
        prefix => $prefix,
        ports => {},
        allow => [],
        workers => $opts{workers} || 1,
    }, $class;

    push @instances, $self;

    Test::More::diag("prefix $prefix") if $ENV{CM_TEST_KEEP};

    return $self;
}

sub prefix { $_[0]{prefix} }
sub root { $ROOT }

# plan(N): N tests of the file, plus the error.log check at the end
sub plan {
    my ($self, $n) = @_;

    Test::More::plan(tests => $n + 1);
    $self->{final_check} = 1;

    return $self;
}

# lines matching these are expected in error.log, not failures
sub allow_log {
    my ($self, @re) = @_;

    push @{$self->{allow}}, @re;

    return $self;
}

###############################################################################
# files and configuration

sub write_file {
    my ($self, $name, $content) = @_;

    spew("$self->{prefix}/$name", bytes($content));

    return $self;
}

sub read_file {
    my ($self, $name) = @_;

    return slurp("$self->{prefix}/$name");
}

# write_rules($text [, $name]): a rule file in the prefix; %%RULES%% names it
sub write_rules {
    my ($self, $text, $name) = @_;

    $name ||= 'test.rules';
    $self->write_file($name, $text);
    $self->{rules} = "$self->{prefix}/$name";

    return $self;
}

# http_conf($inside): a whole configuration template around what goes inside
# the http block: the module loaded, the globals, the temp paths
sub http_conf {
    my ($inside) = @_;

    $inside =~ s/^(?=.)/    /gm;

    return "load_module %%MODULE%%;\n%%GLOBALS%%\nevents {}\n\n"
        . "http {\n    %%TEMPS%%\n\n$inside}\n";
}

# redis_hold_conf('comment_moderation_redis %%REDIS%% timeout=200ms'
# [, $more [, $server]]): the configuration of the Redis tests: that
# directive, a secret, the spool in the prefix, and /comments judged by
# %%RULES%%, held comments kept in Redis; $more: lines more in that location;
# $server: more in the server ($METRICS_LOCATION: /metrics)
our $METRICS_LOCATION = "location = /metrics {\n    comment_moderation_metrics;\n}\n";

sub redis_hold_conf {
    my ($redis, $more, $server) = @_;

    $more = '' unless defined $more;
    $more =~ s/^(?=.)/        /gm;
    $server = '' unless defined $server;
    $server =~ s/^(?=.)/    /gm;
    $server = "\n$server" if length $server;

    return http_conf(<<"EOF");
$redis;
comment_moderation_secret 0123456789abcdef0123;
comment_moderation_spool_path %%PREFIX%%/spool;

server {
    listen 127.0.0.1:%%PORT%%;

    location /comments {
        comment_moderation on;
        comment_moderation_rules %%RULES%%;
        comment_moderation_queue hold;
$more        proxy_pass http://%%BACKEND%%;
    }
$server}
EOF
}

# a free port on 127.0.0.1 for a name (the same port each time it is asked)
sub port {
    my ($self, $name) = @_;

    $name = 'MAIN' unless defined $name;

    return $self->{ports}{$name} if $self->{ports}{$name};

    my $s = IO::Socket::INET->new(
        Proto => 'tcp',
        LocalAddr => '127.0.0.1',
        LocalPort => 0,
        Listen => 1,
    ) or die "no free port: $!";

    $self->{ports}{$name} = $s->sockport;
    close $s;

    return $self->{ports}{$name};
}

# the project's rules: rules/default.rules if there is one (it includes the
# rest), else the folder
sub shipped_rules {
    return -f "$ROOT/rules/default.rules" ? "$ROOT/rules/default.rules"
        : "$ROOT/rules";
}

sub backend {
    my ($self) = @_;

    $self->{backend} ||= Test::CM::Backend->start("$self->{prefix}/backend");

    return $self->{backend};
}

sub expand {
    my ($self, $conf) = @_;
    my $p = $self->{prefix};

    my $level = $ENV{CM_TEST_DEBUG} ? 'debug' : 'info';
    # tests/valgrind/run: one process, under valgrind
    my $master = $ENV{CM_TEST_NO_MASTER} ? 'off' : 'on';
    my $globals = "daemon off;\nmaster_process $master;\n"
        . "worker_processes $self->{workers};\n"
        . "pid $p/nginx.pid;\nerror_log $p/error.log $level;\n";

    my $temps = join '', map { "${_}_temp_path $p/${_}_temp;\n" }
        qw/ client_body proxy fastcgi uwsgi scgi /;
    $temps .= "access_log $p/access.log;\n";

    # under valgrind, pcre2's interpreter: the JIT code's word-sized reads
    # past a subject read as uses of uninitialised memory
    $conf =~ s/^(\s*http\s*\{)/$1\n    comment_moderation_regex_jit off;/m
        if $ENV{CM_VALGRIND_LOGS} && $conf =~ /%%MODULE%%/;

    $conf =~ s/%%MODULE%%/$self->{module}/g;
    $conf =~ s/%%GLOBALS%%/$globals/g;
    $conf =~ s/%%TEMPS%%/$temps/g;
    $conf =~ s/%%PREFIX%%/$p/g;
    $conf =~ s/%%RULES%%/$self->{rules} || shipped_rules()/ge;
    $conf =~ s/%%BACKEND%%/$self->backend()->address()/ge;
    $conf =~ s/%%PORT%%/$self->port()/ge;
    $conf =~ s/%%PORT_(\w+?)%%/$self->port($1)/ge;

    return $conf;
}

###############################################################################
# nginx

# nginx_t($conf): "nginx -t" of a configuration template; (exit code, output)
sub nginx_t {
    my ($self, $conf) = @_;

    $self->write_file('nginx-t.conf', $self->expand($conf));

    my ($rc, $out) = $self->_capture($self->{nginx}, '-t',
        '-p', "$self->{prefix}/", '-c', 'nginx-t.conf', '-e', 'nginx-t.log');

    return ($rc, $out);
}

sub _capture {
    my ($self, @cmd) = @_;

    my $pid = open(my $fh, '-|');
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or POSIX::_exit(127);
    }

    local $/;
    my $out = <$fh>;
    close $fh;

    return ($? >> 8, defined $out ? $out : '');
}

# run($conf): starts nginx with the configuration template; dies if it cannot
sub run {
    my ($self, $conf) = @_;

    $self->{conf} = $conf if defined $conf;

    for my $try (1 .. 3) {
        $self->write_file('nginx.conf', $self->expand($self->{conf}));

        return $self if $self->_start();

        my $err = $self->read_file('nginx.stderr') . $self->read_file('error.log');

        # another process took a port between our probe and nginx's bind
        if ($err =~ /Address already in use/ && $try < 3) {
            rename "$self->{prefix}/error.log", "$self->{prefix}/error.log.$try";
            $self->{ports} = {};
            next;
        }

        die "nginx did not start:\n$err";
    }
}

sub _start {
    my ($self) = @_;
    my $p = $self->{prefix};

    unlink "$p/nginx.pid";

    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDOUT, '>', "$p/nginx.stderr";
        open STDERR, '>&', \*STDOUT;
        exec($self->{nginx}, '-p', "$p/", '-c', 'nginx.conf', '-e', 'error.log')
            or POSIX::_exit(127);
    }

    # the pid file is written after the listening sockets are open
    my $deadline = time() + 10;

    while (time() < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            return 0;
        }

        if ($self->read_file('nginx.pid') =~ /^$pid$/m) {
            $self->{pid} = $pid;
            return 1;
        }

        sleep(0.01);
    }

    kill 'KILL', $pid;
    waitpid($pid, 0);

    die "nginx did not write its pid file within 10 s";
}

sub pid { $_[0]{pid} }

# the pid of the worker started last, waiting for it to be logged
sub worker_pid {
    my ($self) = @_;

    $self->wait_for_log(qr/start worker process \d+/);
    my @all = $self->read_file('error.log') =~ /start worker process (\d+)/g;

    return $all[-1];
}

# stop(): graceful (QUIT), as nginx-tests does: leaked connections are
# logged; then the backend
sub stop {
    my ($self) = @_;

    $self->_quit();
    $self->{backend}->stop() if $self->{backend};

    return $self;
}

# restart(): nginx stopped as by stop() and started again on the same prefix
# and configuration (what it left on disk stays); the backend keeps running
sub restart {
    my ($self) = @_;

    return $self->_quit()->run();
}

sub _quit {
    my ($self) = @_;
    my $pid = delete $self->{pid};

    if ($pid) {
        kill 'QUIT', $pid;

        my $timeout = $ENV{CM_TEST_STOP_TIMEOUT} || 10;
        my $exited = $self->_reap($pid, $timeout);

        if (!$exited) {
            push @{$self->{problems}},
                "nginx did not exit within $timeout s of QUIT (a request "
                . "left hanging?)";
            kill 'TERM', $pid;
            $self->_reap($pid, 3) or do { kill 'KILL', $pid; waitpid($pid, 0) };
        }
    }

    return $self;
}

sub _reap {
    my ($self, $pid, $timeout) = @_;
    my $deadline = time() + $timeout;

    while (time() < $deadline) {
        return 1 if waitpid($pid, WNOHANG) != 0;
        sleep(0.01);
    }

    return 0;
}

sub reload {
    my ($self) = @_;

    kill 'HUP', $self->{pid} if $self->{pid};

    return $self;
}

###############################################################################
# logs

sub error_log { $_[0]->read_file('error.log') }

# wait_for_log(qr/.../ [, $file [, $timeout]]): the first match (its $1 if
# the pattern captures, else the whole match), or undef after the timeout
sub wait_for_log {
    my ($self, $re, $file, $timeout) = @_;

    $file ||= 'error.log';
    # (under valgrind, CM_TEST_TIME_FACTOR: everything takes longer)
    my $deadline = time() + ($timeout || 5) * ($ENV{CM_TEST_TIME_FACTOR} || 1);

    while (1) {
        my $text = $self->read_file($file);
        if ($text =~ $re) {
            return defined $1 ? $1 : $&;
        }
        return undef if time() > $deadline;
        sleep(0.01);
    }
}

# wait_for_log_count(qr/.../, $n [, $file [, $timeout]]): waits until the
# pattern matches $n times; the count reached
sub wait_for_log_count {
    my ($self, $re, $n, $file, $timeout) = @_;

    $file ||= 'error.log';
    my $deadline = time() + ($timeout || 5);

    while (1) {
        my $count = () = $self->read_file($file) =~ /$re/g;
        return $count if $count >= $n || time() > $deadline;
        sleep(0.01);
    }
}

# the error.log lines (and harness findings) that mean something went wrong
sub log_problems {
    my ($self) = @_;
    my @bad;

    for my $line (split /\n/, $self->error_log()) {
        next unless grep { $line =~ $_ } @BAD_LOG;
        next if grep { $line =~ $_ } @{$self->{allow}};
        push @bad, $line;
    }

    return (@bad, @{$self->{problems} || []});
}

# a test: error.log has no alert, crit, emerg, leaked socket, crashed worker
sub error_log_clean {
    my ($self, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;

    return Test::More->builder->is_eq(join("\n", $self->log_problems()), '',
        $name || 'error.log clean');
}

###############################################################################
# HTTP

# http($raw_request, %opts): see Test::CM::HTTP::http_start (parts, delay);
# port => 'NAME' talks to %%PORT_NAME%%
sub http {
    my ($self, $request, %opts) = @_;

    return http_request($self->port($opts{port}), $request, %opts);
}

# http_pipeline(@requests): on one connection; the answers
sub http_pipeline {
    my ($self, @requests) = @_;

    return Test::CM::HTTP::http_pipeline($self->port(), @requests);
}

# request(METHOD, URI, BODY, HEADERS...): the bytes, for http and pipelines
sub request {
    my ($self, @args) = @_;

    return http_post_request(@args);
}

sub http_start {
    my ($self, $request, %opts) = @_;

    return Test::CM::HTTP::http_start($self->port($opts{port}), $request,
        %opts);
}

sub http_end {
    my ($self, $s) = @_;

    return Test::CM::HTTP::http_end($s);
}

# http_post('/comments', $body, 'Accept' => 'application/json', ...)
sub http_post {
    my ($self, $uri, $body, @headers) = @_;

    return $self->http(http_post_request('POST', $uri, $body, @headers));
}

sub http_get {
    my ($self, $uri, @headers) = @_;

    return $self->http(http_post_request('GET', $uri, undef, @headers));
}

# any method: http_method('PUT', '/comments', $body, @headers)
sub http_method {
    my ($self, $method, $uri, $body, @headers) = @_;

    return $self->http(http_post_request($method, $uri, $body, @headers));
}

# metrics(): what the location /metrics answers, { 'name{labels}' => value }
sub metrics {
    my ($self) = @_;

    return { map { /^(\S+) (\S+)$/ ? ($1 => $2) : () }
        grep { !/^#/ } split /\n/, $self->http_get('/metrics')->body };
}

sub has_curl_http2 {
    my ($self) = @_;

    my (undef, $out) = $self->_capture('curl', '-V');

    return $out =~ /^Features:.*\bHTTP2\b/m;
}

# http2_post('/comments', $body, @headers) to %%PORT_H2%% ("listen ... http2")
sub http2_post {
    my ($self, $uri, $body, @headers) = @_;

    return http2_request($self->{prefix}, $self->port('H2'), 'POST', $uri,
        $body, @headers);
}

###############################################################################
# what the backend received

sub backend_requests { $_[0]->backend()->requests() }
sub backend_count { $_[0]->backend()->count() }
sub backend_last { $_[0]->backend()->last_request() }
sub backend_status { $_[0]->backend()->set_status($_[1]); $_[0] }

# waits until the backend has received $n requests in all; the count
sub wait_backend_count {
    my ($self, $n, $timeout) = @_;
    my $deadline = time() + ($timeout || 5);

    while ($self->backend_count() < $n && time() < $deadline) {
        sleep(0.01);
    }

    return $self->backend_count();
}

###############################################################################
# teardown: also when a test dies

sub teardown {
    my ($self) = @_;

    return if $self->{owner} != $$ || $self->{torn_down}++;

    $self->stop();

    my $tb = Test::More->builder;

    if ($self->{final_check} && $tb->expected_tests) {
        $self->error_log_clean('error.log clean after shutdown');

    } else {
        Test::More::diag("error.log: $_") for $self->log_problems();
    }

    if ($ENV{CM_TEST_VERBOSE} || ($ENV{CM_TEST_LOG_ON_FAIL} && !$tb->is_passing)) {
        Test::More::diag($self->error_log());
    }
}

END {
    local $?;
    $_->teardown() for @instances;
}

1;
