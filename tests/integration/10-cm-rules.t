#!/usr/bin/perl

# scripts/cm-rules, the editors' command, against a real redis-server (no
# nginx): publish stores every file of the set as a new version, makes it
# active, writes the audit log and tells the workers (channel cm:rules); a
# broken set is refused with FILE:LINE and nothing is written; rollback, and
# rollback of an unknown version; versions, show, diff, export and publish
# again; --prefix and --db; Redis down (exit 2 and the address) and Redis
# with a password.

use strict;
use warnings;

use Cwd qw/ abs_path /;
use File::Basename qw/ dirname /;
use File::Path qw/ make_path /;
use File::Temp qw/ tempdir /;
use JSON::PP ();
use POSIX ();
use Test::More;
use Time::HiRes qw/ time /;

use Test::CM::Message qw/ slurp spew /;
use Test::CM::Redis;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;
plan(tests => 115);

my $ROOT = abs_path(dirname(__FILE__) . '/../..');
my $CM_RULES = "$ROOT/scripts/cm-rules";

# the python3 the script's "#!/usr/bin/env python3" finds, asked once: a
# version manager's shim in PATH can cost more per run than the run itself
chomp(my $PYTHON = `python3 -c 'import sys; print(sys.executable)'`);
$PYTHON ||= 'python3';
my $tmp = tempdir('cm-rules-XXXXXXXX', TMPDIR => 1, CLEANUP => 1);

my $redis = Test::CM::Redis->start(unix => 1);

# the environment of every run: only what a test gives
delete @ENV{qw/ CM_REDIS_PASSWORD CM_REDIS_PREFIX CM_REDIS_DB USER /};
$ENV{CM_REDIS} = $redis->address();
$ENV{CM_EDITOR} = 'tester';

# run_cmd(\%env, @cmd): runs it with these variables set; (exit status,
# stdout, stderr)
sub run_cmd {
    my ($env, @cmd) = @_;

    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$tmp/stdout";
        open STDERR, '>', "$tmp/stderr";
        @ENV{keys %$env} = values %$env;
        exec(@cmd) or POSIX::_exit(127);
    }

    waitpid($pid, 0);

    return ($? >> 8, slurp("$tmp/stdout"), slurp("$tmp/stderr"));
}

# cm_rules([{ENV => value},] @args)
sub cm_rules {
    my (@args) = @_;
    my $env = ref $args[0] eq 'HASH' ? shift @args : {};

    return run_cmd($env, $PYTHON, $CM_RULES, @args);
}

# run_python($code, @args): with scripts/ in the module path
sub run_python {
    my ($code, @args) = @_;

    return run_cmd({ PYTHONPATH => "$ROOT/scripts" }, $PYTHON, '-c', $code, @args);
}

# write_set($dir, name => text, ...): a rule set on disk
sub write_set {
    my ($dir, %files) = @_;

    for my $name (keys %files) {
        (my $d = "$dir/$name") =~ s{/[^/]+$}{};
        make_path($d);
        spew("$dir/$name", $files{$name});
    }

    return $dir;
}

sub r { $redis->command(@_) }

sub audit {
    return [ map { JSON::PP::decode_json($_) }
        @{ r('LRANGE', 'cm:audit', 0, -1) } ];
}

# what Redis holds of the rule sets, to see that a refused command wrote
# nothing
sub state_of {
    my ($r) = @_;

    return join '|', map { defined $_ ? $_ : '-' }
        $r->command('GET', 'cm:rules:seq'), $r->command('GET', 'cm:rules:active'),
        $r->command('LLEN', 'cm:audit'), $r->command('DBSIZE');
}

###############################################################################
# a set with a words-file, a file in UTF-8 with CRLF lines, a dotfile and a
# binary file (neither published)

my $default = "# the entry\r\nthreshold queue 5\r\nthreshold reject 10\r\n"
    . "include judol.rules\r\n";
my $judol = <<"EOF";
# judi online: "slot gacor" \xe2\x80\x94 the site names are in a list
rule judol-vocab
    words "slot gacor", maxwin
    score 10
    note  "Gambling vocabulary."

rule judol-site
    words-file lists/sites.txt
    score 12
EOF
my $sites = "pulauwin\nhoki jitu\n";

my $set = write_set("$tmp/set",
    'default.rules' => $default,
    'judol.rules' => $judol,
    'lists/sites.txt' => $sites,
    '.notes' => "editor's scratch\n",
    'logo.png' => "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\xff\xfe");

