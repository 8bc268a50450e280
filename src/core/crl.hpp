// Certificate revocation lists (RFC 5280 section 5): parsing and signature
// verification. Pure C++17 with OpenSSL, no PostgreSQL headers; the adapter
// (src/pg/revocation.cpp) stores the result in ssl_crl / ssl_crl_entry.
// See docs/revocation.md.
#pragma once

#include "core/certificate.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netbox_ssl {

struct CrlEntry {
    std::string serial;                 // colon hex, as CertificateInfo::serial_number
    std::int64_t revoked_at = 0;        // revocationDate, seconds since 1970 UTC
    std::optional<std::string> reason;  // RFC 5280 reasonCode name ("keyCompromise"); none when absent
};

struct CrlInfo {
    std::string issuer;                           // RFC 4514, XN_FLAG_RFC2253 as elsewhere
    std::string issuer_hash;                      // SHA-256 of the issuer Name's DER, colon hex
    std::optional<std::string> authority_key_id;  // keyIdentifier, colon hex
    std::optional<std::string> crl_number;        // decimal digits
    std::int64_t this_update = 0;
    std::optional<std::int64_t> next_update;
    std::string signature_algorithm;  // OpenSSL long name, or dotted OID
    std::string der;                  // the exact DER of this CRL
    std::vector<CrlEntry> entries;    // in CRL order
};

// Text input: every "X509 CRL" PEM block (other blocks ignored, at least one
// required). Error(PrivateKey) when the text holds a key, Error(Malformed)
// for no CRL or a block that does not decode, Error(TooLarge) past
// options.max_input_bytes. Polls for cancellation while reading entries.
std::vector<CrlInfo> parse_crl_pem(std::string_view text, const ParseOptions& options = {});

// Binary input: one DER CRL (bytes that are PEM text are parsed as PEM).
std::vector<CrlInfo> parse_crl_der(std::string_view bytes, const ParseOptions& options = {});

// Whether the CRL's signature verifies with the public key of the
// certificate `issuer_der` (DER). Error(Malformed) when either does not
// decode. Does not compare names: the caller picks the candidate issuer.
bool crl_signature_valid(std::string_view crl_der, std::string_view issuer_der);

// RFC 5280 5.3.1 CRLReason name for a reasonCode value ("unknown(N)" for an
// unassigned value).
std::string crl_reason_name(long code);

}  // namespace netbox_ssl
