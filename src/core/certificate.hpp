// Pure C++17 certificate parsing for netbox_ssl. No PostgreSQL headers may be
// included here or in any file under src/core/: this layer must build and be
// unit-tested (and fuzzed) without a server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace netbox_ssl {

// What went wrong, coarse enough for the adapter to map each value to one
// documented SQLSTATE.
enum class ErrorKind {
    Malformed,    // no certificate, bad PEM/base64/DER, trailing garbage
    PrivateKey,   // input holds private key material (never echoed back)
    Pkcs12,       // a PKCS#12 archive: refused because it carries keys
    TooLarge,     // input exceeds the configured byte limit
    Internal,     // OpenSSL failed for a reason unrelated to the input
};

// The only exception type thrown by the core. Messages are written by us and
// never contain bytes of the input; `detail` carries OpenSSL's reason string
// (a fixed library string) where one exists.
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message, std::string detail = {}, int item = 0)
        : std::runtime_error(message), kind_(kind), detail_(std::move(detail)), item_(item) {}
    ErrorKind kind() const noexcept { return kind_; }
    const std::string& detail() const noexcept { return detail_; }
    // The 1-based bundle item the error is about (the message already names
    // it), 0 when the error is not about one item of a bundle.
    int item() const noexcept { return item_; }
    // Advice for the user (a full sentence), empty when there is none. The
    // message states the problem, detail explains it, hint says what to do.
    const std::string& hint() const noexcept { return hint_; }
    Error& with_hint(std::string hint) {
        hint_ = std::move(hint);
        return *this;
    }

private:
    ErrorKind kind_;
    std::string detail_;
    int item_;
    std::string hint_;
};

// Every parsed column of ssl_certificate. Text fields are always valid UTF-8
// without NUL bytes, so the adapter can hand them to PostgreSQL unchecked.
struct CertificateInfo {
    std::optional<std::string> common_name;  // first subject CN, else first DNS SAN
    std::string subject;                     // RFC 4514, as XN_FLAG_RFC2253 prints
    std::string issuer;
    std::optional<std::string> issuer_cn;    // first issuer CN, text as common_name
    std::optional<std::string> issuer_org;   // first issuer O, text as common_name
    std::string serial_number;               // "0B:AA:..." ("-" prefix when negative)
    std::string fingerprint_sha256;          // SHA-256 of the DER, colon hex
    std::int64_t valid_from = 0;             // seconds since 1970-01-01 UTC
    std::int64_t valid_to = 0;
    std::vector<std::string> sans;           // "DNS:x", "IP:x", "Email:x", "URI:x", ...
    std::string algorithm;                   // rsa|ecdsa|ed25519|ed448|dsa|unknown
    std::optional<int> key_size;
    std::string signature_algorithm;         // OpenSSL long name, or dotted OID
    bool is_ca = false;
    std::optional<std::string> subject_key_id;
    std::optional<std::string> authority_key_id;
    std::string spki_sha256;
    std::string pem_content;                 // canonical PEM, 64-column lines
    std::string issuer_chain;                // the bundle's other certs, leaf to root
    // SHA-256 (colon hex) of the TBSCertificate without the CT poison and SCT
    // list extensions, re-encoded in DER: a precertificate and its final
    // certificate hash alike. An extension list left empty is omitted.
    std::string tbs_sha256;
    // Where revocation data is published: the fullName URIs of the CRL
    // Distribution Points extension, and the OCSP and caIssuers URIs of the
    // Authority Information Access extension, each in certificate order.
    std::vector<std::string> crl_urls;
    std::vector<std::string> ocsp_urls;
    std::vector<std::string> ca_issuers_urls;
};

struct ParseOptions {
    // 0 means unlimited. Checked before any decoding work.
    std::size_t max_input_bytes = std::size_t{1024} * 1024;
    // Escape every non-ASCII byte of common_name and sans as "\XX", for
    // databases whose encoding cannot hold arbitrary UTF-8.
    bool ascii_only = false;
    // Decode every certificate with d2i_X509, which also decodes the public
    // key through OpenSSL's provider decoders (slow). By default the parser
    // uses a decoder that leaves the key encoded and falls back to d2i_X509
    // wherever it could differ; the columns are the same either way. Meant
    // for tests that compare the two.
    bool force_full_parse = false;
};

// How a certificate chains to others, as exact encodings: what a bundle
// import keeps of the certificates that may issue others, so that it can
// build each certificate's issuer_chain without keeping them decoded.
struct ChainKeys {
    std::string der;      // the certificate's exact DER (no trust aux data)
    std::string subject;  // DER of the subject name
    std::string issuer;   // DER of the issuer name
    std::string skid;     // subjectKeyIdentifier bytes, empty when absent
    std::string akid;     // authorityKeyIdentifier keyIdentifier bytes, empty when absent
    bool is_ca = false;   // basicConstraints CA flag
};

// Text input: one or more PEM blocks, with any text around them. The leaf is
// the certificate that issues none of the others; the rest become
// issuer_chain, ordered leaf to root.
CertificateInfo parse_pem(std::string_view text, const ParseOptions& options = {});

// Binary input: one DER certificate. As a convenience, bytes that are PEM
// text (e.g. a file read with pg_read_binary_file) are parsed as PEM.
CertificateInfo parse_der(std::string_view bytes, const ParseOptions& options = {});

// One certificate on its own (issuer_chain stays empty), for bundle
// imports: `der` is exactly one DER certificate (with OpenSSL's trust data
// after it when trusted_aux). Refuses keys and PKCS#12 as parse_der does.
// With `keys`, also fills them. No size check: the caller applies it.
CertificateInfo parse_single_certificate(std::string der, bool trusted_aux, const ParseOptions& options,
                                         ChainKeys* keys);

// Only the chain keys of one such certificate (no text fields: cheaper).
ChainKeys certificate_chain_keys(std::string der, bool trusted_aux);

}  // namespace netbox_ssl