my ($rc, $out, $err) = cm_rules('check', "$set/default.rules");
is($rc, 0, 'check: a good set passes');
like($out, qr{^ok: \Q$set\E/default.rules \(2 rules, entry default.rules, 3 files\)$},
    'check: says ok with the number of rules');
like($err, qr/left out.*logo\.png/, 'check: the binary file is left out, with a note');

($rc, $out, $err) = cm_rules('versions');
is("$rc|$out", '0|', 'versions: nothing yet, nothing listed');

# a subscriber stands in for the workers
my $sub = $redis->subscribe('cm:rules');

($rc, $out, $err) = cm_rules('publish', "$set/default.rules",
    '--note', 'first set', '--author', 'alice');
is($rc, 0, 'publish: exit 0') or diag($err);
is($out, "published version 1\n", 'publish: prints the version');
is_deeply($redis->next_message($sub, 5), [ 'cm:rules', '1' ],
    'publish: announced on cm:rules');

is(r('GET', 'cm:rules:active'), '1', 'publish: version 1 active');
is(r('GET', 'cm:rules:seq'), '1', 'publish: counter at 1');
is_deeply(r('ZRANGE', 'cm:rules:versions', 0, -1, 'WITHSCORES'), [ 1, 1 ],
    'publish: version listed in the zset');

my %v1 = @{ r('HGETALL', 'cm:rules:v:1') };
is($v1{'@entry'}, 'default.rules', 'publish: @entry');
is($v1{'@author'}, 'alice', 'publish: @author');
is($v1{'@note'}, 'first set', 'publish: @note');
ok(abs($v1{'@time'} - time()) < 60, 'publish: @time is now');
is($v1{'@files'}, 3, 'publish: @files');
is($v1{'file:default.rules'}, $default, 'publish: the entry, byte for byte (CRLF)');
is($v1{'file:judol.rules'}, $judol, 'publish: an included file, byte for byte (UTF-8)');
is($v1{'file:lists/sites.txt'}, $sites, 'publish: a words-file in a subfolder');
is_deeply([ sort grep { /^file:/ } keys %v1 ],
    [ 'file:default.rules', 'file:judol.rules', 'file:lists/sites.txt' ],
    'publish: no dotfile, no binary file');

my $audit = audit();
is(scalar @$audit, 1, 'publish: one audit record');
is_deeply({ %{$audit->[0]}, time => 0 },
    { time => 0, who => 'alice', action => 'publish', version => 1,
      from => undef, note => 'first set' },
    'publish: the audit record');
ok(abs($audit->[0]{time} - time()) < 60, 'publish: audit time is now');

###############################################################################
# a second version, published as a folder, the author from $CM_EDITOR

my $judol2 = $judol =~ s/maxwin/maxwin, togel/r;
spew("$set/judol.rules", $judol2);

($rc, $out, $err) = cm_rules('publish', $set, '--note', "adds togel\nsecond line");
is("$rc|$out", "0|published version 2\n", 'publish a folder: version 2');
is(r('HGET', 'cm:rules:v:2', '@entry'), 'default.rules',
    'publish a folder: its default.rules is the entry');
is(r('HGET', 'cm:rules:v:2', '@author'), 'tester', 'publish: author from $CM_EDITOR');
is($redis->next_message($sub, 5)->[1], '2', 'publish: version 2 announced');

($rc, $out) = cm_rules('versions');
my @lines = split /\n/, $out;
is(scalar @lines, 2, 'versions: one line each');
like($lines[0], qr/^\s*2  \d{4}-\d\d-\d\d \d\d:\d\d  tester  \* active  adds togel second line$/,
    'versions: newest first, marked active, the note on one line');
like($lines[1], qr/^\s*1  \d{4}-\d\d-\d\d \d\d:\d\d  alice\s+first set$/,
    'versions: the older one, not active');
my ($prev) = $lines[1] =~ /^ *v?([0-9]+)/;
is($prev, 1, 'versions: the number starts the line (as the acceptance check reads it)');

