package Test::CM::Redis;

# A real redis-server for the tests, on a free 127.0.0.1 port, with its
# files in a temporary directory (or one given), no persistence.  It runs
# in the foreground as a child of the test, so it is stopped and reaped by
# its pid: by stop(), or at the end of the test, also when the test dies.
#
#     plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;
#
#     my $redis = Test::CM::Redis->start();
#     my $redis = Test::CM::Redis->start(password => 's3cret', unix => 1,
#         dir => "$prefix/redis", args => [ '--maxmemory', '10mb' ]);
#
#     my $replica = Test::CM::Redis->start(replica_of => $redis);
#     my $sentinel = Test::CM::Redis->start_sentinel(monitor => $redis,
#         name => 'mymaster', quorum => 2);   # redis-sentinel, its own port
#     $sentinel->master_address('mymaster')  # "127.0.0.1:PORT" it names
#
#     $redis->port, ->address ("127.0.0.1:PORT"), ->unix_socket (its path,
#     with unix => 1), ->password, ->pid, ->dir, ->log_text (its log)
#
#     $redis->command('HGET', 'cm:rules:v:1', '@entry')   # one command over
#         # RESP: a string (bytes, exactly), a number, undef for nil, an
#         # array reference; an error reply dies with Redis's message
#     $redis->redis_cli('LRANGE', 'cm:audit', 0, -1)  # redis-cli's raw
#         # output, chomped; in list context its lines
#     $redis->info('commandstats')                 # { field => value }
#     $redis->command_calls('evalsha')             # calls since the start
#                                                  # or the last reset_stats
#     $redis->reset_stats                          # CONFIG RESETSTAT
#     $redis->wait_for(sub { ... }, $timeout)      # polls until true; the value
#     my $sub = $redis->subscribe('cm:rules');     # a subscribed connection
#     my $mon = $redis->monitor();                 # MONITOR: then
#     $redis->monitored($mon, 0.3)                 # the commands run since
#     $redis->next_message($sub, 2)                # [channel, message] or undef
#
# Failures to inject: pause() and resume() (SIGSTOP, SIGCONT: it stops
# answering, connections stay open), crash() (SIGKILL), stop() (TERM, and
# waits), restart() (same port and options; the data is lost unless
# restart(keep => 1), which SAVEs it first, or loads a SAVE made before a
# stop() or crash()).

use strict;
use warnings;

use File::Temp qw/ tempdir /;
use IO::Select;
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX qw/ WNOHANG /;
use Time::HiRes qw/ time sleep alarm /;

use Test::CM::Message qw/ slurp /;

my @instances;

# the redis-server binary ($CM_REDIS_SERVER, else the one in PATH) or undef
sub available {
    return $ENV{CM_REDIS_SERVER} if $ENV{CM_REDIS_SERVER};

    for my $d (split /:/, $ENV{PATH} || '', -1) {
        my $f = ($d eq '' ? '.' : $d) . '/redis-server';
        return $f if -x $f && !-d $f;
    }

    return undef;
}

sub start {
    my ($class, %opts) = @_;

    my $server = $class->available()
        or die "no redis-server (install redis-server, or set CM_REDIS_SERVER)";

    my $dir = $opts{dir};
    if (defined $dir) {
        mkdir $dir or die "$dir: $!" unless -d $dir;
    } else {
        $dir = tempdir('cm-redis-XXXXXXXX', TMPDIR => 1,
            CLEANUP => !$ENV{CM_TEST_KEEP});
    }

    # nginx workers run as "nobody" when the tests run as root: they must
    # reach the unix socket
    chmod 0755, $dir;

    my $self = bless {
        owner => $$,
        server => $server,
        dir => $dir,
        password => $opts{password},
        unix => $opts{unix},
        args => $opts{args} || [],
        port => $opts{port},
        replica_of => $opts{replica_of},
        sentinel => $opts{sentinel},
    }, $class;

    push @instances, $self;

    $self->_start();

    return $self;
}

# start_sentinel(monitor => $redis, name => 'mymaster', quorum => 2,
# down_after => ms, failover_timeout => ms): a redis-sentinel watching it
sub start_sentinel {
    my ($class, %opts) = @_;

    die "no redis-sentinel (install redis-sentinel)"
        unless $class->sentinel_available();

    return $class->start(dir => $opts{dir}, sentinel => {
        name => $opts{name} || 'mymaster',
        monitor => $opts{monitor},
        quorum => $opts{quorum} || 2,
        down_after => $opts{down_after} || 2000,
        failover_timeout => $opts{failover_timeout} || 6000,
    });
}

