// OCSP responses (RFC 6960): parsing, and verification of the signature and
// the responder's authority against the issuer of the certificates asked
// about. Pure C++17 with OpenSSL, no PostgreSQL headers; the network stays
// outside: a poller fetches responses (docs/revocation.md).
#pragma once

#include "core/certificate.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netbox_ssl {

struct OcspSingle {
    std::string hash_algorithm;             // of the CertID ("sha1", ...)
    std::string issuer_name_hash;           // colon hex
    std::string issuer_key_hash;            // colon hex
    std::string serial;                     // colon hex, as CertificateInfo::serial_number
    std::string status;                     // good | revoked | unknown
    std::optional<std::int64_t> revoked_at; // revoked only
    std::optional<std::string> reason;      // revoked with a reason only (crl_reason_name)
    std::int64_t this_update = 0;
    std::optional<std::int64_t> next_update;
};

struct OcspInfo {
    // successful | malformedRequest | internalError | tryLater | sigRequired
    // | unauthorized | unknown(N). Only a successful response has the rest.
    std::string response_status;
    std::int64_t produced_at = 0;
    std::vector<OcspSingle> responses;
};

// One DER OCSPResponse. Error(Malformed) when it does not decode (or bytes
// follow it), Error(TooLarge) past options.max_input_bytes. A
// non-successful responseStatus is returned, not thrown: the caller names it.
OcspInfo parse_ocsp_response(std::string_view der, const ParseOptions& options = {});

struct OcspVerification {
    bool ok = false;
    // When !ok: one sentence saying why ("the response is not signed by the
    // issuer or by a responder the issuer authorised").
    std::string failure;
    // When ok: "issuer" or "delegated responder" (RFC 6960 4.2.2.2).
    std::string responder;
};

// Verifies a successful response against the issuer certificate (DER) at
// `at` (seconds since 1970): the signer is the issuer itself, or a
// certificate included in the response that the issuer signed and that has
// the id-kp-OCSPSigning extended key usage, valid at `at`; the signature
// verifies with the signer's key. Error(Malformed) when the inputs do not decode.
OcspVerification verify_ocsp_response(std::string_view response_der, std::string_view issuer_der, std::int64_t at);

// Whether a single response's CertID names this issuer (its name and key
// hashes, computed with the CertID's hash algorithm).
bool ocsp_single_matches_issuer(const OcspSingle& single, std::string_view issuer_der);

}  // namespace netbox_ssl
