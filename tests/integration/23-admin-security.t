#!/usr/bin/perl

# The admin surface's security review (docs/security-review.md), route by
# route and field by field.  Every route, action and editors' verb is read
# from the module's own tables in the C source, so a new one is covered
# here without a line of this file changing: without credentials 401, with
# a wrong password 401, the wrong method 405, a POST without the CSRF token,
# with another moderator's token, from another origin or from "null" 403,
# and with all of that right an answer below 500.
#
# Redis key injection: comments whose fields carry ':', '*', '{', CR/LF,
# NUL, '..', Lua and Redis syntax and 64 KiB values, hostile ids and filter
# values on the API: every key Redis holds afterwards is one of the module's
# shapes under its prefix (no field value in a key name), a key outside the
# prefix is left as it was, and every key a command touched (MONITOR) is
# under the prefix.
#
# Header injection into the released request: a held comment with CR/LF in
# its fields and %0D%0A in its URI, non-ASCII User-Agent and Referer, a
# moderator named "x\r\nX-Injected: 1" by a forged Authorization header (a
# location guarded by address only) and through the handoff list: the
# backend receives only the expected header lines, none injected.
#
# Oversized and deep bodies, to the comment endpoint (the JSON preset) and
# to the API: 10,000-deep JSON, 10 MB, huge numbers, duplicate keys: a 4xx,
# a log line, nginx keeps serving and logs no [alert].  A catastrophic
# editor's regex is cut by the match limit.  The page's CSP and the API's
# nosniff/no-store headers.

use strict;
use warnings;
use utf8;

use MIME::Base64 qw/ encode_base64 /;
use Test::More;
use Test::CM;
use Test::CM::Admin;
use Test::CM::Redis;

plan(skip_all => 'no redis-server') unless Test::CM::Redis->available;

# test names carry the hostile values' characters
binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw/ output failure_output todo_output /;

my $redis = Test::CM::Redis->start();
my $t = Test::CM->new();
my $m = Test::CM::Admin->new($t, $redis, budi => 'rahasia budi',
    ani => 'rahasia-ani');

###############################################################################
# the module's tables, from the source

my $src = $t->root() . '/ngx_module/ngx_http_comment_moderation_admin';

sub table {
    my ($file, $start, $item) = @_;
    my $c = do { local (@ARGV, $/) = ("$src$file.c"); <> };

    $c =~ /\Q$start\E(.*?)\n\s*\};/s or BAIL_OUT("no $start in $src$file.c");
    my $body = $1;

    my @all;
    push @all, [ $1, $2 ] while $body =~ /$item/g;

    return \@all;
}

# { ngx_string("session"), NGX_HTTP_CM_ADMIN_SESSION }
my $routes = table('', 'routes[] = {',
    qr/\{\s*ngx_string\("([^"]+)"\),\s*NGX_HTTP_CM_ADMIN_(\w+)\s*\}/);
# "approve", "approve-trust", ...
my $actions = table('_act', 'static const char  *actions[] = {',
    qr/"([^"]+)"()/);