# the redis-sentinel binary, or undef
sub sentinel_available {
    my ($class) = @_;
    my $server = $class->available() or return undef;

    (my $sentinel = $server) =~ s{redis-server$}{redis-sentinel};

    return -x $sentinel ? $sentinel : undef;
}

# a sentinel's answer to SENTINEL get-master-addr-by-name: "HOST:PORT"
sub master_address {
    my ($self, $name) = @_;
    my $a = $self->command('SENTINEL', 'get-master-addr-by-name',
        $name || $self->{sentinel}{name});

    return ref $a ? join(':', @$a) : undef;
}

sub port { $_[0]{port} }
sub pid { $_[0]{pid} }
sub dir { $_[0]{dir} }
sub password { $_[0]{password} }
sub address { '127.0.0.1:' . $_[0]{port} }
sub unix_socket { $_[0]{unix} ? "$_[0]{dir}/redis.sock" : undef }
sub log_text { slurp("$_[0]{dir}/redis.log") }

# a free port on 127.0.0.1 (free when asked: start() retries if another
# process takes it first)
sub free_port {
    my $s = IO::Socket::INET->new(
        Proto => 'tcp',
        LocalAddr => '127.0.0.1',
        LocalPort => 0,
        Listen => 1,
    ) or die "no free port: $!";

    my $port = $s->sockport;
    close $s;

    return $port;
}

sub _start {
    my ($self) = @_;
    my $fixed = defined $self->{port};

    for my $try (1 .. 5) {
        $self->{port} = free_port() unless $fixed;

        return if $self->_spawn();

        my $log = $self->log_text();

        # another process took the port between our probe and the bind
        if ($log =~ /Address already in use/ && !$fixed && $try < 5) {
            rename "$self->{dir}/redis.log", "$self->{dir}/redis.log.$try";
            next;
        }

        die "redis-server did not start:\n$log";
    }
}

# starts redis-server; 1 when it answers PING, 0 if it exited
sub _spawn {
    my ($self) = @_;
    my $d = $self->{dir};

    return $self->_spawn_cmd($self->_sentinel_cmd()) if $self->{sentinel};

    my @cmd = ($self->{server},
        '--port', $self->{port}, '--bind', '127.0.0.1',
        '--save', '', '--appendonly', 'no', '--daemonize', 'no',
        '--dir', $d, '--logfile', "$d/redis.log");

    push @cmd, '--replicaof', '127.0.0.1', $self->{replica_of}->port()
        if $self->{replica_of};

    push @cmd, '--requirepass', $self->{password}
        if defined $self->{password};
    push @cmd, '--unixsocket', "$d/redis.sock", '--unixsocketperm', '777'
        if $self->{unix};
    push @cmd, @{$self->{args}};

    return $self->_spawn_cmd(@cmd);
}

# a sentinel writes its state into its configuration file: a new file for
# each port tried, rewritten by the sentinel from then on
sub _sentinel_cmd {
    my ($self) = @_;
    my $d = $self->{dir};
    my $o = $self->{sentinel};
    my $conf = "$d/sentinel.conf";
    my $mport = $o->{monitor}->port();

    open my $fh, '>', $conf or die "$conf: $!";
    print $fh join("\n",
        "port $self->{port}",
        "bind 127.0.0.1",
        "daemonize no",
        "dir $d",
        "logfile $d/redis.log",
        "sentinel monitor $o->{name} 127.0.0.1 $mport $o->{quorum}",
        "sentinel down-after-milliseconds $o->{name} $o->{down_after}",
        "sentinel failover-timeout $o->{name} $o->{failover_timeout}",
        "sentinel parallel-syncs $o->{name} 1",
        '');
    close $fh;

    return ($self->sentinel_available(), $conf);
}

sub _spawn_cmd {
    my ($self, @cmd) = @_;
    my $d = $self->{dir};

    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$d/redis.log";
        open STDERR, '>&', \*STDOUT;
        exec(@cmd) or POSIX::_exit(127);
    }

    my $deadline = time() + 10;

    while (time() < $deadline) {
        return 0 if waitpid($pid, WNOHANG) == $pid;

        if ($self->_ping()) {
            $self->{pid} = $pid;
            return 1;
        }

        sleep(0.02);
    }

    kill 'KILL', $pid;
    waitpid($pid, 0);

    die "redis-server did not answer within 10 s:\n" . $self->log_text();
}

# it answers (PONG, or NOAUTH when it has a password)
sub _ping {
    my ($self) = @_;

    my $s = eval { $self->_connect(1) } or return 0;

    print $s "PING\r\n";
    my $line = <$s>;
    close $s;

    return defined $line && $line =~ /^(?:\+PONG|-NOAUTH)/;
}

