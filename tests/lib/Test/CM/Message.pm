package Test::CM::Message;

# What the HTTP answers (Test::CM::HTTP) and the backend's recorded requests
# (Test::CM::Backend) share: header lines parsed into a case-insensitive
# table, the accessors, and reading and writing whole files as bytes.

use strict;
use warnings;

use Exporter qw/ import /;

our @EXPORT_OK = qw/ slurp spew /;

# a message from its header lines ("Name: value", no CRLF) and other fields
sub new {
    my ($class, $lines, %fields) = @_;
    my $self = bless { headers => {}, header_lines => [], %fields }, $class;

    for (@$lines) {
        next unless /^([^:]+):[ \t]*(.*?)[ \t]*$/;
        push @{$self->{header_lines}}, [ $1, $2 ];
        push @{$self->{headers}{lc $1}}, $2;
    }

    return $self;
}

sub body { $_[0]{body} }

# ->header('X-Comment-Moderation'): the value (several joined by ", "); in
# list context every value, so a test can see that a header came once
sub header {
    my ($self, $name) = @_;
    my $v = $self->{headers}{lc $name} || [];

    return @$v if wantarray;
    return @$v ? join(', ', @$v) : undef;
}

# the bytes of a file, '' if it cannot be read
sub slurp {
    my ($name) = @_;
    local $/;

    open my $fh, '<', $name or return '';
    binmode $fh;
    my $s = <$fh>;
    close $fh;

    return defined $s ? $s : '';
}

sub spew {
    my ($name, $data) = @_;

    open my $fh, '>', $name or die "$name: $!";
    binmode $fh;
    print $fh $data;
    close $fh or die "$name: $!";
}

1;
