// Public suffixes (issue "Trust", item 3): whether a DNS name is a public
// suffix ("com", "co.uk", "github.io"), from libpsl and the maintained list
// of Debian's `publicsuffix` package. Pure C++17, no PostgreSQL headers.
// See docs/chain-validation.md ("Public suffixes").
#pragma once

#include <string>
#include <string_view>

namespace netbox_ssl {

// True when `domain` (A-labels, any letter case, no trailing dot) is a
// public suffix, ICANN or private section, including the implicit "*" rule
// (an unknown top-level label is a public suffix).
bool is_public_suffix(std::string_view domain);

enum class SuffixKind {
    None,     // not a public suffix
    Icann,    // the ICANN section ("com", "co.uk") or the implicit "*" rule
    Private,  // only the private section ("github.io", "s3.amazonaws.com")
};
SuffixKind public_suffix_kind(std::string_view domain);

// False only for a wildcard pattern "*.<base>" whose base is a public suffix
// ("*.co.uk", "*.github.io", "*.com"): CA/B BR 3.2.2.6 forbids issuing those,
// so they never match. Every other name is allowed (true).
bool wildcard_allowed(std::string_view pattern);

// Which list is in use: "<file> (<date>)" or "libpsl built-in list (<date>)".
std::string public_suffix_list_source();

}  // namespace netbox_ssl
