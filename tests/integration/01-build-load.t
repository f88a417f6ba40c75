#!/usr/bin/perl

# The module loads into the installed nginx, "nginx -t" accepts the shipped
# rules, its variables exist, and a moderated location forwards an ordinary
# comment while other locations are left alone.  A reload (HUP) picks up
# changed rules; a reload with broken rules keeps the running ones.

use strict;
use warnings;
use utf8;

use Test::More;
use Test::CM;

my $t = Test::CM->new()->plan(15);

my $conf = http_conf(<<'EOF');
log_format cm '$request_method $uri d=$comment_moderation_decision '
              's=$comment_moderation_score r=$comment_moderation_rules';

server {
    listen 127.0.0.1:%%PORT%%;
    access_log %%PREFIX%%/cm.log cm;

    location /comments {
        comment_moderation on;
        comment_moderation_rules %%RULES%%;
        proxy_pass http://%%BACKEND%%;
    }

    location /plain {
        proxy_pass http://%%BACKEND%%;
    }

    location = /ping {
        return 200 "pong\n";
    }
}
EOF

my ($rc, $out) = $t->nginx_t($conf);
is($rc, 0, 'nginx -t passes with the shipped rules') or diag($out);
like($out, qr/syntax is ok/, 'nginx -t says the syntax is ok');

# the shipped rules must not depend on this file: a test rule set from now on
$t->write_rules($JUDOL_RULE);

$t->run($conf);

# the master listens before its worker is up
ok($t->wait_for_log(qr/start worker process/), 'nginx started with the module')
    or diag($t->error_log());
is($t->http_get('/ping')->status, 200, 'nginx serves');

my $body = form(name => 'Budi', email => 'budi@example.id', article_id => 7,
    comment => 'Terima kasih atas beritanya, sangat bermanfaat.');

my $r = $t->http_post('/comments', $body);
is($r->status, 200, 'an ordinary comment reaches the backend');

my $req = $t->backend_last();
is($req && $req->body, $body, 'the backend got the body unchanged');
is($req && $req->header('X-Comment-Moderation'), 'accept',
    'the backend is told the comment was accepted');

$r = $t->http_post('/comments', form(comment => 'slot gacor maxwin'));
is($r->status, 403, 'spam is rejected');

$r = $t->http_post('/plain', form(comment => 'slot gacor maxwin'));
is($r->status, 200, 'a location without comment_moderation is left alone');

ok($t->wait_for_log(qr{POST /comments d=reject s=\d+ r=judol-vocab}, 'cm.log'),
    'the variables show the decision in the access log');
ok($t->wait_for_log(qr{POST /plain d=- s=- r=-}, 'cm.log'),
    'the variables are empty where nothing was judged');

# --- reload with changed rules, then with broken ones

sub status_within {
    my ($status, $comment) = @_;

    # the new worker takes over while the old one finishes
    for (1 .. 300) {
        my $r = $t->http_post('/comments', form(comment => $comment));
        return 1 if $r->status == $status;
        select undef, undef, undef, 0.01;
    }

    return 0;
}

$t->write_rules(<<'EOF');
rule judol-vocab
    words "slot gacor", maxwin, togel, "kopi tubruk"
    action reject
EOF

$t->reload();
ok(status_within(403, 'pesan kopi tubruk'), 'reload: the new rules apply');
is($t->http_post('/comments', form(comment => 'slot gacor'))->status, 403,
    'reload: the old rules still apply too');

$t->allow_log(qr/\[emerg\].*test\.rules/);
$t->write_rules(qq{rule broken regex "(((" \n});
$t->reload();

ok($t->wait_for_log(qr/\[emerg\].*test\.rules:1/),
    'reload with a broken rule file: refused, naming FILE:LINE');
is($t->http_post('/comments', form(comment => 'pesan kopi tubruk'))->status,
    403, 'reload with a broken rule file: the running rules stay');
