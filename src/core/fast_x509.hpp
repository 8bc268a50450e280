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
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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

// ---------------------------------------------------------------------------
// The lean decoder: a strict DER walker over the exact bytes, with no
// OpenSSL objects and no allocation but the extension list. It accepts only
// a strict subset of what d2i_X509 accepts (definite minimal lengths, the
// RFC 5280 structure with no unique identifiers, canonical BOOLEANs, BIT
// STRINGs without unused bits, valid OBJECT IDENTIFIERs and minimal
// INTEGERs, no repeated extension), so that every byte range below is
// exactly what OpenSSL would re-encode: the TBSCertificate can be hashed as
// it stands. Whatever it declines goes to decode_light, then d2i_X509.

struct LeanExtension {
    std::string_view oid;    // OBJECT IDENTIFIER content
    std::string_view value;  // OCTET STRING content
    std::string_view whole;  // the Extension's whole TLV
};

struct LeanCert {
    std::string_view tbs;            // the TBSCertificate's whole TLV
    std::string_view tbs_head;       // its content before the [3] extensions field
    std::string_view serial;         // INTEGER content (minimal)
    std::string_view sig_oid;        // the TBSCertificate's signature algorithm OID content
    std::string_view issuer;         // whole Name TLVs
    std::string_view subject;
    unsigned char not_before_tag = 0;
    unsigned char not_after_tag = 0;
    std::string_view not_before;     // UTCTime / GeneralizedTime content
    std::string_view not_after;
    std::string_view spki;           // SubjectPublicKeyInfo's whole TLV
    std::string_view key_oid;        // algorithm OID content
    std::string_view key_params;     // parameters' whole TLV, empty when absent
    std::string_view key;            // the public key BIT STRING's bytes (no unused bits)
    bool has_extensions = false;
    std::vector<LeanExtension> extensions;
};

// Structure only (no field is interpreted). False declines.
bool decode_lean(std::string_view der, LeanCert& out);

// One TLV at `pos` of `in` with a one-byte tag and a minimal definite
// length; false (pos unchanged) otherwise.
bool der_next(std::string_view in, std::size_t& pos, unsigned char& tag, std::string_view& content,
              std::string_view* whole = nullptr);

// Content of a valid OBJECT IDENTIFIER (as c2i_ASN1_OBJECT accepts it).
bool der_oid_valid(std::string_view content);

// UTCTime (tag 0x17, YYMMDDHHMMSSZ) or GeneralizedTime (0x18,
// YYYYMMDDHHMMSSZ) with valid calendar fields, as seconds since 1970; other
// forms decline (false).
bool lean_time(unsigned char tag, std::string_view content, std::int64_t& seconds);

// What EVP_PKEY_get_bits reports for an RSA key (RSAPublicKey in `key`) or
// an EC point on a named curve (`curve_oid`: namedCurve OID content), as
// key_bits does for decode_light; nullopt where that is not certain.
bool lean_rsa_bits(std::string_view key, std::optional<int>& bits);
bool lean_ec_bits(std::string_view curve_oid, std::string_view key, std::optional<int>& bits);

// Whether parse_der takes the lean path for these bytes (one DER
// certificate) rather than declining to the other decoders; for tests.
bool lean_path_accepts(std::string_view der);

}  // namespace netbox_ssl::detail
