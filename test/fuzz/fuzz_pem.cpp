// libFuzzer target: arbitrary text through split_pem and parse_pem.
// netbox_ssl::Error is an expected outcome; anything else (another exception,
// a sanitizer report, a non-empty OpenSSL error queue) is a finding.
#include "fuzz_common.hpp"

#include "core/encoding.hpp"

using namespace netbox_ssl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_view(data, size);

    bool split_ok = false;
    try {
        std::vector<PemBlock> blocks = split_pem(text);
        split_ok = true;
        for (const PemBlock& block : blocks) {
            if (block.label.empty()) fuzz::fail("split_pem returned an empty label");
            // Round trip: the canonical encoding of a block splits back to the same bytes.
            std::vector<PemBlock> again = split_pem(pem_encode(block.der, block.label));
            if (again.size() != 1 || again[0].der != block.der || again[0].label != block.label) {
                fuzz::fail("pem_encode/split_pem round trip changed a block", block.label);
            }
        }
    } catch (const Error&) {
    }
    fuzz::require_empty_error_queue("split_pem");

    bool parsed = false;
    try {
        CertificateInfo info = parse_pem(text);
        fuzz::check_info(info);
        parsed = true;
    } catch (const Error& e) {
        (void)e.kind();
    }
    fuzz::require_empty_error_queue("parse_pem");
    // parse_pem is split_pem plus decoding: it cannot accept broken armour.
    if (parsed && !split_ok) fuzz::fail("parse_pem accepted text that split_pem rejects");

    try {
        ParseOptions ascii;
        ascii.ascii_only = true;
        CertificateInfo info = parse_pem(text, ascii);
        fuzz::check_info(info);
        for (unsigned char c : info.common_name.value_or(std::string())) {
            if (c >= 0x80) fuzz::fail("ascii_only common_name has a non-ASCII byte");
        }
    } catch (const Error&) {
    }
    fuzz::require_empty_error_queue("parse_pem(ascii_only)");
    return 0;
}
