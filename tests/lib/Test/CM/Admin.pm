package Test::CM::Admin;

# A moderator's side of the moderation API (docs/admin-api.md) for the
# integration tests: the moderators' passwords for auth_basic, reads and
# actions with the CSRF token of the session, and held comments to act on.
#
#     my $m = Test::CM::Admin->new($t, $redis, budi => 'rahasia');
#     # writes moderators.htpasswd ({SSHA}, as scripts/demo does) in the prefix
#     my $id = $m->hold('<token>', name => 'Siti', email => 's@example.com');
#     $m->get('budi', 'api/counts')                 # GET /moderation/api/counts
#     $m->act('budi', "comments/$id/approve")       # POST with X-CSRF-Token
#     $m->act('budi', 'bulk', { action => 'reject', ids => [ ... ] },
#         'Origin' => 'http://localhost')           # a JSON body, more headers
#     $m->auth('budi')                              # the Authorization header
#     $m->locations("client_max_body_size 1m;\n")   # the API's nginx locations
#     $m->csrf('budi'), $m->state($id), $m->field($id, 'error')
#
# hold() posts to /comments (a location with "comment_moderation_queue
# hold") and dies unless the comment is held; ip => '10.0.0.1' is sent as
# X-Real-IP.  The location of the API is /moderation/ unless
# $m->{location} says otherwise.

use strict;
use warnings;

use Digest::SHA qw/ sha1 /;
use MIME::Base64 qw/ encode_base64 /;
use Time::HiRes ();

use Test::CM::HTTP qw/ form json_encode /;

sub new {
    my ($class, $t, $redis, %passwords) = @_;

    my $self = bless {
        t => $t,
        redis => $redis,
        passwords => \%passwords,
        location => '/moderation/',
        csrf => {},
    }, $class;

    $t->write_file('moderators.htpasswd', join '', map {
        my $salt = "salt-$_";
        "$_:{SSHA}" . encode_base64(sha1($passwords{$_} . $salt) . $salt, '')
            . "\n"
    } sort keys %passwords);

    return $self;
}

# The locations of the API for a server block: /moderation/ behind
# auth_basic with the moderators' passwords ($more: lines more in it),
# releasing to /_release/, an internal proxy_pass to the backend.
sub locations {
    my ($self, $more) = @_;

    $more = '' unless defined $more;
    $more =~ s/^(?=.)/    /gm;

    return <<"EOF";
location $self->{location} {
    auth_basic "moderasi";
    auth_basic_user_file %%PREFIX%%/moderators.htpasswd;
$more    comment_moderation_admin;
    comment_moderation_release_to /_release;
}

location /_release/ {
    internal;
    proxy_pass http://%%BACKEND%%/;
}
EOF
}

# the Authorization header of a moderator (another password if given)
sub auth {
    my ($self, $user, $password) = @_;

    $password = $self->{passwords}{$user} unless defined $password;

    return ('Authorization' => 'Basic '
        . encode_base64("$user:$password", ''));
}

sub get {
    my ($self, $user, $path, @headers) = @_;

    return $self->{t}->http_get($self->{location} . $path, $self->auth($user),
        @headers);
}

# the token of the moderator's session (asked once)
sub csrf {
    my ($self, $user) = @_;

    return $self->{csrf}{$user} //= $self->get($user, 'api/session')->json->{csrf};
}

# an action with the moderator's token; $args, if any, as a JSON body
sub act {
    my ($self, $user, $path, $args, @headers) = @_;

    return $self->{t}->http_post($self->{location} . "api/$path",
        defined $args ? json_encode($args) : undef,
        'Content-Type' => 'application/json', $self->auth($user),
        'X-CSRF-Token' => $self->csrf($user), @headers);
}

# the raw request of an action, for http_start and friends
sub act_request {
    my ($self, $user, $path) = @_;

    return $self->{t}->request('POST', $self->{location} . "api/$path", undef,
        $self->auth($user), 'X-CSRF-Token' => $self->csrf($user));
}

# hold($token, form fields...): posts a comment that gets held (the text
# holds $token, unique); its id
sub hold {
    my ($self, $token, %f) = @_;
    my $r = $self->{redis};
    my $ip = delete $f{ip} // '127.0.0.1';
    my $uri = delete $f{uri} // '/comments';
    my $headers = delete $f{headers} || [];

    $f{comment} = "Baca tautan ini $token" unless defined $f{comment};

    my $answer = $self->{t}->http_post($uri, form(%f),
        'Accept' => 'application/json', 'X-Real-IP' => $ip, @$headers);
    die "not held: " . $answer->status . "\n" unless $answer->status == 202;

    return $self->find($token) // die "held comment $token not in Redis\n";
}

# the id of the pending comment whose text holds $token
sub find {
    my ($self, $token) = @_;
    my $r = $self->{redis};

    for my $id (@{ $r->command('ZRANGE', 'cm:q:pending', 0, -1) }) {
        my $text = $r->command('HGET', "cm:c:$id", 'text') // '';
        return $id if index($text, $token) >= 0;
    }

    return undef;
}

sub field {
    my ($self, $id, $name) = @_;

    return $self->{redis}->command('HGET', "cm:c:$id", $name);
}

# a DRAFT of the editors' API: one file, default.rules, and more fields
sub draft {
    my ($rules, %more) = @_;

    return { entry => 'default.rules', files => { 'default.rules' => $rules },
             %more };
}

# the status $post->() answers, asked until it is $want: a published rule
# set reaches the workers within their poll (500 ms)
sub status_soon {
    my ($want, $post) = @_;
    my $got;

    for (1 .. 30) {
        $got = $post->();
        return $got if $got == $want;
        Time::HiRes::sleep(0.2);
    }

    return $got;
}

sub state {
    my ($self, $id) = @_;

    return $self->field($id, 'state') // 'gone';
}

1;
