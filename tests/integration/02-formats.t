#!/usr/bin/perl

# Body formats: urlencoded, multipart and JSON (with dotted paths mapped by
# comment_moderation_fields).  An accepted comment reaches the backend byte
# for byte with the X-Comment-Moderation headers; the client cannot set
# those headers itself.

use strict;
use warnings;
use utf8;

use Test::More;
use Test::CM;

my $t = Test::CM->new()->plan(41);

$t->write_rules($JUDOL_RULE . <<'EOF');
rule judol-name
    words "agen judi"
    fields name
    action reject

rule banned-user
    regex "^troll42$"
    fields user
    action reject
EOF

$t->run(http_conf(<<'EOF'));
server {
    listen 127.0.0.1:%%PORT%%;
    comment_moderation_rules %%RULES%%;

    location /comments {
        comment_moderation on;
        comment_moderation_user $http_x_user_id;
        proxy_pass http://%%BACKEND%%;
    }

    location /json {
        comment_moderation on;
        comment_moderation_fields text=comment.body name=author.name;
        proxy_pass http://%%BACKEND%%;
    }

    location /custom {
        comment_moderation on;
        comment_moderation_fields text=message;
        proxy_pass http://%%BACKEND%%;
    }
}
EOF

my $ham = 'Mantap, beritanya jelas 👍 — terima kasih, Pak Wartawan! 100% setuju.';
my $spam = 'Slot gacor maxwin hari ini, daftar sekarang';

# forwards($uri, $body, @headers): the answer is the backend's, which got the
# very bytes the client sent
sub forwards {
    my ($uri, $body, $name, @headers) = @_;
    my $before = $t->backend_count();
    my $r = $t->http_post($uri, $body, @headers);
    my $req = $t->backend_last();

    subtest $name => sub {
        plan tests => 4;
        is($r->status, 200, 'answered by the backend');
        is($t->backend_count(), $before + 1, 'one request forwarded');
        ok($req && $req->body eq bytes($body), 'body forwarded byte for byte')
            or diag('got: ' . ($req ? $req->body : '(nothing)'));
        is($req && $req->header('X-Comment-Moderation'), 'accept',
            'marked accepted');
    };

    return $req;
}

# rejects($uri, $body, @headers): 403, and the backend never sees it
sub rejects {
    my ($uri, $body, $name, @headers) = @_;
    answers(403, $uri, $body, $name, @headers);
}

sub answers {
    my ($status, $uri, $body, $name, @headers) = @_;
    my $before = $t->backend_count();
    my $r = $t->http_post($uri, $body, @headers);

    subtest $name => sub {
        plan tests => 2;
        is($r->status, $status, "answered $status");
        is($t->backend_count(), $before, 'not forwarded');
    };
    return $r;
}

# --- application/x-www-form-urlencoded

my $req = forwards('/comments',
    form(article_id => 12, name => 'Siti', email => 'siti@example.id',
        comment => $ham),
    'urlencoded ham');

is($req->header('X-Comment-Moderation-Score'), '0', 'score header');
is(scalar(() = $req->header('X-Comment-Moderation')), 1,
    'the verdict header is sent once');
is($req->header('Content-Type'), 'application/x-www-form-urlencoded',
    'content type unchanged');

rejects('/comments', form(name => 'Agen', comment => $spam), 'urlencoded spam');
rejects('/comments', 'name=Agen&comment=%73lot+%67acor%20hari+ini',
    'urlencoded spam hidden in %-escapes');

# a form field the roles do not name is not judged as the comment
forwards('/comments', form(comment => $ham, promo => $spam),
    'spam in an unmapped field');

# --- multipart/form-data

my ($ct, $mp) = multipart(article_id => 12, name => 'Siti', comment => $ham);
$req = forwards('/comments', $mp, 'multipart ham', 'Content-Type' => $ct);
is($req && $req->header('Content-Type'), $ct, 'multipart boundary unchanged');

($ct, $mp) = multipart(name => 'Agen', comment => $spam);
rejects('/comments', $mp, 'multipart spam', 'Content-Type' => $ct);

($ct, $mp) = multipart(name => 'Agen',
    avatar => { filename => 'a.png', type => 'image/png',
        value => "\x89PNG\r\n\x1a\n\0\0\0\rIHDR" . "\xff" x 64 },
    comment => $spam);
rejects('/comments', $mp, 'multipart spam after a binary file part',
    'Content-Type' => $ct);

($ct, $mp) = multipart(comment => $ham,
    avatar => { filename => 'a.bin', value => "\0\xff\xfe binary" });
forwards('/comments', $mp, 'multipart ham with a binary file part',
    'Content-Type' => $ct);

# --- application/json, fields mapped by dotted paths

