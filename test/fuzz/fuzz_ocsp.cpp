// libFuzzer target for the OCSP response parser and verifier:
// parse_ocsp_response, verify_ocsp_response and ocsp_single_matches_issuer
// against the input itself as a would-be issuer.
//
//  * a successful response has at least one single response, each with a
//    known certificate status; a revoked one has its revocation time;
//  * errors are netbox_ssl::Error only; the OpenSSL error queue is empty
//    after every call.
#include "fuzz_common.hpp"

#include "core/ocsp.hpp"

using namespace netbox_ssl;
using namespace netbox_ssl::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    try {
        const OcspInfo info = parse_ocsp_response(input);
        if (info.response_status == "successful") {
            if (info.responses.empty()) fail("successful response without single responses");
            for (const OcspSingle& s : info.responses) {
                if (s.status != "good" && s.status != "revoked" && s.status != "unknown") fail("bad status");
                if (s.status == "revoked" && !s.revoked_at) fail("revoked without a time");
            }
            try {
                (void)verify_ocsp_response(input, input, 0);
            } catch (const Error&) {
            }
            try {
                (void)ocsp_single_matches_issuer(info.responses[0], input);
            } catch (const Error&) {
            }
        } else if (!info.responses.empty()) {
            fail("non-successful response with single responses");
        }
    } catch (const Error&) {
    }
    require_empty_error_queue("parse_ocsp_response");
    return 0;
}