###############################################################################
# talking to it

sub _connect {
    my ($self, $timeout) = @_;

    my $s = IO::Socket::INET->new(
        PeerAddr => $self->address(),
        Proto => 'tcp',
        Timeout => $timeout || 5,
    ) or die "cannot reach Redis at " . $self->address() . ": $!";

    binmode $s;

    return $s;
}

sub _encode {
    my (@args) = @_;

    my $out = '*' . scalar(@args) . "\r\n";
    for my $a (@args) {
        $out .= '$' . length($a) . "\r\n$a\r\n";
    }

    return $out;
}

sub _read_line {
    my ($s) = @_;

    local $/ = "\r\n";
    my $line = <$s>;
    die "Redis closed the connection" unless defined $line;
    chomp $line;

    return $line;
}

sub _read_reply {
    my ($s) = @_;
    my $line = _read_line($s);
    my ($kind, $rest) = (substr($line, 0, 1), substr($line, 1));

    return $rest if $kind eq '+';
    return $rest + 0 if $kind eq ':';
    die "Redis error: $rest\n" if $kind eq '-';

    if ($kind eq '$') {
        return undef if $rest < 0;
        my $data = '';
        while (length($data) < $rest + 2) {
            my $n = read($s, $data, $rest + 2 - length($data), length($data));
            die "Redis closed the connection" unless $n;
        }
        return substr($data, 0, $rest);
    }

    if ($kind eq '*') {
        return undef if $rest < 0;
        return [ map { _read_reply($s) } 1 .. $rest ];
    }

    die "not a Redis reply: $line";
}

# command(@args): one command on a new connection (AUTH first if needed);
# arguments and string replies are bytes
sub command {
    my ($self, @args) = @_;
    my $s = $self->_connect();
    my $out = '';

    $out .= _encode('AUTH', $self->{password}) if defined $self->{password};
    print $s $out . _encode(@args);

    # a paused server must fail the test, not hang it
    local $SIG{ALRM} = sub { die "Redis did not answer within 10 s\n" };
    alarm 10;
    my $reply = eval {
        _read_reply($s) if defined $self->{password};
        _read_reply($s);
    };
    my $err = $@;
    alarm 0;
    close $s;
    die $err if $err;

    return $reply;
}

# subscribe(@channels): a connection subscribed to them (the confirmations
# read); next_message($conn [, $timeout]) then gives [channel, message], or
# undef when none comes within the timeout (default 5 s)
sub subscribe {
    my ($self, @channels) = @_;
    my $s = $self->_connect();

    print $s _encode('AUTH', $self->{password}) if defined $self->{password};
    print $s _encode('SUBSCRIBE', @channels);

    _read_reply($s) if defined $self->{password};
    _read_reply($s) for @channels;

    return $s;
}

sub next_message {
    my ($self, $s, $timeout) = @_;

    my $msg = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm($timeout || 5);
        my $reply = _read_reply($s);
        alarm 0;
        $reply;
    };
    alarm 0;

    return $msg && $msg->[0] eq 'message' ? [ @$msg[1, 2] ] : undef;
}

# monitor(): a connection in MONITOR mode; monitored($conn [, $seconds])
# then gives the commands Redis ran since, as they arrive within $seconds
# (default 0.3): [ { client => '127.0.0.1:PORT' or 'lua', db => N,
# args => [ 'EVALSHA', ... ] } ], oldest first.  Commands run by scripts
# come as client 'lua' (INFO commandstats counts them with the others).
sub monitor {
    my ($self) = @_;
    my $s = $self->_connect();

    my $oks = defined $self->{password} ? 2 : 1;
    my $buf = '';

    syswrite($s, (defined $self->{password}
        ? _encode('AUTH', $self->{password}) : '') . _encode('MONITOR'));

    # sysread, not <$s>: what follows the +OK must stay for monitored()
    until ($buf =~ s/^(?:\+OK\r\n){$oks}//) {
        die "MONITOR refused: $buf" if $buf =~ /^(?:\+OK\r\n)*-/;
        IO::Select->new($s)->can_read(10)
            && sysread($s, $buf, 4096, length $buf)
            or die "Redis did not answer MONITOR";
    }

    ${*$s}{cm_buf} = $buf;

    return $s;
}