($rc, $out) = cm_rules('versions', '--limit', 1);
is($out =~ tr/\n//, 1, 'versions --limit 1: one line');

###############################################################################
# broken sets are refused before anything is written

my $before = state_of($redis);

my $broken = write_set("$tmp/broken",
    'default.rules' => "include judol.rules\n",
    'judol.rules' => "rule judol-vocab\n    words maxwin\n    scor 10\n");

($rc, $out, $err) = cm_rules('publish', "$broken/default.rules", '--note', 'typo');
is($rc, 1, 'broken set: publish exits 1');
like($err, qr{\Q$broken\E/judol.rules:3: unknown key "scor"}, 'broken set: FILE:LINE: reason');
is($out, '', 'broken set: nothing published');
is(state_of($redis), $before, 'broken set: nothing written to Redis');

($rc, undef, $err) = cm_rules('check', $broken);
is($rc, 1, 'broken set: check exits 1');
like($err, qr{\Q$broken\E/judol.rules:3:}, 'broken set: check names FILE:LINE');

# fine on disk, but it reads a file outside its folder: the workers would
# not have it
write_set("$tmp/outside", 'shared.rules' => "rule x words halo score 1\n",
    'set/default.rules' => "include ../shared.rules\n");

($rc, $out, $err) = cm_rules('publish', "$tmp/outside/set", '--note', 'outside');
is($rc, 1, 'a file outside the set: refused');
like($err, qr{default.rules:1: cannot include .*shared.rules.*\n.*not published with them},
    'a file outside the set: says why');
is(state_of($redis), $before, 'a file outside the set: nothing written');

# a regex that parses but does not compile (the compiler runs too)
write_set("$tmp/regex", 'default.rules' => qq{rule r regex "[a-" score 1\n});
($rc, undef, $err) = cm_rules('publish', "$tmp/regex", '--note', 'regex');
like("$rc $err", qr{^1 .*default.rules:1:}s, 'a bad regex: refused with FILE:LINE');

# more than 2 MB
write_set("$tmp/big", 'default.rules' => "rule x words halo score 1\n",
    'lists/huge.txt' => ("kata\n" x 450000));
($rc, undef, $err) = cm_rules('publish', "$tmp/big", '--note', 'big');
like("$rc $err", qr/^1 .*more than the 2097152 bytes/s, 'more than 2 MB: refused');
is(state_of($redis), $before, 'refused sets: still nothing written');

###############################################################################
# rollback

($rc, $out, $err) = cm_rules('rollback', 1, '--note', 'togel is a film title too');
is("$rc|$out", "0|active version: 1\n", 'rollback: exit 0, prints the version');
is(r('GET', 'cm:rules:active'), '1', 'rollback: version 1 active');
is($redis->next_message($sub, 5)->[1], '1', 'rollback: announced');
is(r('GET', 'cm:rules:seq'), '2', 'rollback: no new version');

$audit = audit();
is(scalar @$audit, 3, 'rollback: audit record added');
is_deeply({ %{$audit->[0]}, time => 0 },
    { time => 0, who => 'tester', action => 'rollback', version => 1, from => 2,
      note => 'togel is a film title too' },
    'rollback: the audit record, newest first');
is($audit->[1]{action} . $audit->[1]{version} . $audit->[1]{from}, 'publish21',
    'rollback: the publish record follows');

($rc, $out) = cm_rules('versions');
like($out, qr/^\s*2 .*tester\s+adds togel.*\n\s*1 .*alice\s+\* active  first set$/,
    'versions: the rolled back version is the active one');

$before = state_of($redis);
($rc, $out, $err) = cm_rules('rollback', 7);
is($rc, 1, 'rollback of an unknown version: exit 1');
like($err, qr/version 7 is not stored.*nothing changed/, 'rollback of an unknown version: says so');
is(state_of($redis), $before, 'rollback of an unknown version: nothing changed');
is($redis->next_message($sub, 0.3), undef, 'rollback of an unknown version: nothing announced');

($rc, undef, $err) = cm_rules('rollback', 'latest');
like("$rc $err", qr/^1 .*not a version number/s, 'rollback of a word: refused');

($rc, $out) = cm_rules('rollback', 'v2');
is("$rc|$out", "0|active version: 2\n", 'rollback v2: the v is accepted');

###############################################################################
# show, diff

($rc, $out) = cm_rules('show');
like($out, qr/^version 2 \(active\)  \S+ \S+  tester\nnote: adds togel\nsecond line\n/,
    'show: the active version by default');
like($out, qr/\n==> judol.rules <==\n\Q$judol2\E/, 'show: its files');

($rc, $out) = cm_rules('show', 1, '--file', 'lists/sites.txt');
is("$rc|$out", "0|$sites", 'show --file: one file, as it is');

($rc, $out, $err) = cm_rules('show', 1, '--file', 'nope.txt');
like("$rc $err", qr/^1 .*no file 'nope.txt'/s, 'show --file: an unknown file');

($rc, $out) = cm_rules('diff', 1, 2);
is($rc, 0, 'diff: exit 0');
like($out, qr{^--- v1/judol.rules\n\+\+\+ v2/judol.rules\n\@\@ .* \@\@\n},
    'diff: a unified diff of the changed file');
like($out, qr{^-    words "slot gacor", maxwin\n\+    words "slot gacor", maxwin, togel$}m,
    'diff: the changed line');
unlike($out, qr/default.rules|sites.txt/, 'diff: unchanged files are not shown');

($rc, $out, $err) = cm_rules('diff', 2, 2);
is("$rc|$out", '0|', 'diff of a version with itself: empty');

($rc, $out) = cm_rules('diff', 'active', $set);
is("$rc|$out", '0|', 'diff against the folder it came from: empty');

###############################################################################
# export and publish again

my $ed = "$tmp/edit";
($rc, $out, $err) = cm_rules('export', 2, $ed);
is($rc, 0, 'export: exit 0') or diag($err);
like($out, qr{publish \Q$ed\E/default.rules}, 'export: says what to publish');
is(slurp("$ed/default.rules"), $default, 'export: the entry, byte for byte');
is(slurp("$ed/judol.rules"), $judol2, 'export: an included file');
is(slurp("$ed/lists/sites.txt"), $sites, 'export: the words-file');
ok(!-e "$ed/.notes" && !-e "$ed/logo.png", 'export: only what was published');

($rc, undef, $err) = cm_rules('export', 2, $ed);
like("$rc $err", qr/^1 .*not empty/s, 'export into a folder with files: refused');

($rc, $out) = cm_rules('publish', "$ed/default.rules", '--note', 'round trip');
is("$rc|$out", "0|published version 3\n", 'export, publish again: version 3');
($rc, $out) = cm_rules('diff', 2, 3);
is("$rc|$out", '0|', 'export, publish again: the same files');

# a folder without default.rules: all its *.rules, entry "."
my $plain = write_set("$tmp/plain", 'a.rules' => "rule a words halo score 1\n",
    'b.rules' => "rule b words hai score 1\n");
($rc, $out) = cm_rules('publish', $plain, '--note', 'plain folder');
is("$rc|$out", "0|published version 4\n", 'a folder of *.rules: published');
is(r('HGET', 'cm:rules:v:4', '@entry'), '.', 'a folder of *.rules: entry "."');

($rc, $out) = cm_rules('export', 4, "$tmp/plain2");
like($out, qr{publish \Q$tmp\E/plain2 }, 'export of entry ".": publish the folder again');
($rc, $out) = cm_rules('publish', "$tmp/plain2", '--note', 'again');
is("$rc|$out", "0|published version 5\n", 'export of entry ".": published again');
is(r('HGET', 'cm:rules:v:5', '@entry'), '.', 'export of entry ".": entry still "."');

# a version whose file names would escape the folder is not written
r('HSET', 'cm:rules:v:99', '@entry', 'x.rules', 'file:../x.rules', 'evil');
($rc, undef, $err) = cm_rules('export', 99, "$tmp/evil/in");
like("$rc $err", qr/^1 .*unsafe file name/s, 'export: a file name with .. is refused');
ok(!-e "$tmp/evil/x.rules", 'export: nothing written outside the folder');
r('DEL', 'cm:rules:v:99');

###############################################################################
# --prefix, --db

($rc, $out) = cm_rules('publish', $set, '--note', 'staging', '--prefix', 'stage:',
    '--db', 2);
is("$rc|$out", "0|published version 1\n", '--prefix --db: own counter');
is($redis->command('GET', 'cm:rules:active'), '5', '--prefix --db: cm: untouched');
is($redis->redis_cli('-n', 2, 'GET', 'stage:rules:active'), '1',
    '--prefix --db: stage:rules:active in db 2');
($rc, $out) = cm_rules({ CM_REDIS_PREFIX => 'stage:', CM_REDIS_DB => 2 }, 'versions');
like($out, qr/^\s*1 .*\* active  staging\n\z/, '$CM_REDIS_PREFIX, $CM_REDIS_DB');
($rc, $out) = cm_rules('--prefix', 'stage:', 'versions');
is($out, '', '--prefix before the command; db 0 has no stage: versions');

($rc, $out) = cm_rules('--redis', 'unix:' . $redis->unix_socket(), 'versions',
    '--limit', 1);
like("$rc|$out", qr/^0\|\s*5 /, '--redis unix:/path');

is($redis->command_calls('eval'), 2,
    'each script sent once (publish, rollback), then run by its SHA1');

# promote: a shadow rule in an included file decides, nothing else changes

my $shadowed = write_set("$tmp/shadowed",
    'default.rules' => "include coba.rules\n\nrule tautan words tautan score 3\n",
    'coba.rules' => "rule coba\n    words cobacoba\n    shadow   # first\n"
        . "    action reject\n\nrule lain words lain shadow score 1\n");
($rc, $out, $err) = cm_rules('publish', $shadowed, '--note', 'with a shadow');
my ($promoted_from) = $out =~ /version (\d+)/;
ok($promoted_from, 'promote: the set with a shadow published') or diag($err);

($rc, $out, $err) = cm_rules('promote', 'coba');
is("$rc|$out", "0|promoted coba: published version " . ($promoted_from + 1) . "\n",
    'promote: a new version') or diag($err);
is(r('HGET', 'cm:rules:v:' . ($promoted_from + 1), 'file:coba.rules'),
    "rule coba\n    words cobacoba\n    # first\n    action reject\n\n"
    . "rule lain words lain shadow score 1\n",
    'promote: only that rule\'s shadow is gone');
is(r('HGET', 'cm:rules:v:' . ($promoted_from + 1), 'file:default.rules'),
    "include coba.rules\n\nrule tautan words tautan score 3\n",
    'promote: the other file as it was');
is(r('HGET', 'cm:rules:v:' . ($promoted_from + 1), '@note'), 'promoted coba from shadow',
    'promote: the default note');

my $was = state_of($redis);
($rc, $out, $err) = cm_rules('promote', 'coba');
is("$rc|$err", "1|cm-rules: cannot promote: rule coba is not a shadow; nothing "
    . "changed\n", 'promote: not a shadow any more, exit 1');
($rc, $out, $err) = cm_rules('promote', 'tidak-ada');
is("$rc|" . state_of($redis), "1|$was", 'promote: an unknown rule changes nothing');

# the audit log keeps the newest 10000 records
r('EVAL', "for i = 1, 10005 do redis.call('RPUSH', KEYS[1], 'old') end", 1,
    'trim:audit');
($rc, $out) = cm_rules('--prefix', 'trim:', 'publish', $plain, '--note', 'trim');
is(r('LLEN', 'trim:audit'), 10000, 'audit: trimmed to 10000 records');
like(r('LINDEX', 'trim:audit', 0), qr/"note":"trim"/, 'audit: the newest first');

###############################################################################
# Redis down

my $down = Test::CM::Redis::free_port();
($rc, $out, $err) = cm_rules('--redis', "127.0.0.1:$down", 'versions');
is($rc, 2, 'Redis down: exit 2');
like($err, qr/^cm-rules: cannot reach Redis at 127.0.0.1:$down: Connection refused$/,
    'Redis down: the message names the address');

($rc, $out, $err) = cm_rules({ CM_REDIS => "127.0.0.1:$down" }, 'publish', $set,
    '--note', 'down');
like("$rc $err", qr/^2 .*cannot reach Redis at 127.0.0.1:$down/s,
    'Redis down: publish exits 2, address from $CM_REDIS');

($rc, $out, $err) = cm_rules('--redis', "unix:$tmp/none.sock", 'rollback', 1);
like("$rc $err", qr{^2 .*cannot reach Redis at unix:\Q$tmp\E/none.sock}s, 'Redis down: unix socket');

###############################################################################
# Redis with a password

my $locked = Test::CM::Redis->start(password => 'pa ss');
$ENV{CM_REDIS} = $locked->address();

($rc, $out, $err) = cm_rules('versions');
is($rc, 2, 'no password: exit 2');
like($err, qr/needs a password/, 'no password: says so');

($rc, $out, $err) = cm_rules('--password', 'wrong', 'versions');
like("$rc $err", qr/^2 .*refused the password/s, 'wrong password: exit 2, says so');

($rc, $out, $err) = cm_rules({ CM_REDIS_PASSWORD => 'pa ss' }, 'publish', $set,
    '--note', 'with auth');
is("$rc|$out", "0|published version 1\n", 'password from $CM_REDIS_PASSWORD: published')
    or diag($err);
is($locked->command('HGET', 'cm:rules:v:1', '@note'), 'with auth', 'with auth: stored');

spew("$tmp/pw", "pa ss\n");
($rc, $out) = cm_rules('versions', '--password-file', "$tmp/pw");
like("$rc|$out", qr/^0\|\s*1 .*\* active  with auth$/, 'password from --password-file');

($rc, $out) = cm_rules({ CM_REDIS_PASSWORD => 'wrong' }, 'rollback', 1,
    '--password', 'pa ss');
is("$rc|$out", "0|active version: 1\n", '--password before $CM_REDIS_PASSWORD');

###############################################################################
# the client library itself (scripts/cmlib/redis_client.py), which the other
# tools use too

($rc, $out, $err) = run_python(<<'EOF', $redis->address(), $redis->unix_socket());
import json, sys
from cmlib.redis_client import Redis, ReplyError, parse_address
addr, sock = sys.argv[1], sys.argv[2]
out = {}
r = Redis(addr, decode=True)
out["set"] = r.command("SET", "k", "v")
out["get"] = r.command("GET", "k")
out["nil"] = r.command("GET", "no-such-key")
out["pipeline"] = r.pipeline([("DEL", "n"), ("INCR", "n"), ("INCRBY", "n", 41),
                              ("GET", "n")])
big = "x" * 1000000 + "\u00e9"
r.command("SET", "big", big)
out["big"] = r.command("GET", "big") == big
raw = bytes(range(256))
r.command("SET", "bin", raw)
out["binary"] = Redis(addr).command("GET", "bin") == raw
try:
    r.command("HGET", "k", "f")
except ReplyError as e:
    out["error"] = e.code
out["exec"] = [x.code if isinstance(x, ReplyError) else x for x in
               r.pipeline([("MULTI",), ("SET", "a", "1"), ("INCR", "k"),
                           ("EXEC",)])[-1]]
out["after"] = r.command("PING")
out["eval"] = r.eval_script("return {1, ARGV[1], {KEYS[1]}, false}", ["k1"], ["a"])
out["db"] = Redis("unix:" + sock, db=3, decode=True).pipeline(
    [("SET", "d", "3"), ("GET", "d")])[1]
out["addrs"] = [list(parse_address(a)) for a in
                ["h:1", "h", "[::1]:7", "unix:/s"]]
bad = []
for a in ["h:0", "h:x", "[::1", "unix:", "[::1]7"]:
    try:
        parse_address(a)
    except ValueError:
        bad.append(a)
out["bad"] = bad
print(json.dumps(out))
EOF
my $c = eval { JSON::PP::decode_json($out) } || {};
is_deeply($c, {
    set => 'OK', get => 'v', nil => undef, pipeline => [ 0, 1, 42, '42' ],
    big => JSON::PP::true, binary => JSON::PP::true, error => 'WRONGTYPE',
    exec => [ 'OK', 'ERR' ], after => 'PONG', eval => [ 1, 'a', [ 'k1' ], undef ],
    db => '3',
    addrs => [ [ 'tcp', 'h', 1 ], [ 'tcp', 'h', 6379 ], [ 'tcp', '::1', 7 ],
               [ 'unix', '/s' ] ],
    bad => [ 'h:0', 'h:x', '[::1', 'unix:', '[::1]7' ],
}, 'client: replies, pipelines, errors, EXEC, scripts, big and binary values, '
    . 'unix socket, db, addresses') or diag($err);
is($redis->redis_cli('-n', 3, 'GET', 'd'), '3', 'client: SELECT took effect');

# a Redis that stops answering: the timeout holds
$redis->pause();
my $t0 = time();
($rc, $out, $err) = run_python(<<'EOF', $redis->address());
import sys
from cmlib.redis_client import Redis, RedisConnectionError
try:
    Redis(sys.argv[1], timeout=0.5).command("PING")
except RedisConnectionError as e:
    print(e)
EOF
my $took = time() - $t0;
$redis->resume();
like($out, qr/^lost the connection to Redis at 127.0.0.1:\d+: timed out after 0.5 s$/,
    'client: a paused Redis times out');
ok($took < 5, 'client: within the timeout');
is($redis->command('PING'), 'PONG', 'resumed');

$locked->stop();
$redis->stop();
