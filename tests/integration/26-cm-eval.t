#!/usr/bin/perl

# scripts/cm-eval, the command-line backtest (issue 6, acceptance 3): a rule
# set against a labeled CSV with the module's engine (build/cm-check
# --batch) prints precision, recall and the false positive rate for the
# flagged decisions, the matrix, and the top false positives and negatives.

use strict;
use warnings;

use Test::More;
use File::Temp qw/ tempdir /;
use FindBin;

my $ROOT = "$FindBin::Bin/../..";
my $tmp = tempdir('cm-eval-XXXXXXXX', TMPDIR => 1, CLEANUP => 1);

plan(skip_all => 'build/cm-check is missing: make tools')
    unless -x "$ROOT/build/cm-check";
plan(tests => 10);

sub spew {
    my ($name, $text) = @_;

    open my $f, '>:raw', "$tmp/$name" or die "$name: $!";
    print $f $text;
    close $f;

    return "$tmp/$name";
}

my $rules = spew('x.rules', <<'EOF');
rule promo
    words "slot gacor", maxwin
    action reject

rule tautan
    words tautan
    score 5
EOF

# 3 positive (2 caught), 4 legitimate (1 held: a false positive)
my $csv = spew('labeled.csv', <<'EOF');
id,comment_text,label
1,"Slot GACOR malam ini",1
2,"maxwin terus bos",1
3,"daftar di situs kami sekarang",1
4,"baca tautan ini dulu",0
5,"berita bagus, terima kasih",0
6,"setuju dengan penulis",0
7,"semoga cepat pulih",0
EOF

sub cm_eval {
    my $out = `CM_CHECK=$ROOT/build/cm-check python3 $ROOT/scripts/cm-eval @_ 2>&1`;
    return ($? >> 8, $out);
}

my ($rc, $out) = cm_eval('--rules', $rules, '--file', $csv, '--text-column',
    'comment_text', '--label-column', 'label', '--positive', '1', '--top', '3');
is($rc, 0, 'exit 0') or diag($out);
like($out, qr/^rows: 7 \(positive 3, legitimate 4, other 0\)$/m, 'the rows');
like($out, qr/^precision: 0\.667$/m, 'precision: 2 of the 3 flagged');
like($out, qr/^recall: 0\.667$/m, 'recall: 2 of the 3 positive');
like($out, qr/^fpr: 0\.250$/m, 'false positive rate: 1 of 4');
like($out, qr/^top false positives \(legitimate rows flagged\):\n\s+1x queue\s+5\s+tautan \| baca tautan ini dulu$/m,
    'the false positive, its decision, score and rule');
like($out, qr/^top false negatives \(positive rows not flagged\):\n\s+1x accept\s+0\s+-\s+\| daftar di situs kami sekarang$/m,
    'the false negative');

($rc, $out) = cm_eval('--rules', $rules, '--file', $csv, '--text-column',
    'comment_text', '--label-column', 'label', '--positive', '1', '--flagged',
    'reject');
like($out, qr/^precision: 1\.000$/m, '--flagged reject: the held one does not count');

($rc, $out) = cm_eval('--rules', $rules, '--file', $csv, '--text-column',
    'comment_text', '--label-column', 'label', '--positive', '1', '--json');
like($out, qr/"precision":\s*0\.66/, '--json: precision');

($rc, $out) = cm_eval('--rules', spew('bad.rules', "rule x regex \"(\"\n"),
    '--file', $csv, '--text-column', 'comment_text', '--label-column', 'label',
    '--positive', '1');
is($rc, 2, 'a broken rule set: exit 2');
