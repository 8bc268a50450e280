// Text and byte encodings used by the parser: PEM armour, base64, colon hex,
// IP addresses, UTF-8 hygiene and calendar arithmetic. Free of OpenSSL so the
// rules can be unit-tested on their own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netbox_ssl {

// Pkcs7: "PKCS7", "CMS" or "PKCS #7 SIGNED DATA" (a certs-only bundle).
// CertificateRequest: "CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST".
enum class PemKind { Certificate, TrustedCertificate, Pkcs7, CertificateRequest, Other };

struct PemBlock {
    PemKind kind;
    std::string label;  // normalised: upper case, single spaces
    std::string der;    // the decoded base64 body
};

// Splits text into PEM blocks, ignoring text outside them. Throws
// Error(PrivateKey) if any BEGIN line names a private key (in any letter
// case), before any block is decoded; Error(Malformed) for broken armour or
// base64. Blocks of other labels are returned as PemKind::Other (undecoded).
std::vector<PemBlock> split_pem(std::string_view text);

// One block at a time: reads the next PEM block at or after `pos` into
// `out` and moves `pos` past it; false when no block is left. Does NOT
// refuse private keys: call refuse_pem_private_keys on the whole text first.
// Only the kinds other than Other have their base64 decoded.
bool next_pem_block(std::string_view text, std::size_t& pos, PemBlock& out);

// The private-key scan split_pem runs before decoding anything.
void refuse_pem_private_keys(std::string_view text);

// Raises Error(PrivateKey) with the one message used for every key found.
[[noreturn]] void throw_private_key_found();

// True when binary input is really PEM text (it cannot be DER: a DER
// certificate starts with a SEQUENCE tag).
bool looks_like_pem(std::string_view bytes);

// Canonical PEM: base64 in 64-character lines, "\n" line ends.
std::string pem_encode(std::string_view der, std::string_view label);

// "0B:AA:4C" style: uppercase hex byte pairs joined by ':'.
std::string colon_hex(const unsigned char* data, std::size_t len);

// IPv4 dotted quad, or IPv6 in RFC 5952 form (lower case, longest run of two
// or more zero groups compressed, IPv4-mapped addresses in mixed notation).
// Other lengths are shown as "invalid(<colon hex>)".
std::string ip_text(const unsigned char* data, std::size_t len);

// Makes arbitrary bytes safe and unambiguous as PostgreSQL text: valid UTF-8
// is kept, while control characters, NUL and bytes that are not valid UTF-8
// become "\XX" hex escapes (as RFC 4514 writes them). With escape_backslash,
// a literal backslash becomes "\5C" so that every escape can be undone.
std::string sanitize_text(std::string_view bytes, bool escape_backslash);

// Seconds since 1970-01-01T00:00:00Z for a proleptic Gregorian UTC time.
std::int64_t epoch_seconds(int year, int month, int day, int hour, int minute, int second);

}  // namespace netbox_ssl
