#!/usr/bin/perl
# The motivating bug report, reproduced: Net::SMTP (Perl core) with Authen::SASL's pure-Perl
# backend against a Sendmail + Cyrus SASL server that offers security layers.
#
# Net::SMTP hands the server's whole AUTH list to Authen::SASL, whose Perl backend ranks
# DIGEST-MD5 first and, with its default maxssf of 2**31-1, asks for the strongest protection
# the challenge offers: qop=auth-conf with rc4 when Crypt::RC4 is installed. The server answers
# 235 and from then on expects every command wrapped in the layer (RFC 2831 framing), but
# Net::SMTP never wraps its socket: the plaintext "MAIL FROM" reads as a 4-byte length of
# 0x4D41494C ("MAIL"), Sendmail logs "encoded packet size too big" and drops the connection.
# With --maxssf 0 the client asks for qop=auth and the message goes through.
#
#   net_smtp_repro.pl --port PORT [--host 127.0.0.1] [--user smtpuser] [--password secret]
#                     [--maxssf N] [--timeout 10]
#
# Prints Net::SMTP's dialogue on stderr and one JSON line on stdout, for example
#   {"mechanism":"DIGEST-MD5","qop":"auth-conf","cipher":"rc4","auth":{"ok":true,"code":"235",…},
#    "mail":{"ok":false,"code":…},"sent":false,…}
# Exits 0 whenever it could report (the JSON says what happened), 2 on bad usage.
use strict;
use warnings;
use Getopt::Long qw(GetOptions);
use JSON::PP ();
use Net::SMTP ();
use Authen::SASL ('Perl');    # the pure-Perl backend, as in the report
use Authen::SASL::Perl::DIGEST_MD5 ();

my %opt = (host => '127.0.0.1', user => 'smtpuser', password => 'secret', timeout => 10);
GetOptions(\%opt, 'host=s', 'port=i', 'user=s', 'password=s', 'maxssf=i', 'timeout=i')
  && $opt{port}
  or die "usage: $0 --port PORT [--host H] [--user U] [--password P] [--maxssf N]\n";
$SIG{ALRM} = sub { report({ error => "timed out after 60 s" }); exit 0 };
alarm 60;

# What the DIGEST-MD5 client said; its response names the qop and cipher it chose.
my @digest_steps;
{
  no warnings 'redefine';
  my $step = \&Authen::SASL::Perl::DIGEST_MD5::client_step;
  *Authen::SASL::Perl::DIGEST_MD5::client_step = sub {
    my $out = $step->(@_);
    push @digest_steps, { challenge => $_[1], response => $out };
    return $out;
  };
}

# Net::SMTP creates the client connection itself; this subclass gets to set its properties.
package SaslWithProperties {
  our @ISA = ('Authen::SASL');
  our %properties;
  our $last;
  sub client_new {
    my $self = shift;
    my $conn = $self->SUPER::client_new(@_);
    $conn->property(%properties) if %properties;
    $last = $conn;
    return $conn;
  }
}

my %result = (host => $opt{host}, port => $opt{port}, maxssf => $opt{maxssf});

my $smtp = Net::SMTP->new(
  $opt{host},
  Port    => $opt{port},
  Hello   => 'client.example.com',
  Timeout => $opt{timeout},
  Debug   => 1,
);
unless ($smtp) {
  report({ error => "connect failed: $@" });
  exit 0;
}
$result{auth_offered} = $smtp->supports('AUTH');

%SaslWithProperties::properties = (maxssf => $opt{maxssf}) if defined $opt{maxssf};
my $sasl = SaslWithProperties->new(
  mechanism => '',    # Net::SMTP fills in the server's list, as auth(user, pass) does
  callback  => { user => $opt{user}, pass => $opt{password}, authname => $opt{user} },
);
my $authed = $smtp->auth($sasl);
$result{auth} = reply($authed);
$result{mechanism} = $SaslWithProperties::last ? $SaslWithProperties::last->mechanism : undef;
if (my $last = $digest_steps[0]) {
  my $response = $last->{response} // '';
  $result{digest_challenge} = $last->{challenge};
  $result{qop} = $response =~ /(?:^|,)qop="?([\w-]+)/ ? $1 : undef;
  $result{cipher} = $response =~ /(?:^|,)cipher="?([\w-]+)/ ? $1 : undef;
}

$result{sent} = JSON::PP::false;
if ($authed) {
  my $mail = $smtp->mail('b@example.com');
  $result{mail} = reply($mail);
  if ($mail) {
    my $ok = $smtp->to('a@example.com')
      && $smtp->data()
      && $smtp->datasend("Subject: net_smtp_repro\n\nmaxssf " . ($opt{maxssf} // 'default') . "\n")
      && $smtp->dataend();
    $result{data} = reply($ok);
    $result{sent} = $ok ? JSON::PP::true : JSON::PP::false;
  }
}
$smtp->quit if $smtp->connected;
report(\%result);
exit 0;

sub reply {
  my ($ok) = @_;
  my $message = join '', $smtp->message;
  $message =~ s/\s+$//;
  return {
    ok        => $ok ? JSON::PP::true : JSON::PP::false,
    code      => $smtp->code,
    message   => $message,
    connected => $smtp->connected ? JSON::PP::true : JSON::PP::false,
  };
}

sub report {
  my ($data) = @_;
  print JSON::PP->new->canonical->encode($data), "\n";
}
