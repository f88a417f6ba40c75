#!/usr/bin/perl

# The field-mapping presets of the example site configuration
# (examples/comment-moderation.conf, shipped in the Debian package): their
# comment_moderation_fields lines, read from the file, put each field of a
# WordPress comment form and of the JSON API's documents in its role, where
# a rule on that role finds it.  Without the preset, WordPress's "author" is
# not the name.

use strict;
use warnings;
use utf8;

use Test::More;
use Test::CM;
use Test::CM::Message qw/ slurp /;

my $t = Test::CM->new()->plan(16);

my $example = slurp($t->root() . '/examples/comment-moderation.conf');

# the comment_moderation_fields directive under the "preset: TITLE" heading
sub preset_fields {
    my ($title) = @_;

    $example =~ /preset: \Q$title\E -.*?^\s*(comment_moderation_fields\s[^;]*;)/ms
        or BAIL_OUT("no comment_moderation_fields under \"preset: $title\"");
    (my $directive = $1) =~ s/\s+/ /g;
    return $directive;
}

my $wordpress = preset_fields('WordPress');
my $json_api = preset_fields('a JSON API');

$t->write_rules($JUDOL_RULE . <<'EOF');
rule name-agen
    words "agen judi"
    fields name
    action reject

rule email-judi
    regex "judi88"
    fields email
    action reject

rule url-judi
    regex "judi88"
    fields url
    action reject

rule article-closed
    regex "^777$"
    fields article
    action reject
EOF

$t->run(http_conf(<<"EOF"));
server {
    listen 127.0.0.1:%%PORT%%;
    comment_moderation_rules %%RULES%%;

    location = /wp-comments-post.php {
        comment_moderation on;
        $wordpress
        proxy_pass http://%%BACKEND%%;
    }

    location = /api/comments {
        comment_moderation on;
        $json_api
        proxy_pass http://%%BACKEND%%;
    }

    # the same WordPress form where no preset maps it
    location = /unmapped/wp-comments-post.php {
        comment_moderation on;
        proxy_pass http://%%BACKEND%%;
    }
}
EOF

my $ham = 'Terima kasih, beritanya jelas sekali.';
my $spam = 'Slot gacor maxwin hari ini, daftar sekarang';

# posts($uri, $body, $status, $name, @headers): the answer's status; 200 is
# the backend's, with the very bytes sent; otherwise the backend saw nothing
sub posts {
    my ($uri, $body, $status, $name, @headers) = @_;
    my $before = $t->backend_count();
    my $r = $t->http_post($uri, $body, @headers);

    subtest $name => sub {
        plan tests => 2;
        is($r->status, $status, "answered $status");
        if ($status == 200) {
            my $req = $t->backend_last();
            ok($req && $req->body eq bytes($body), 'forwarded byte for byte');
        } else {
            is($t->backend_count(), $before, 'not forwarded');
        }
    };
}

# --- WordPress: wp-comments-post.php, a urlencoded form ---------------------

sub wp_form {
    my (%f) = @_;
    my %d = (comment => $ham, author => 'Siti', email => 'siti@example.id',
        url => '', comment_post_ID => 12, comment_parent => 0, %f);
    return form(map { $_ => $d{$_} }
        qw/comment author email url comment_post_ID comment_parent/);
}

my $wp = '/wp-comments-post.php';
posts($wp, wp_form(), 200, 'WordPress: a plain comment goes to WordPress');
posts($wp, wp_form(comment => $spam), 403, 'WordPress: comment is the text');
posts($wp, wp_form(author => 'Agen Judi'), 403, 'WordPress: author is the name');
posts($wp, wp_form(email => 'promo@judi88.com'), 403,
    'WordPress: email is the email');
posts($wp, wp_form(url => 'https://judi88.com/'), 403, 'WordPress: url is the url');
posts($wp, wp_form(comment_post_ID => 777), 403,
    'WordPress: comment_post_ID is the article');
posts($wp, wp_form(comment_parent => 777), 200,
    'WordPress: comment_parent is not the article');

posts('/unmapped' . $wp, wp_form(author => 'Agen Judi'), 200,
    'without the preset, author is not the name');
posts('/unmapped' . $wp, wp_form(comment_post_ID => 777), 200,
    'without the preset, comment_post_ID is not the article');

# --- a JSON API --------------------------------------------------------------

sub api_doc {
    my (%f) = @_;
    my %author = (name => 'Siti', email => 'siti@example.id',
        url => 'https://siti.example.id/');
    for my $k (qw/name email url/) {
        $author{$k} = delete $f{$k} if exists $f{$k};
    }
    return json_encode({ body => $ham, author => \%author, post_id => '12', %f });
}

my @json = ('Content-Type' => 'application/json');
my $api = '/api/comments';
posts($api, api_doc(), 200, 'JSON API: a plain comment goes to the backend', @json);
posts($api, api_doc(body => $spam), 403, 'JSON API: body is the text', @json);
posts($api, api_doc(name => 'Agen Judi'), 403, 'JSON API: author.name is the name',
    @json);
posts($api, api_doc(email => 'promo@judi88.com'), 403,
    'JSON API: author.email is the email', @json);
posts($api, api_doc(url => 'https://judi88.com/'), 403,
    'JSON API: author.url is the url', @json);
posts($api, api_doc(post_id => '777'), 403, 'JSON API: post_id is the article',
    @json);
posts($api, json_encode({ comment => $spam }), 400,
    'JSON API: a document without body has no comment text', @json);
