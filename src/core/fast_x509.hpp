// The fast certificate decoder, internal to the core (src/core only).
//
// OpenSSL 3's d2i_X509 decodes the subject public key through the provider
// decoder framework, which costs most of its time, although the parser only
// needs the key's algorithm, its size and the SubjectPublicKeyInfo bytes.
// decode_light() decodes the same certificate structure with OpenSSL's own
// ASN.1 item types, but keeps the SubjectPublicKeyInfo as its algorithm
// identifier and bit string, and derives the key size from those with the
// same OpenSSL functions the key decoders use. Whenever that could disagree
// with d2i_X509 (an unusual key type, explicit curve parameters, non-DER
// key encoding, trailing bytes) it declines, and the caller uses d2i_X509.
#pragma once

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace netbox_ssl::detail {

// The parts of a certificate that the parser reads, whichever decoder
// produced them. The pointers belong to the decoded certificate.
struct CertFields {
    const X509_NAME* subject = nullptr;
    const X509_NAME* issuer = nullptr;
    const ASN1_INTEGER* serial = nullptr;
    const ASN1_TIME* not_before = nullptr;
    const ASN1_TIME* not_after = nullptr;
    const STACK_OF(X509_EXTENSION)* extensions = nullptr;  // null when absent
    const X509_ALGOR* tbs_signature = nullptr;             // inside tbsCertificate
    const ASN1_OBJECT* key_algorithm = nullptr;            // SubjectPublicKeyInfo OID
};

struct LightCert;  // defined in fast_x509.cpp
struct LightCertFree {
    void operator()(LightCert* cert) const noexcept;
};
using LightCertPtr = std::unique_ptr<LightCert, LightCertFree>;

// Decodes `len` bytes as exactly one certificate. Returns null, with the
// OpenSSL error queue empty, when the bytes are not a certificate, have bytes
// after it, or when the fast path cannot promise the same columns as
// d2i_X509: then the caller must decode with d2i_X509 (which also produces
// the error for input that is not a certificate at all).
LightCertPtr decode_light(const unsigned char* der, std::size_t len);

CertFields fields_of(const LightCert& cert);

// The SubjectPublicKeyInfo's bytes in the certificate; decode_light checked
// that they are what i2d_X509_PUBKEY writes for the decoded key.
std::string_view spki_der(const LightCert& cert);

// What EVP_PKEY_get_bits reports for the key d2i_X509 would have decoded, or
// nullopt where that decode fails or the key type has no size column
// (Ed25519, Ed448). Leaves the OpenSSL error queue empty.
std::optional<int> key_bits(const LightCert& cert);

// The TBSCertificate re-encoded in DER without the CT poison and SCT list
// extensions (the extensions field is omitted when nothing else is left), or
// nullopt when OpenSSL cannot encode it. Leaves the error queue empty.
std::optional<std::string> tbs_der_without_ct(const LightCert& cert);

}  // namespace netbox_ssl::detail
