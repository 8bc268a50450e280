// Shared checks for the libFuzzer targets in test/fuzz. Not part of the core
// library: built only with -DNETBOX_SSL_FUZZ=ON (see CMakeLists.txt).
#pragma once

#include <openssl/err.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/certificate.hpp"

namespace netbox_ssl::fuzz {

// Prints a reason and aborts, so libFuzzer records the input as a crash.
[[noreturn]] inline void fail(const char* what, std::string_view extra = {}) {
    std::fprintf(stderr, "fuzz invariant violated: %s", what);
    if (!extra.empty()) std::fprintf(stderr, " [%.*s]", static_cast<int>(extra.size()), extra.data());
    std::fputc('\n', stderr);
    std::abort();
}

// The core must leave OpenSSL's per-thread error queue empty after every
// call, whether it returned or threw.
inline void require_empty_error_queue(const char* call) {
    unsigned long code = ERR_peek_error();
    if (code != 0) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        std::fprintf(stderr, "OpenSSL error queue not empty after %s: %s\n", call, buffer);
        std::abort();
    }
}

// Touches every field so that ASan sees any string built from freed or
// uninitialised storage, and checks the documented text guarantees.
inline void check_info(const CertificateInfo& info) {
    auto check_text = [](const std::string& text, const char* field) {
        if (text.find('\0') != std::string::npos) fail("NUL byte in text field", field);
    };
    if (info.common_name) check_text(*info.common_name, "common_name");
    check_text(info.subject, "subject");
    check_text(info.issuer, "issuer");
    check_text(info.serial_number, "serial_number");
    check_text(info.fingerprint_sha256, "fingerprint_sha256");
    for (const std::string& san : info.sans) check_text(san, "sans");
    check_text(info.algorithm, "algorithm");
    check_text(info.signature_algorithm, "signature_algorithm");
    check_text(info.spki_sha256, "spki_sha256");
    check_text(info.pem_content, "pem_content");
    check_text(info.issuer_chain, "issuer_chain");
    if (info.fingerprint_sha256.size() != 32 * 3 - 1) fail("fingerprint is not 32 colon-separated bytes");
    if (info.pem_content.rfind("-----BEGIN CERTIFICATE-----\n", 0) != 0) fail("pem_content has no CERTIFICATE header");
}

// Well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points
// above U+10FFFF).
inline bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) { ++i; continue; }
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1Fu; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0Fu; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07u; }
        else return false;
        if (i + n >= s.size()) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0u) != 0x80u) return false;
            cp = (cp << 6) | (d & 0x3Fu);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

}  // namespace netbox_ssl::fuzz