# { ngx_string("source"), 0, handler }
my $verbs = table('_editor', 'ngx_http_comment_moderation_verbs[] = {',
    qr/\{\s*ngx_string\("([^"]+)"\),\s*(\d)\s*,/);

cmp_ok(scalar @$routes, '>=', 6, 'routes read from the source: '
    . join(' ', map { $_->[0] } @$routes));
cmp_ok(scalar @$actions, '>=', 4, 'actions read from the source: '
    . join(' ', map { $_->[0] } @$actions));
cmp_ok(scalar @$verbs, '>=', 8, 'editors\' verbs read from the source: '
    . join(' ', map { $_->[0] } @$verbs));

# the API's documentation names every one of them
my $doc = do { local (@ARGV, $/) = ($t->root() . '/docs/admin-api.md'); <> };
my @undocumented = grep { $doc !~ /L api\/(?:comments\/ID\/|rules\/)?\Q$_\E\b/ }
    map { $_->[0] } @$routes, @$actions, @$verbs;
is("@undocumented", '', 'docs/admin-api.md documents every route, action '
    . 'and verb');

###############################################################################

$t->write_rules(<<'EOF' . $JUDOL_RULE);
rule tautan
    words tautan
    action queue
EOF

my $conf = redis_hold_conf('comment_moderation_redis %%REDIS%% timeout=500ms',
    "set_real_ip_from 127.0.0.1;\nreal_ip_header X-Real-IP;\n",
    $m->locations("client_body_buffer_size 64k;\nclient_max_body_size 1m;\n")
    . <<'EOF');
# the JSON preset of examples/comment-moderation.conf
location = /api/comments {
    comment_moderation on;
    comment_moderation_rules %%RULES%%;
    comment_moderation_queue hold;
    comment_moderation_fields text=body name=author.name
        email=author.email url=author.url article=post_id;
    proxy_pass http://%%BACKEND%%;
}

# guarded by address only: $remote_user is whatever the client says
location /open/ {
    allow 127.0.0.1;
    deny all;
    comment_moderation_admin;
    comment_moderation_release_to /_release;
}
EOF
$conf =~ s/%%REDIS%%/$redis->address()/ge;

$t->run($conf);

ok($t->wait_for_log(qr/comment moderation: redis \S+ connected/),
    'the worker connected to Redis');

sub r { $redis->command(@_) }

# every key of the Redis server (SCAN, not KEYS: the way a big one is read)
sub all_keys {
    my ($cursor, %keys) = (0);

    do {
        my $reply = r('SCAN', $cursor, 'COUNT', 1000);
        $cursor = $reply->[0];
        $keys{$_} = 1 for @{ $reply->[1] };
    } while ($cursor ne '0');

    return \%keys;
}

# a key outside the module's prefix, which nothing of ours may touch
r('SET', 'other:keep', 'untouched');
r('HSET', 'cm', 'f', 'v');
r('SET', 'cmx:keep', 'untouched');

###############################################################################
# every route, action and verb: authorization, method, CSRF

my $pending = $m->hold('<sec-first>');

# [ path, method it wants ]
my @calls;
for (@$routes) {
    my ($name, $route) = @$_;
    push @calls, [ "api/$name", $route eq 'BULK' ? 'POST' : 'GET' ];
}
push @calls, [ "api/comments/$pending", 'GET' ];
push @calls, [ "api/comments/$pending/$_->[0]", 'POST' ] for @$actions;
push @calls, [ "api/rules/$_->[0]", $_->[1] ? 'POST' : 'GET' ] for @$verbs;
push @calls, [ '', 'GET' ], [ 'review.js', 'GET' ];

my $budi_token = $m->csrf('budi');
my $ani_token = $m->csrf('ani');
isnt($budi_token, $ani_token, 'each moderator has a token of their own');

# a body each POST call takes (it need not succeed: it must not crash)
my %body = (bulk => { action => 'reject', ids => [ $pending ] },
    'reject-block' => { block => 'author', hours => 1 },
    check => { files => { 'default.rules' => "rule a\n    words a\n" } },
    try => { files => { 'default.rules' => "rule a\n    words a\n" },
        text => 'a' },
    backtest => { files => { 'default.rules' => "rule a\n    words a\n" } },
    publish => { files => { 'default.rules' => "rule a\n    words a\n" } },
    rollback => { version => 999 });

sub body_of {
    my ($path) = @_;
    my ($last) = $path =~ m{([^/]+)$};

    return json_encode($body{$last} || {});
}

for my $call (@calls) {
    my ($path, $want) = @$call;
    my $uri = "/moderation/$path";
    my $other = $want eq 'GET' ? 'POST' : 'GET';
    my $body = $want eq 'POST' ? body_of($path) : undef;
    my @json = ('Content-Type' => 'application/json');
    my $r;

    $r = $t->http_method($want, $uri, $body, @json);
    is($r->status, 401, "$want $path without credentials: 401");

    $r = $t->http_method($want, $uri, $body, @json,
        $m->auth('budi', 'wrong'));
    is($r->status, 401, "$want $path with a wrong password: 401");

    # the name a client makes up: let in by address, but not with CR/LF
    $r = $t->http_method($want, "/open/$path", $body, @json,
        'Authorization' => 'Basic ' . encode_base64("x\r\nX-Injected: 1:p", ''));
    is($r->status, 401, "$want $path as a moderator named with CR/LF: 401");

    next if $path eq '' || $path eq 'review.js';

    for my $method ($other, 'PUT', 'DELETE') {
        $r = $t->http_method($method, $uri, $method eq 'GET' ? undef : $body,
            @json, $m->auth('budi'), 'X-CSRF-Token' => $budi_token);
        is($r->status, 405, "$method $path: 405");
    }

    if ($want eq 'GET') {
        $r = $t->http_method('GET', $uri, undef, $m->auth('budi'));
        cmp_ok($r->status, '<', 500, "GET $path: " . $r->status);
        unlike($r->status, qr/^40[135]$/, "GET $path: let in");
        next;
    }

    for my $case (
        [ 'without a token', 'X-CSRF-Token' => undef ],
        [ 'with a wrong token', 'X-CSRF-Token' => 'x' x length $budi_token ],
        [ 'with another moderator\'s token', 'X-CSRF-Token' => $ani_token ],
        [ 'from another origin', 'X-CSRF-Token' => $budi_token,
            'Origin' => 'http://evil.example' ],
        [ 'from a look-alike origin', 'X-CSRF-Token' => $budi_token,
            'Origin' => 'http://localhost.evil.example' ],
        [ 'from origin null', 'X-CSRF-Token' => $budi_token,
            'Origin' => 'null' ])
    {
        my ($what, @h) = @$case;

        # a header given as undef is left out
        $r = $t->http_method('POST', $uri, $body, @json, $m->auth('budi'), @h);
        is($r->status, 403, "POST $path $what: 403");
    }

    $r = $t->http_method('POST', $uri, $body, @json, $m->auth('budi'),
        'X-CSRF-Token' => $budi_token, 'Origin' => 'http://localhost');
    cmp_ok($r->status, '<', 500, "POST $path from the page: "
        . $r->status . ' ' . ($r->json->{error} // ''));
    unlike($r->status, qr/^40[135]$/, "POST $path from the page: let in");
}

ok($t->wait_for_log(qr/refused a "reject" action of moderator "budi" without/),
    'a refused action is logged with the moderator\'s name');
ok($t->wait_for_log(qr/refused a moderator name with control characters/),
    'a name with control characters is logged');

###############################################################################
# Redis key injection from field values, ids and filters

my $before = all_keys();
is_deeply([ grep { !/^cm:/ } sort keys %$before ], [ 'cm', 'cmx:keep',
    'other:keep' ], 'before: only our three foreign keys lie outside cm:');

my $mon = $redis->monitor();

my @HOSTILE = ("a:b", '*', '{tag}', "x\r\nFLUSHALL\r\n", "nul\0byte", '..',
    '../../etc', "]]..redis.call('FLUSHALL')..[[", "'); os.exit() --",
    '%s%d%n', '$1 \\x00', 'cm:q:pending', "\x{202E}evil", 'z' x 65536);

my $n = 0;
for my $v (@HOSTILE) {
    $n++;
    my $tag = "<keyinj$n>";
    my $r = $t->http_post('/comments', form(comment => "Baca tautan $v $tag",
        author => $v, email => $v, url => $v, article_id => $v),
        'Accept' => 'application/json', 'X-Real-IP' => '10.0.0.' . $n,
        'User-Agent' => $v =~ /[\r\n\0]/ ? 'ua' : $v);
    cmp_ok($r->status, '<', 500, "a comment with fields \"" . substr($v, 0, 20)
        . "\": " . $r->status);

    $r = $t->http_post('/api/comments', json_encode({ body => "tautan $tag",
        author => { name => $v, email => $v, url => $v }, post_id => $v }),
        'Content-Type' => 'application/json');
    cmp_ok($r->status, '<', 500, "a JSON comment with fields \""
        . substr($v, 0, 20) . "\": " . $r->status);

    for my $filter (qw/ article rule author ip q state order offset limit /) {
        (my $q = $v) =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord $1)/ge;
        $r = $m->get('budi', "api/comments?$filter=$q");
        cmp_ok($r->status, '<', 500, "filter $filter=\"" . substr($v, 0, 12)
            . '": ' . $r->status) if length $v < 100;
    }

    # 404; nginx itself refuses a NUL (400), resolves ".." (405: a file)
    (my $id = $v) =~ s/([^A-Za-z0-9])/sprintf('%%%02X', ord $1)/ge;
    next if length $id > 2000;
    like($m->get('budi', "api/comments/$id")->status, qr/^40[045]$/,
        "the id \"" . substr($v, 0, 20) . "\": not found");
    like($m->act('budi', "comments/$id/reject")->status, qr/^40[045]$/,
        "an action on the id \"" . substr($v, 0, 20) . "\": not found");
    is($m->act('budi', 'bulk', { action => 'reject', ids => [ $v ] })->status,
        400, "bulk with the id \"" . substr($v, 0, 20) . "\": 400");
}

# numbers past what Lua's doubles hold exactly, negative, or not numbers
for my $q ('offset=99999999999999999', 'offset=9223372036854775807',
    'offset=-5', 'limit=99999999999999999999', 'offset=1e9', 'limit=-1',
    'offset=0x10')
{
    for my $path ('api/comments', 'api/audit') {
        my $r = $m->get('budi', "$path?$q");
        cmp_ok($r->status, '<', 500, "$path?$q: " . $r->status);
    }
}
$m->get('budi', 'api/rules/diff?from=*&to=..%2F1');

# the shapes of the module's keys (README.md, "Redis keys")
my $SHAPE = qr/^cm:(?:
      c:[0-9a-f]+
    | q:(?:pending|rejected|approved|release-failed|releasing|accepted)
    | (?:rep|rej24|block|hist|rate):[a-z]:[0-9a-f]+(?::\d+)?
    | q:article:(?:[A-Za-z0-9._-]{0,64}|\#[0-9a-f]{32})
    | hits:\d+
    | audit | handoff | overturned
    | rules:(?:seq|active|versions|v:\d+|live)
    )$/x;

my $after = all_keys();
my @foreign = grep { !/^cm:/ } sort keys %$after;
is_deeply(\@foreign, [ 'cm', 'cmx:keep', 'other:keep' ],
    'after: no key outside cm: was created');
my @odd = grep { /^cm:/ && !/$SHAPE/ } sort keys %$after;
is(join(' | ', map { substr($_, 0, 60) } @odd), '',
    'after: every cm: key is one of the module\'s shapes');
is(r('GET', 'other:keep') . r('GET', 'cmx:keep') . r('HGET', 'cm', 'f'),
    'untoucheduntouchedv', 'the keys outside the prefix kept their values');

# what the scripts touched: the key of each command
my %multi = map { $_ => 1 } qw/ MGET DEL EXISTS UNLINK /;
my %nokey = map { $_ => 1 } qw/ EVALSHA EVAL SCRIPT PING INFO SELECT AUTH
    MONITOR CLIENT SCAN HELLO SUBSCRIBE PUBLISH TIME /;
my (@bad, $seen);
for my $c (@{ $redis->monitored($mon, 1) }) {
    my ($cmd, @args) = @{ $c->{args} };
    $cmd = uc $cmd;
    next if $nokey{$cmd} || $c->{client} ne 'lua';
    $seen++;
    for my $key ($multi{$cmd} ? @args : $args[0]) {
        push @bad, "$cmd $key" unless defined $key && $key =~ $SHAPE;
    }
}
cmp_ok($seen, '>', 50, "MONITOR saw the scripts' commands ($seen)");
is(join(' | ', map { substr($_, 0, 60) } @bad), '',
    'every key a script touched is one of the module\'s shapes');

###############################################################################
# header injection into the released request

# what the backend received of a comment (by the id nginx marks it with)
sub released {
    my ($id) = @_;

    return grep { ($_->header('X-Comment-Moderation-Id') // '') eq $id }
        $t->backend_requests();
}

my %EXPECTED = map { $_ => 1 } qw/ host connection content-length
    content-type user-agent referer x-comment-moderation
    x-comment-moderation-moderator x-comment-moderation-id
    x-comment-moderation-client-ip /;

# every line of the head: "Name: value", a name we send, no stray CR
sub head_problems {
    my ($req) = @_;
    my ($line, @lines) = split /\r\n/, $req->head;
    my @p;

    push @p, "request line: $line" unless $line =~ m{^POST /\S* HTTP/1\.[01]$};
    for (@lines) {
        push @p, "line: $_" unless /^([A-Za-z0-9-]+): [^\r\n]*$/
            && $EXPECTED{lc $1};
    }

    return join ' | ', @p;
}

my $crlf = $m->hold('<sec-crlf>', comment => "Baca tautan\r\nX-Injected: 1 <sec-crlf>",
    author => "Budi\r\nX-Injected: 2", email => "a\r\n\r\nGET / HTTP/1.1",
    uri => '/comments/%0D%0AX-Injected:%203?x=%0D%0AX-Injected:%204&y=1',
    headers => [ 'User-Agent' => "Mozilla \xC3\xA9\xE2\x80\xAE \x01",
        'Referer' => "http://localhost/art\xC3\xADculo" ]);

my $r = $m->act('budi', "comments/$crlf/approve");
is($r->status, 200, 'a comment with CR/LF in its fields and URI: approved');
my ($got) = released($crlf);
ok($got, 'the backend received it');
is(head_problems($got), '', 'no injected header line');
unlike($got->head, qr/^X-Injected/mi, 'no X-Injected line in the head');
is($got->uri, '/comments/%0D%0AX-Injected:%203?x=%0D%0AX-Injected:%204&y=1',
    'the URI, escaped as sent');
like($got->body, qr/X-Injected%3A\+1|X-Injected: 1/,
    'the body, byte for byte (CR/LF inside the body are the body\'s)');
is($got->header('User-Agent'), "Mozilla \xC3\xA9\xE2\x80\xAE \x01",
    'a non-ASCII User-Agent passes as sent');
is($got->header('X-Comment-Moderation-Moderator'), 'budi', 'the moderator');

# a moderator's made-up name with CR/LF (address-only location): refused
my $forged = $m->hold('<sec-forged>');
my $evil = 'Basic ' . encode_base64("x\r\nX-Injected: 5:p", '');
$r = $t->http_get('/open/api/session', 'Authorization' => $evil);
is($r->status, 401, 'a name with CR/LF gets no session');
$r = $t->http_post("/open/api/comments/$forged/approve", '',
    'Authorization' => $evil, 'X-CSRF-Token' => 'x');
is($r->status, 401, 'nor an approval');
is($m->state($forged), 'pending', 'the comment is still pending');

# a name with UTF-8 is a name
my $utf8 = 'Basic ' . encode_base64("S\xC3\xADti:p", '');
$r = $t->http_get('/open/api/session', 'Authorization' => $utf8);
is($r->status, 200, 'a name in UTF-8 is let in (address-only location)');
my $token = ($r->json || {})->{csrf} // '';
$r = $t->http_post("/open/api/comments/$forged/approve", '',
    'Authorization' => $utf8, 'X-CSRF-Token' => $token);
is($r->status, 200, 'and approves');
($got) = released($forged);
is($got && $got->header('X-Comment-Moderation-Moderator'), "S\xC3\xADti",
    'its name reaches the backend as it is');

# the handoff list: a name with CR/LF is not released
my $handed = $m->hold('<sec-handoff>');
r('RPUSH', 'cm:handoff', "approve $handed x\r\nX-Injected: 6");
ok($t->wait_for_log(qr/handoff of comment $handed ignored: the moderator's name/),
    'a handoff naming a moderator with CR/LF: ignored, logged');
is($m->state($handed), 'pending', 'that comment is still pending');
r('RPUSH', 'cm:handoff', "approve $handed Ani Handoff");
for (1 .. 50) { last if $m->state($handed) eq 'approved'; select(undef, undef, undef, 0.1) }
is($m->state($handed), 'approved', 'the next handoff approves it');
($got) = released($handed);
is($got && head_problems($got), '', 'with clean header lines');

# what Redis hands back is checked too (Redis is trusted, but a value that
# would be a header line of its own is not sent)
my $tampered = $m->hold('<sec-tampered>');
r('HSET', "cm:c:$tampered", 'user_agent', "ua\r\nX-Injected: 7",
    'method', "POST /x HTTP/1.1\r\nX-Injected: 8\r\n");
is($m->act('budi', "comments/$tampered/approve")->status, 200,
    'a comment whose User-Agent and method in Redis carry CR/LF: approved');
($got) = released($tampered);
is($got && head_problems($got), '', 'sent without those: clean lines');
is($got && $got->header('User-Agent'), undef, 'no User-Agent');
ok($t->wait_for_log(qr/goes without its "User-Agent" header: its value has CR/),
    'logged');

my $bad_uri = $m->hold('<sec-bad-uri>');
r('HSET', "cm:c:$bad_uri", 'uri', "/comments?x=1 HTTP/1.1\r\nX-Injected: 9");
$r = $m->act('budi', "comments/$bad_uri/approve");
is($m->state($bad_uri), 'release-failed',
    'a URI in Redis with CR/LF: not released (release-failed, to look at)');
is(scalar(released($bad_uri)), 0, 'nothing reached the backend');
ok($t->wait_for_log(qr/comment $bad_uri not released: its URI has CR/),
    'logged');

unlike(join("\n", map { $_->head } $t->backend_requests()), qr/^X-Injected/mi,
    'no request the backend received has an X-Injected line');

###############################################################################
# oversized, deep and odd bodies

my $deep = ('[' x 10000) . (']' x 10000);

$r = $t->http_post('/api/comments', '{"body":"halo","post_id":' . $deep . '}',
    'Content-Type' => 'application/json');
is($r->status, 400, 'a comment with 10,000-deep JSON: 400');
ok($t->wait_for_log(qr/too deep|nest/i), 'logged');

$r = $t->http_post('/api/comments', '{"body":"' . ('a' x (10 << 20)) . '"}',
    'Content-Type' => 'application/json');
is($r->status, 413, 'a 10 MB comment: 413');
ok($t->wait_for_log(qr/client intended to send too large body|too large/),
    'logged');

$r = $t->http_post('/api/comments', '{"body":"angka ' . ('9' x 5000)
    . '","post_id":1e999999,"n":-0.0e-99999,"x":' . ('9' x 5000) . '}',
    'Content-Type' => 'application/json');
cmp_ok($r->status, '<', 500, 'huge numbers in a comment: ' . $r->status);

$r = $t->http_post('/api/comments', '{"body":"halo","body":"slot gacor"}',
    'Content-Type' => 'application/json');
is($r->status, 400, 'a comment with its text twice: 400');
ok($t->wait_for_log(qr/a field was sent more than once/), 'logged');

$r = $t->http_post('/moderation/api/bulk', '{"action":"reject","ids":'
    . $deep . '}', 'Content-Type' => 'application/json', $m->auth('budi'),
    'X-CSRF-Token' => $budi_token);
is($r->status, 400, 'bulk with 10,000-deep JSON: 400');
ok($t->wait_for_log(qr/refused the arguments of moderator "budi": .*deep/i),
    'logged');

$r = $t->http_post('/moderation/api/rules/check', '{"files":{"default.rules":"'
    . ('a' x (10 << 20)) . '"}}', 'Content-Type' => 'application/json',
    $m->auth('budi'), 'X-CSRF-Token' => $budi_token);
is($r->status, 413, 'a 10 MB draft: 413 (client_max_body_size)');

$r = $t->http_post('/moderation/api/rules/check', '{"files":{"default.rules":"'
    . ('#' x (200 << 10)) . '"}}', 'Content-Type' => 'application/json',
    $m->auth('budi'), 'X-CSRF-Token' => $budi_token);
is($r->status, 413, 'a draft over client_body_buffer_size: 413');
ok($t->wait_for_log(qr/refused the arguments of moderator "budi": larger than/),
    'logged');

my $held = $m->hold('<sec-numbers>');
$r = $m->act('budi', "comments/$held/reject-block", { block => 'author',
    hours => '9' x 400 });
is($r->status, 400, 'reject-block for 10^400 hours: 400');
$r = $t->http_post("/moderation/api/comments/$held/reject-block",
    '{"block":"author","hours":1e999999}', 'Content-Type' => 'application/json',
    $m->auth('budi'), 'X-CSRF-Token' => $budi_token);
is($r->status, 400, 'reject-block for 1e999999 hours: 400');

$r = $t->http_post('/moderation/api/bulk',
    '{"action":"reject","action":"approve","ids":["' . $held . '"]}',
    'Content-Type' => 'application/json', $m->auth('budi'),
    'X-CSRF-Token' => $budi_token);
is($r->status, 400, 'bulk naming two actions: 400');
ok($t->wait_for_log(qr/"action" given twice/), 'logged');
is($m->state($held), 'pending', 'nothing was done');

$r = $t->http_post("/moderation/api/bulk", 'action=reject&ids=' . $held
    . '&ids=' . $held, $m->auth('budi'), 'X-CSRF-Token' => $budi_token);
is($r->status, 200, 'a form repeating "ids" is still a list');

# a catastrophic regex from an editor: the match limit cuts it
$r = $m->act('budi', 'rules/try', { files => { 'default.rules' =>
    "rule slow\n    regex \"(a+)+\\\$\"\n    action reject\n" },
    text => ('a' x 5000) . 'b' });
cmp_ok($r->status, '<', 500, 'a catastrophic regex tried on 5,000 a: '
    . $r->status);
cmp_ok($r->elapsed, '<', 10, 'answered (the match limit), not hung');

# a draft is files in memory: its includes never reach the disk
for my $line ('include /etc/passwd', 'include ../../../../../../etc/passwd',
    "rule p\n    words-file /etc/passwd\n    score 1")
{
    $r = $m->act('budi', 'rules/check', { files => { 'default.rules' =>
        "$line\n" } });
    my $answer = $r->json || {};
    is(($r->status) . ' ' . ($answer->{ok} ? 'ok' : 'refused'), '200 refused',
        "a draft with \"$line\": refused");
    unlike($r->body, qr/root:/, 'and nothing of /etc/passwd in the answer');
}

# a draft's file names are paths cm-rules export writes under a folder
for my $name ('../evil.rules', '/etc/evil.rules', 'lists/../../x.txt',
    'a//b.txt', "a\\b.txt", '.', "x\ny.txt")
{
    $r = $m->act('budi', 'rules/publish', { note => 'n', files => {
        'default.rules' => "rule a\n    words a\n    score 1\n",
        $name => "# x\n" } });
    like(($r->json || {})->{error} // '', qr/^unsafe file name/,
        "a draft with a file named \"$name\": refused");
}
is(($m->act('budi', 'rules/check', { files => {
    'default.rules' => "rule a\n    words-file lists/x.txt\n    score 1\n",
    'lists/x.txt' => "kata\n" } })->json || {})->{ok}, 1,
    'lists/x.txt is a name');
is(r('GET', 'cm:rules:active'), undef, 'nothing was published');

is($m->get('budi', 'api/counts')->status, 200, 'nginx still serves');

###############################################################################
# headers of our own answers

$r = $m->get('budi', '');
my $csp = $r->header('Content-Security-Policy') // '';
like($csp, qr/default-src 'none'/, 'the page: CSP default-src none');
like($csp, qr/script-src 'self'(?:;|$)/, 'the page: scripts from itself only');
unlike($csp, qr/unsafe-inline|unsafe-eval/, 'the page: no unsafe-*');
like($csp, qr/frame-ancestors 'none'/, 'the page: not framed');
$r = $m->get('budi', 'api/session');
is($r->header('X-Content-Type-Options'), 'nosniff', 'the API: nosniff');
is($r->header('Cache-Control'), 'no-store', 'the API: no-store');
like($r->header('Content-Type'), qr{^application/json}, 'the API: JSON');
is($r->header('Access-Control-Allow-Origin'), undef, 'the API: no CORS');

$t->stop();
$t->error_log_clean('error.log: no [alert], [crit] or crashed worker');

done_testing();
