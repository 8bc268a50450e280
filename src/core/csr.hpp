// Certificate signing requests (PKCS#10): parsing for ssl_parse_csr and
// ssl_import_csr. Text fields follow the certificate parser's rules exactly
// (subject as XN_FLAG_RFC2253 prints it, SANs as "DNS:x", spki_sha256 over
// the same SubjectPublicKeyInfo encoding), so CSRs and certificates compare.
#pragma once

#include "core/certificate.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netbox_ssl {

struct CsrInfo {
    std::string subject;                     // RFC 4514, may be empty
    std::optional<std::string> common_name;  // first subject CN, else first DNS SAN
    std::vector<std::string> sans;           // from the extensionRequest attribute
    std::string algorithm;                   // rsa|ecdsa|ed25519|ed448|dsa|unknown
    std::optional<int> key_size;
    std::string spki_sha256;
    std::string signature_algorithm;
    bool signature_valid = false;            // self-signature verifies with the request's key
    std::string fingerprint_sha256;          // SHA-256 of the request's DER
    std::string pem_content;                 // canonical "CERTIFICATE REQUEST" PEM
};

// Text: exactly one "CERTIFICATE REQUEST" (or "NEW CERTIFICATE REQUEST")
// PEM block among any others. Private keys are refused as by parse_pem.
CsrInfo parse_csr_pem(std::string_view text, const ParseOptions& options = {});

// Bytes: one DER request, or PEM text.
CsrInfo parse_csr_der(std::string_view bytes, const ParseOptions& options = {});

// The request's fields from exactly one DER request.
CsrInfo parse_request_der(std::string der, const ParseOptions& options);

}  // namespace netbox_ssl
