"""The two DKIM verifiers signatures are checked by: dkimpy, and Perl's Mail::DKIM (Debian's
libmail-dkim-perl), each given the TXT record as it would be published."""

import os
import shutil
import subprocess

import dkim

MAIL_DKIM = """
use strict; use warnings;
use Mail::DKIM::Verifier; use Mail::DKIM::PublicKey;
no warnings 'redefine';
*Mail::DKIM::PublicKey::fetch_async = sub {
    my ($class, %args) = @_;
    my $key = $class->parse($ENV{DKIM_RECORD});
    $key->{Selector} = $args{Selector}; $key->{Domain} = $args{Domain};
    my $done = ($args{Callbacks} || {})->{Success} || sub { $_[0] };
    my $result = $done->($key);
    return sub { $result };
};
binmode STDIN;
my $verifier = Mail::DKIM::Verifier->new;
while (my $line = <STDIN>) { $verifier->PRINT($line) }
$verifier->CLOSE;
print $verifier->result, "\\n";
"""

HAS_MAIL_DKIM = (
    shutil.which("perl") is not None
    and subprocess.run(["perl", "-MMail::DKIM", "-e1"], capture_output=True).returncode == 0
)
NO_MAIL_DKIM = "Perl's Mail::DKIM is not installed (Debian: libmail-dkim-perl; .ci/run installs it)"


def perl_verdict(raw, record):
    """What Perl's Mail::DKIM::Verifier says of ``raw`` with TXT ``record`` published."""
    answer = subprocess.run(
        ["perl", "-e", MAIL_DKIM],
        input=raw,
        capture_output=True,
        env={**os.environ, "DKIM_RECORD": record},
        timeout=60,
        check=True,
    )
    return answer.stdout.decode().strip()


def dkimpy_verifies(raw, records):
    """Whether dkimpy verifies ``raw`` with ``{dns name: TXT record}`` published."""
    published = {f"{name}.".encode(): value.encode() for name, value in records.items()}
    return dkim.verify(raw, dnsfunc=lambda name, timeout=5: published.get(name))
