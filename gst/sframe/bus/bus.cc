#include <gst/sframe/bus/bus.h>

#include "bus-nats.h"

#include <algorithm>
#include <cstddef>

namespace sframe {

namespace localbus {
/* In bus-local.cc; `name` is already checked. */
std::unique_ptr<Bus> open_local_bus (const std::string & name);
}  // namespace localbus

namespace {

constexpr char kLocalScheme[] = "local://";
constexpr char kNatsScheme[] = "nats://";
constexpr char kTlsScheme[] = "tls://";
constexpr char kSchemes[] = "local://NAME, nats://[USER:PASSWORD@]HOST:PORT or tls://[USER:PASSWORD@]HOST:PORT "
                            "(several, comma-separated, for the nodes of one cluster)";
constexpr size_t kMaxTokenLength = 64;
constexpr size_t kMaxSubjectTokens = 16;
constexpr size_t kMaxSubjectLength = 255;
constexpr size_t kMaxLocalNameLength = 64;

bool
starts_with (const std::string & s, const char *prefix)
{
  return s.compare (0, std::char_traits<char>::length (prefix), prefix) == 0;
}

bool
is_token_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* [begin, end) is 1..kMaxTokenLength token characters. */
bool
is_token_span (const char * begin, const char * end)
{
  if (begin == end || static_cast<size_t> (end - begin) > kMaxTokenLength)
    return false;
  return std::all_of (begin, end, is_token_char);
}

bool
is_local_name (const std::string & name)
{
  if (name.empty () || name.size () > kMaxLocalNameLength)
    return false;
  for (char c : name) {
    if (!is_token_char (c) && c != '.')
      return false;
  }
  return true;
}

/* The scheme of `uri` if it looks like one (RFC 3986 characters, short),
 * else empty. */
std::string
uri_scheme (const std::string & uri)
{
  size_t sep = uri.find ("://");
  if (sep == 0 || sep == std::string::npos || sep > 16)
    return {};
  for (size_t i = 0; i < sep; i++) {
    char c = uri[i];
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.')))
      return {};
  }
  return uri.substr (0, sep);
}

Result
bad_uri (std::string reason)
{
  return {Status::invalid_argument, std::move (reason)};
}

Result
open_local (const std::string & uri, std::unique_ptr<Bus> * bus)
{
  std::string name = uri.substr (std::char_traits<char>::length (kLocalScheme));
  if (!is_local_name (name))
    return bad_uri ("bad local bus URI '" + uri + "': expected local://NAME, NAME being 1 to 64 characters of "
        "letters, digits, '.', '_' or '-'");
  *bus = localbus::open_local_bus (name);
  return {};
}

Result
open_nats (const std::string & uri, const BusSecurity & security, std::unique_ptr<Bus> * bus)
{
  /* Only the redacted form may appear in messages: URLs can carry
   * credentials. */
  std::string shown = natsbus::redact_urls (uri);
  std::vector<std::string> urls;
  size_t start = 0;
  while (true) {
    size_t comma = uri.find (',', start);
    std::string url = uri.substr (start, comma == std::string::npos ? std::string::npos : comma - start);
    std::string host;
    if (starts_with (url, kNatsScheme))
      host = url.substr (std::char_traits<char>::length (kNatsScheme));
    else if (starts_with (url, kTlsScheme))
      host = url.substr (std::char_traits<char>::length (kTlsScheme));
    if (host.empty () || host.find_first_of (" \t\r\n/,") != std::string::npos)
      return bad_uri ("bad NATS bus URI '" + shown + "': expected nats://HOST:PORT or tls://HOST:PORT, or "
          "several of them separated by commas for the nodes of one cluster");
    urls.push_back (url);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return natsbus::open_nats_bus (urls, shown, security, bus);
}

}  // namespace

BusSubscription::~BusSubscription () = default;

Bus::~Bus () = default;

bool
is_subject_token (const std::string & token)
{
  return is_token_span (token.data (), token.data () + token.size ());
}

/* Checked on every publish: one pass, no copies of the tokens. */
bool
is_subject (const std::string & subject)
{
  if (subject.empty () || subject.size () > kMaxSubjectLength)
    return false;
  const char *start = subject.data (), *end = subject.data () + subject.size ();
  for (size_t tokens = 1; tokens <= kMaxSubjectTokens; tokens++) {
    const char *dot = std::find (start, end, '.');
    if (!is_token_span (start, dot))
      return false;
    if (dot == end)
      return true;
    start = dot + 1;
  }
  return false;
}

namespace {
thread_local DeliveryRound *current_round = nullptr;

void
run_wake (const DeliveryRound::Wake & wake)
{
  try {
    wake ();
  } catch (...) {
    /* A wake only signals; nothing to recover. */
  }
}
}  // namespace

DeliveryRound::DeliveryRound () : outer_ (current_round)
{
  current_round = this;
}

DeliveryRound::~DeliveryRound ()
{
  finish ();
  current_round = outer_;
}

void
DeliveryRound::finish ()
{
  /* A wake may defer another: take the list first. */
  std::vector<Wake> wakes;
  wakes.swap (wakes_);
  for (const Wake & wake : wakes)
    run_wake (wake);
}

void
DeliveryRound::wake_later (Wake wake)
{
  if (current_round)
    current_round->wakes_.push_back (std::move (wake));
  else
    run_wake (wake);
}

Result
open_bus (const std::string & uri, const BusSecurity & security, std::unique_ptr<Bus> * bus)
{
  if (!bus)
    return {Status::invalid_argument, "no output"};
  if (starts_with (uri, kLocalScheme)) {
    if (!security.empty ())
      return bad_uri ("TLS and NATS credentials apply to nats:// and tls:// buses, not to " + uri);
    return open_local (uri, bus);
  }
  if (starts_with (uri, kNatsScheme) || starts_with (uri, kTlsScheme))
    return open_nats (uri, security, bus);
  /* Names the scheme alone: the rest may hold credentials. */
  std::string scheme = uri_scheme (uri);
  if (scheme.empty ())
    return bad_uri (std::string ("bus URI without a recognisable scheme: expected ") + kSchemes);
  return bad_uri ("unsupported bus URI scheme '" + scheme + "://': expected " + kSchemes);
}

Result
open_bus (const std::string & uri, std::unique_ptr<Bus> * bus)
{
  return open_bus (uri, BusSecurity (), bus);
}

}  // namespace sframe