sub monitored {
    my ($self, $s, $seconds) = @_;
    my $sel = IO::Select->new($s);
    my $deadline = time() + (defined $seconds ? $seconds : 0.3);
    my $buf = \${*$s}{cm_buf};
    my @seen;

    while (1) {
        my $left = $deadline - time();
        last if $left <= 0 || !$sel->can_read($left);
        sysread($s, $$buf, 65536, length $$buf) or last;
    }

    while ($$buf =~ s/^\+([\d.]+) \[(\d+) ([^\]]+)\] ([^\r\n]*)\r\n//) {
        my ($db, $client, $line) = ($2, $3, $4);
        my @args;

        while ($line =~ /\G\s*"((?:[^"\\]|\\.)*)"/gc) {
            (my $arg = $1) =~ s/\\(x[0-9a-fA-F]{2}|.)/_unquote($1)/ge;
            push @args, $arg;
        }

        push @seen, { client => $client, db => $db, args => \@args };
    }

    return \@seen;
}

sub _unquote {
    my ($e) = @_;
    my %c = (n => "\n", r => "\r", t => "\t", a => "\a", b => "\b");

    return chr(hex(substr($e, 1))) if length($e) == 3;
    return exists $c{$e} ? $c{$e} : $e;
}

# redis_cli(@args): redis-cli's output (raw, as when not on a terminal),
# without the last newline; in list context, its lines
sub redis_cli {
    my ($self, @args) = @_;

    my @cmd = ('redis-cli', '-h', '127.0.0.1', '-p', $self->{port});
    push @cmd, '-a', $self->{password}, '--no-auth-warning'
        if defined $self->{password};

    my $pid = open(my $fh, '-|');
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        exec(@cmd, @args) or POSIX::_exit(127);
    }

    my $out = do { local $/; <$fh> };
    close $fh;

    $out = '' unless defined $out;
    $out =~ s/\n\z//;

    return wantarray ? split(/\n/, $out) : $out;
}

# info($section): the fields of INFO as a hash
sub info {
    my ($self, $section) = @_;
    my %info;

    my $text = $self->command('INFO', defined $section ? $section : ());

    for (split /\r?\n/, $text) {
        $info{$1} = $2 if /^([^#:][^:]*):(.*)$/;
    }

    return \%info;
}

# command_calls('evalsha'): how often Redis ran the command (INFO
# commandstats), 0 if never
sub command_calls {
    my ($self, $name) = @_;
    my $stat = $self->info('commandstats')->{'cmdstat_' . lc $name};

    return defined $stat && $stat =~ /\bcalls=(\d+)/ ? $1 : 0;
}

sub reset_stats {
    my ($self) = @_;

    $self->command('CONFIG', 'RESETSTAT');

    return $self;
}

# wait_for(sub { ... } [, $timeout]): calls it until it returns true (the
# value returned) or the timeout passes (undef); default 5 s
sub wait_for {
    my ($self, $cond, $timeout) = @_;
    my $deadline = time() + ($timeout || 5);

    while (1) {
        my $v = eval { $cond->() };
        return $v if $v;
        return undef if time() > $deadline;
        sleep(0.02);
    }
}

###############################################################################
# failures

sub pause {
    my ($self) = @_;

    kill 'STOP', $self->{pid} if $self->{pid};
    $self->{paused} = 1;

    return $self;
}

sub resume {
    my ($self) = @_;

    kill 'CONT', $self->{pid} if $self->{pid};
    $self->{paused} = 0;

    return $self;
}

# crash(): SIGKILL, as a crash or the OOM killer would
sub crash {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return $self;

    kill 'KILL', $pid;
    waitpid($pid, 0);
    $self->{paused} = 0;

    return $self;
}

# stop(): TERM (after CONT if paused); KILL if it has not exited in 10 s
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return $self;

    kill 'CONT', $pid if $self->{paused};
    $self->{paused} = 0;
    kill 'TERM', $pid;

    my $deadline = time() + 10;

    while (time() < $deadline) {
        return $self if waitpid($pid, WNOHANG) != 0;
        sleep(0.01);
    }

    kill 'KILL', $pid;
    waitpid($pid, 0);

    return $self;
}

# restart(keep => 1): on the same port; keep saves the data and loads it
# (not while paused: SAVE would wait).  After stop() or crash(), it starts
# it again; keep then loads what a SAVE before that kept.
sub restart {
    my ($self, %opts) = @_;
    my $dump = "$self->{dir}/dump.rdb";

    if ($opts{keep} && $self->{pid}) {
        $self->command('SAVE');
    }

    $self->stop();
    unlink $dump unless $opts{keep};
    $self->_start();

    return $self;
}

END {
    local $?;

    for my $r (@instances) {
        $r->stop() if $r->{owner} == $$;
    }
}

1;
