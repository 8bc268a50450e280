// libFuzzer target for the certificate request parser: parse_csr_pem (the
// input as text) and parse_csr_der (the input as bytes).
//
//  * an accepted request has NUL-free text fields, a 32-byte colon-hex
//    fingerprint and a "CERTIFICATE REQUEST" pem_content that parses back
//    (parse_csr_pem) to the same fingerprint, SPKI hash and subject;
//  * private keys: as fuzz_private_key checks for certificates, a line
//    "-----BEGIN <anything>PRIVATE KEY-----" (any case) must make
//    parse_csr_pem, and parse_csr_der for PEM-looking bytes, throw
//    ErrorKind::PrivateKey, and no Error message or detail may contain 16
//    consecutive base64 bytes of a PEM body;
//  * the OpenSSL error queue is empty after every call.
#include "fuzz_key_checks.hpp"

#include "core/csr.hpp"
#include "core/encoding.hpp"

#include <vector>

using namespace netbox_ssl;
using namespace netbox_ssl::fuzz;

namespace {

void check_csr(const CsrInfo& info) {
    auto check_text = [](const std::string& text, const char* field) {
        if (text.find('\0') != std::string::npos) fail("NUL byte in text field", field);
    };
    check_text(info.subject, "subject");
    if (info.common_name) check_text(*info.common_name, "common_name");
    for (const std::string& san : info.sans) check_text(san, "sans");
    check_text(info.algorithm, "algorithm");
    check_text(info.spki_sha256, "spki_sha256");
    check_text(info.signature_algorithm, "signature_algorithm");
    check_text(info.fingerprint_sha256, "fingerprint_sha256");
    if (info.fingerprint_sha256.size() != 32 * 3 - 1) fail("fingerprint is not 32 colon-separated bytes");
    if (info.pem_content.rfind("-----BEGIN CERTIFICATE REQUEST-----\n", 0) != 0) {
        fail("pem_content has no CERTIFICATE REQUEST header");
    }
    try {
        const CsrInfo again = parse_csr_pem(info.pem_content);
        if (again.fingerprint_sha256 != info.fingerprint_sha256) fail("pem_content parses to another fingerprint");
        if (again.spki_sha256 != info.spki_sha256) fail("pem_content parses to another spki_sha256");
        if (again.subject != info.subject) fail("pem_content parses to another subject");
        if (again.signature_valid != info.signature_valid) fail("pem_content parses to another signature verdict");
    } catch (const Error& e) {
        fail("pem_content of an accepted request is rejected", e.what());
    }
    require_empty_error_queue("parse_csr_pem(pem_content)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = as_view(data, size);
    const std::vector<std::string_view> lines = split_lines(text);
    const bool has_key = has_private_key_begin_line(lines);
    const Bodies bodies = pem_bodies(lines);
    const bool within_limit = size <= ParseOptions{}.max_input_bytes;

    auto check = [&](auto&& call, const char* name, bool key_must_be_refused) {
        try {
            const CsrInfo info = call();
            if (key_must_be_refused) fail("input with a PRIVATE KEY BEGIN line was accepted", name);
            require_empty_error_queue(name);
            check_csr(info);
        } catch (const Error& e) {
            if (key_must_be_refused && e.kind() != ErrorKind::PrivateKey) {
                fail("input with a PRIVATE KEY BEGIN line was not refused as PrivateKey", e.what());
            }
            check_no_echo(e.what(), bodies, "error message echoes PEM body bytes");
            check_no_echo(e.detail(), bodies, "error detail echoes PEM body bytes");
        }
        require_empty_error_queue(name);
    };

    check([&] { return parse_csr_pem(text); }, "parse_csr_pem", has_key && within_limit);
    check([&] { return parse_csr_der(text); }, "parse_csr_der", has_key && within_limit && looks_like_pem(text));
    return 0;
}
