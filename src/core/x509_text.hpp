// Text of certificate fields shared by the certificate and CSR parsers:
// names, strings, OIDs, times, serials, SANs, key types, digests, and the
// OpenSSL error-queue discipline. PostgreSQL-free, like all of src/core.
#pragma once

#include "core/certificate.hpp"
#include "core/openssl_ptr.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace netbox_ssl::detail {

using BioPtr = Owned<BIO, BIO_free_all>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;

// OPENSSL_free is a macro, so it cannot be a deleter by itself.
void free_openssl_bytes(unsigned char* p);

// Leaves the OpenSSL error queue empty on every exit path, including throws.
struct ErrorQueueGuard {
    ErrorQueueGuard() { ERR_clear_error(); }
    ~ErrorQueueGuard() { ERR_clear_error(); }
    ErrorQueueGuard(const ErrorQueueGuard&) = delete;
    ErrorQueueGuard& operator=(const ErrorQueueGuard&) = delete;
};

// The first queued reason ("OpenSSL reports: ...."), the queue then emptied.
std::string take_openssl_reason();

// Throws Error(Malformed).
[[noreturn]] void malformed(const std::string& message, std::string detail = {});

// SHA-256 of the bytes, colon hex.
std::string sha256_hex(const unsigned char* data, std::size_t len);

// A name as XN_FLAG_RFC2253 prints it (cached per thread by encoding).
std::string print_name(const X509_NAME* name);
std::string name_rfc2253(const X509_NAME* name);

// String values as valid UTF-8 without NUL bytes.
std::string asn1_string_text(const ASN1_STRING* value);
std::string ia5_text(const ASN1_STRING* value);
std::string oid_text(const ASN1_OBJECT* obj, bool numeric);

// Seconds since 1970; Error(Malformed) naming `which` when invalid.
// Seconds since 1970 of an ASN.1 time; Error(Malformed, invalid_message)
// with OpenSSL's reason when it cannot be read (certificates, CRLs, OCSP).
std::int64_t asn1_time_seconds(const ASN1_TIME* t, const std::string& invalid_message);
std::int64_t asn1_time_to_epoch(const ASN1_TIME* t, const char* which);

std::string serial_text(const ASN1_INTEGER* serial);

// "DNS:x", "IP:x", "Email:x", "URI:x", ...
std::string general_name_text(const GENERAL_NAME* gn);

// rsa|ecdsa|ed25519|ed448|dsa|unknown for a key algorithm NID.
std::string public_key_algorithm(int nid);

// Every non-ASCII byte as "\XX".
std::string escape_non_ascii(const std::string& text);

}  // namespace netbox_ssl::detail