my $json = json_encode({ author => { name => 'Siti' },
    comment => { body => $ham }, article => 12 });
$req = forwards('/json', $json, 'JSON ham',
    'Content-Type' => 'application/json; charset=utf-8');

rejects('/json', json_encode({ comment => { body => $spam } }),
    'JSON spam at the mapped path', 'Content-Type' => 'application/json');

rejects('/json', '{"comment": {"body": "\u0073lot g\u0061cor hari ini"}}',
    'JSON spam hidden in \u escapes', 'Content-Type' => 'application/json');

forwards('/json', json_encode({ comment => { body => $ham },
        promo => { body => $spam } }),
    'JSON spam outside the mapped paths', 'Content-Type' => 'application/json');

my $r = $t->http_post('/json', json_encode({ comment => $ham }),
    'Content-Type' => 'application/json');
is($r->status, 400, 'JSON without the mapped path is invalid');

# --- comment_moderation_fields text=message

rejects('/custom', form(message => $spam), 'mapped field holds spam');
forwards('/custom', form(message => $ham, comment => $spam),
    'the default "comment" field is no longer the comment');

# --- repeated fields: the backend may take the last one (PHP does), while
# only one copy could be judged: a role's field sent twice is refused (400)

my $dup = answers(400, '/comments', 'comment=halo&comment=slot+gacor',
    'spam in the second of repeated form fields',
    'Accept' => 'application/json');
like($dup->body, qr/more than once/, 'the answer says why');

($ct, $mp) = multipart(comment => 'halo', comment => 'slot gacor');
answers(400, '/comments', $mp, 'spam in the second of repeated multipart parts',
    'Content-Type' => $ct);

answers(400, '/comments', '{"comment": "halo", "comment": "slot gacor"}',
    'spam in the second of repeated JSON keys',
    'Content-Type' => 'application/json');

# --- roles other than the text: name (mapped too), user

rejects('/comments', form(name => 'Agen Judi', comment => $ham),
    'a rule on the name field');
rejects('/json', json_encode({ author => { name => 'Agen Judi' },
        comment => { body => $ham } }),
    'a rule on the name field, mapped to a JSON path',
    'Content-Type' => 'application/json');
forwards('/json', json_encode({ name => 'Agen Judi',
        comment => { body => $ham } }),
    'the unmapped "name" is not the name', 'Content-Type' => 'application/json');

rejects('/comments', form(comment => $ham), 'comment_moderation_user: banned',
    'X-User-Id' => 'troll42');
forwards('/comments', form(comment => $ham), 'comment_moderation_user: other',
    'X-User-Id' => 'troll421');

# --- the verdict headers cannot be forged

$req = forwards('/comments', form(comment => $ham), 'ham with forged verdict',
    'X-Comment-Moderation' => 'reject',
    'X-Comment-Moderation-Score' => '-100',
    'X-Comment-Moderation-Rules' => 'forged-rule');

is(join('|', $req->header('X-Comment-Moderation')), 'accept',
    'forged verdict header overwritten');
is(join('|', $req->header('X-Comment-Moderation-Score')), '0',
    'forged score header overwritten');
unlike($req->head, qr/forged-rule/, 'forged rules header not forwarded');

$req = forwards('/comments', form(comment => $ham), 'ham with forged copies',
    'x-comment-moderation' => 'queue',
    'X-COMMENT-MODERATION' => 'reject');

ok(!grep({ $_ ne 'accept' } $req->header('X-Comment-Moderation')),
    'every forged copy overwritten, whatever its case')
    or diag($req->head);

rejects('/comments', form(comment => $spam),
    'spam claiming to be accepted', 'X-Comment-Moderation' => 'accept');

# --- content types are matched without regard to case and parameters

forwards('/comments', form(comment => $ham), 'Content-Type in capitals',
    'Content-Type' => 'Application/X-WWW-Form-Urlencoded; charset=UTF-8');

rejects('/comments', form(comment => $spam), 'spam with an odd Content-Type case',
    'Content-Type' => 'APPLICATION/X-WWW-FORM-URLENCODED');

($ct, $mp) = multipart(comment => $spam);
$ct =~ s/boundary=(\S+)/boundary="$1"/;
rejects('/comments', $mp, 'multipart spam with a quoted boundary',
    'Content-Type' => $ct);

# --- the same judgement whatever the format

for my $format (qw/ urlencoded multipart json /) {
    my ($type, $body) =
        $format eq 'urlencoded'
            ? ('application/x-www-form-urlencoded', form(comment => 'togel'))
        : $format eq 'multipart' ? multipart(comment => 'togel')
        : ('application/json', json_encode({ comment => 'togel' }));

    rejects('/comments', $body, "single word in $format",
        'Content-Type' => $type);
}
