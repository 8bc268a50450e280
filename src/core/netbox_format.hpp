// The NetBox SSL plugin's field formats (netbox_ssl/utils/parser.py of the
// plugin), computed from a certificate this extension has already parsed.
// Used by ssl_netbox_fields and so by the NetBox bridge, which writes plugin
// rows whose derived columns must match what the plugin itself would have
// stored, or its lookups (serial + issuer, fingerprint, CN) stop matching.
// Pure C++17 + OpenSSL: no PostgreSQL header. See docs/netbox-formats.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netbox_ssl {

struct CertificateInfo;

// The columns of ssl_netbox_fields, in the plugin's formats.
struct NetboxFields {
    std::string common_name;         // first subject CN, else "Unknown"
    std::string serial_number;       // Python format(serial, "x").upper(), pairs from the left
    std::string fingerprint_sha256;  // upper-case colon pairs, 95 characters
    std::string issuer;              // "countryName=US, organizationName=..., commonName=..."
    std::int64_t valid_from = 0;     // seconds since 1970-01-01 UTC
    std::int64_t valid_to = 0;
    std::vector<std::string> sans;   // "DNS:x", "IP:x", "Email:x", "URI:x", else Python str()
    std::optional<int> key_size;     // RSA modulus bits, EC curve bits, else none
    std::string algorithm;           // rsa | ecdsa | ed25519 | unknown
    std::string pem_content;         // the leaf block, no trailing newline
    std::string issuer_chain;        // the other blocks joined with "\n", or ""
};

// The fields of a certificate parsed by parse_pem/parse_der: `leaf_pem` is
// its pem_content (one CERTIFICATE block), `issuer_chain` its issuer_chain
// (zero or more blocks, each ending in "\n"). With ascii_only, every
// non-ASCII byte of common_name, issuer and sans becomes "\XX" (as
// ssl_parse does for databases that cannot hold UTF-8). Throws Error.
NetboxFields netbox_fields(std::string_view leaf_pem, std::string_view issuer_chain, bool ascii_only = false);
NetboxFields netbox_fields(const CertificateInfo& info, bool ascii_only = false);

// The building blocks, exposed for the unit tests.

// Python's format(n, "x").upper() for the integer whose big-endian magnitude
// is `magnitude` (leading zero bytes allowed), split into 2-character groups
// from the left and joined by ':'. 0 gives "0"; a negative value keeps its
// '-' as the first character of the first group ("-1:23:4").
std::string netbox_serial(const unsigned char* magnitude, std::size_t len, bool negative);

// Python's str(ipaddress.ip_address(bytes)) for 4 or 16 bytes (IPv6: lower
// case, longest run of two or more zero groups compressed, first run on a
// tie, IPv4-mapped addresses in hex groups as Python up to 3.12 prints
// them). Other lengths: "invalid(<colon hex>)".
std::string python_ip_text(const unsigned char* data, std::size_t len);

// cryptography's ObjectIdentifier._name for a dotted OID: its long name,
// or "Unknown OID".
std::string cryptography_oid_name(const std::string& dotted);

// Python's repr() of a bytes object (b'...').
std::string python_bytes_repr(std::string_view bytes);

}  // namespace netbox_ssl
