// Chain validation: a leaf, untrusted intermediates and trust anchors in,
// one verdict out. The path is built and checked by OpenSSL's own verifier
// (X509_verify_cert over an X509_STORE); the web-PKI rules that verifier
// does not enforce run afterwards on the path it built. Pure C++17, no
// PostgreSQL headers. See docs/chain-validation.md for every rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netbox_ssl {

enum class ChainStatus {
    Valid,
    Invalid,           // a rule other than the ones below failed
    SelfSigned,        // the leaf is self-signed and not a trust anchor
    NoChain,           // an issuer could not be found among intermediates or anchors
    UntrustedRoot,     // the path ends in a self-signed root that is not an anchor
    Expired,           // a certificate of the path ended before `at`
    NotYetValid,       // a certificate of the path starts after `at`
    HostnameMismatch,  // the leaf is not valid for the given host name or IP
    Unknown,           // the verifier failed for a reason unrelated to the input
    Revoked,           // a certificate of the path is revoked (CRL or OCSP)
};

// "valid", "invalid", "self_signed", ... as stored in chain_status.
const char* chain_status_name(ChainStatus status);

// Revocation checking of a built path (issue "Trust"): the adapter answers
// from the stored CRLs and OCSP responses; the core never fetches anything.
enum class RevocationMode {
    None,         // no revocation checking
    IfAvailable,  // a certificate is checked when its issuer has usable data
    Required,     // every certificate below the anchor must have usable data
};

struct RevocationAnswer {
    enum class Kind {
        NoData,   // no usable, current CRL or OCSP answer for this certificate
        Good,     // usable data says: not revoked
        Revoked,  // usable data says: revoked
    };
    Kind kind = Kind::NoData;
    // Revoked: "revoked on <date> (reason <reason>)"-style text, one clause,
    // printed after the certificate in the verdict's message.
    std::string detail;
};

class RevocationSource {
public:
    virtual ~RevocationSource() = default;
    // The status at `at` of the certificate with this serial (colon hex, as
    // CertificateInfo::serial_number) issued by the certificate with this
    // SHA-256 fingerprint (colon hex, upper case, as the chain's members).
    virtual RevocationAnswer lookup(const std::string& issuer_fingerprint, const std::string& serial,
                                    std::int64_t at) const = 0;
};

// Signatures already verified within one validation run (ssl_validate_all,
// issue "Speed" item 4): the signature of certificate C by issuer I, once
// OpenSSL has verified it, is not verified again while the cache lives.
// Keyed by the identity of the two decoded certificates, each held by one
// reference while its pair is cached, so an entry can never stand for other
// bytes or another key. Holds no verdict: every other check (names,
// constraints, validity times, purpose, web-PKI rules, revocation) runs at
// every validation. Bounded: it is emptied when max_pairs would be passed.
// Only issuers' signatures are recorded (a certificate at depth >= 1 of a
// path, signed by the next one); the certificate being validated is looked
// up but never pinned.
class SignatureCache {
public:
    explicit SignatureCache(std::size_t max_pairs = 100000);
    ~SignatureCache();
    SignatureCache(const SignatureCache&) = delete;
    SignatureCache& operator=(const SignatureCache&) = delete;

    std::size_t size() const;     // pairs held
    std::size_t hits() const;     // signature checks skipped so far
    std::size_t misses() const;   // signature checks done (and then recorded)
    void clear() noexcept;        // forget every pair (e.g. when the anchors change)

    struct Impl;
    Impl& impl() const { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

struct ChainOptions {
    std::int64_t at = 0;                  // seconds since 1970-01-01 UTC
    std::optional<std::string> hostname;  // DNS name or IP address literal
    int max_depth = 32;                   // most intermediates a path may hold
    bool web_pki = true;                  // apply the rules beyond OpenSSL's
    RevocationMode revocation = RevocationMode::None;
    const RevocationSource* revocation_source = nullptr;  // not owned; None when null
    // Not owned. Null: every signature of the path is verified (OpenSSL's
    // own internal verification step), as before 1.6.
    SignatureCache* signature_cache = nullptr;
};

struct ChainResult {
    ChainStatus status = ChainStatus::Unknown;
    // Valid: the depth of the trust anchor (the number of certificates above
    // the leaf). Otherwise: the depth of the certificate the verdict is about
    // (0 = the leaf).
    int depth = 0;
    std::string message;              // one sentence
    std::vector<std::string> chain;   // SHA-256 fingerprints, leaf first
};

// Certificates decoded once and shared by many validations.
class CertificateSet {
public:
    CertificateSet();
    ~CertificateSet();
    CertificateSet(CertificateSet&&) noexcept;
    CertificateSet& operator=(CertificateSet&&) noexcept;
    CertificateSet(const CertificateSet&) = delete;
    CertificateSet& operator=(const CertificateSet&) = delete;

    // One DER certificate; Error(Malformed) when it does not decode.
    void add_der(std::string_view der);
    // Every CERTIFICATE block of a PEM text (other blocks ignored);
    // Error(PrivateKey) when the text holds a key, Error(Malformed) for a
    // block that does not decode. Returns the number of certificates added.
    std::size_t add_pem(std::string_view text);
    std::size_t size() const;

    struct Impl;
    Impl& impl() const { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

// The anchors and the shared intermediate pool, turned into an X509_STORE
// once; validate() may then be called any number of times.
class ChainValidator {
public:
    ChainValidator(const CertificateSet& anchors, const CertificateSet& intermediates);
    ~ChainValidator();
    ChainValidator(const ChainValidator&) = delete;
    ChainValidator& operator=(const ChainValidator&) = delete;

    // `leaf` holds the certificate to validate as its first member; its
    // other members and `extra` are intermediates for this call only.
    // Never throws for a bad chain: every verdict is a ChainResult. Throws
    // Error(Internal) only when OpenSSL itself fails (e.g. out of memory).
    ChainResult validate(const CertificateSet& leaf, const CertificateSet& extra, const ChainOptions& options) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Pure helpers, exposed for the unit tests.
// RFC 1034 preferred name syntax as the web PKI uses it in a dNSName SAN:
// LDH labels of 1-63 characters, at least two labels, and an optional
// wildcard that is exactly the whole leftmost label ("*.example.com").
bool valid_dns_san(std::string_view name);

}  // namespace netbox_ssl
