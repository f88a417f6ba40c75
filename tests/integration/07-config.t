#!/usr/bin/perl

# "nginx -t" refuses what it must: a broken rule file (naming FILE:LINE), a
# regex that does not compile, a missing file, an unknown role in
# comment_moderation_fields, bad directive values, moderation without rules.
# The rule-file errors are checked with comment_moderation_rules at http level
# and at location level.

use strict;
use warnings;

use Test::More;
use Test::CM;

my $t = Test::CM->new()->plan(48);

# conf(http => '...', location => '...'): a configuration with these lines
sub conf {
    my (%at) = @_;
    my $http = $at{http} || '';
    my $location = $at{location} || '';

    return http_conf(<<"EOF");
$http

server {
    listen 127.0.0.1:%%PORT%%;

    location /comments {
        comment_moderation on;
        $location
        proxy_pass http://127.0.0.1:%%PORT_BACKEND%%;
    }
}
EOF
}

my $p = $t->prefix();

$t->write_file('good.rules', <<'EOF');
rule judol-vocab
    words "slot gacor", maxwin
    action reject
EOF

$t->write_file('broken.rules', qq{rule broken regex "(((" \n});

$t->write_file('syntax.rules', <<'EOF');
# a comment, then a good rule

rule fine words halo action accept
rule typo wordz halo
EOF

$t->write_file('badregex.rules', <<'EOF');
rule fine words halo score 1

rule unbalanced
    regex "[a-"
    score 3
EOF

$t->write_file('include.rules', <<'EOF');
threshold reject 10

# the next line includes a file that is not there
include missing.rules
EOF

$t->write_file('dup.rules', <<'EOF');
rule twice words halo score 1
rule twice words hai score 1
EOF

$t->write_file('action.rules', <<'EOF');
rule what
    words halo
    action explode
EOF

my @rule_errors = (
    [ 'broken.rules', qr/broken\.rules:1\b/, 'an unbalanced regex' ],
    [ 'syntax.rules', qr/syntax\.rules:4\b.*wordz/, 'an unknown key' ],
    [ 'badregex.rules', qr/badregex\.rules:4\b/, 'a bad regex on its line' ],
    [ 'include.rules', qr/include\.rules:4\b.*missing\.rules/,
        'an include of a missing file' ],
    [ 'dup.rules', qr/dup\.rules:2\b.*twice/, 'a rule name used twice' ],
    [ 'action.rules', qr/action\.rules:3\b.*explode/, 'an unknown action' ],
    [ 'nonexistent.rules', qr/nonexistent\.rules/, 'a missing rule file' ],
);

for my $place (qw/ http location /) {
    my ($rc, $out) = $t->nginx_t(conf($place => "comment_moderation_rules $p/good.rules;"));
    is($rc, 0, "good rules at $place level pass") or diag($out);

    for my $case (@rule_errors) {
        my ($file, $re, $what) = @$case;

        ($rc, $out) = $t->nginx_t(
            conf($place => "comment_moderation_rules $p/$file;"));

        isnt($rc, 0, "$place level: $what fails nginx -t");
        like($out, qr/\[emerg\].*$re/, "$place level: $what: FILE:LINE")
            or diag($out);
    }
}

my ($rc, $out) = $t->nginx_t(conf(location =>
    "comment_moderation_rules $p/good.rules;\n"
    . "comment_moderation_rules $p/good.rules;"));
isnt($rc, 0, 'comment_moderation_rules twice in a location fails');

# the folder form: every *.rules in it, in name order
mkdir "$p/folder";
$t->write_file('folder/a.rules', "rule a words halo score 1\n");
$t->write_file('folder/b.rules', "rule b words hai score 1\n");
$t->write_file('folder/notes.txt', "this is not a rule file\n");
($rc, $out) = $t->nginx_t(conf(http => "comment_moderation_rules $p/folder;"));
is($rc, 0, 'a folder of rule files passes') or diag($out);

$t->write_file('folder/c.rules', "rule a words hola score 1\n");
($rc, $out) = $t->nginx_t(conf(http => "comment_moderation_rules $p/folder;"));
like($out, qr/c\.rules:1\b/, 'a duplicate across files names the second file');

# directive values

my $rules = "comment_moderation_rules $p/good.rules;";

for my $case (
    [ 'comment_moderation_fields text=comment colour=red;', qr/colour/,
        'an unknown role' ],
    [ 'comment_moderation_fields text;', qr/text/, 'a role without a field' ],
    [ 'comment_moderation_fields text=;', qr/text=/, 'an empty field name' ],
    [ 'comment_moderation_on_invalid drop;', qr/drop/,
        'an unknown on_invalid policy' ],
    [ 'comment_moderation_reject_status 200;', qr/between 400 and 599/,
        'a reject status that is not an error' ],
    [ 'comment_moderation_reject_status 600;', qr/between 400 and 599/,
        'a reject status over 599' ],
    [ 'comment_moderation_lang fr;', qr/fr/, 'an unknown language' ],
    [ 'comment_moderation_message nope "x";', qr/nope/, 'an unknown message' ],
    [ 'comment_moderation_message reject "";', qr/message/, 'an empty message' ],
    [ 'comment_moderation_max_body lots;', qr/max_body/, 'a size that is not one' ],
    [ 'comment_moderation_redirect maybe;', qr/maybe/, 'a flag that is not one' ],
    [ 'comment_moderation_queue later;', qr/later/, 'an unknown queue mode' ],
) {
    my ($line, $re, $what) = @$case;

    ($rc, $out) = $t->nginx_t(conf(location => "$rules\n$line"));
    ok($rc != 0 && $out =~ /\[emerg\].*$re.*nginx-t\.conf:\d+/,
        "nginx -t fails on $what, naming the line") or diag($out);
}

($rc, $out) = $t->nginx_t(conf());
isnt($rc, 0, 'comment_moderation on without rules fails');
like($out, qr/comment_moderation_rules/, '... and says what is missing');

($rc, $out) = $t->nginx_t(conf(location => "$rules\n"
    . "comment_moderation_fields text=comment.body name=author.name "
    . "email=author.email url=author.url article=post.id;\n"
    . "comment_moderation_max_body 16k;\n"
    . "comment_moderation_on_invalid queue;\n"
    . "comment_moderation_reject_status 451;\n"
    . "comment_moderation_redirect on;\n"
    . "comment_moderation_lang en;\n"
    . 'comment_moderation_message reject "No.";' . "\n"
    . 'comment_moderation_message too_large "Too long.";' . "\n"
    . "comment_moderation_queue mark;\n"
    . 'comment_moderation_user $http_x_user_id;'));
is($rc, 0, 'every directive with a good value passes') or diag($out);
