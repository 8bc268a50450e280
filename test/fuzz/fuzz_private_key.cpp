// libFuzzer target for the private-key refusal. For any input:
//  1. if some line reads "-----BEGIN <anything>PRIVATE KEY-----" (any letter
//     case; lines end at CR or LF), parse_pem must throw ErrorKind::PrivateKey;
//  2. no Error message or detail may contain 16 or more consecutive bytes of
//     the input's PEM bodies (the text between a BEGIN line and its END line),
//     so key material is never echoed back to the client. Only runs of base64
//     characters count, and only bytes that do not also occur outside the
//     bodies, so that fixed message text or a label (which messages may name)
//     copied by the fuzzer into a body is not mistaken for an echo.
#include "fuzz_key_checks.hpp"

#include "core/encoding.hpp"

#include <vector>

using namespace netbox_ssl;
using namespace netbox_ssl::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::as_view(data, size);
    const std::vector<std::string_view> lines = split_lines(text);
    const bool has_key = has_private_key_begin_line(lines);
    const Bodies bodies = pem_bodies(lines);
    // Above the default size limit parse_pem refuses before reading anything.
    const bool within_limit = size <= ParseOptions{}.max_input_bytes;

    auto check = [&](auto&& call, const char* name, bool key_must_be_refused) {
        try {
            call();
            if (key_must_be_refused) fuzz::fail("input with a PRIVATE KEY BEGIN line was accepted", name);
        } catch (const Error& e) {
            if (key_must_be_refused && e.kind() != ErrorKind::PrivateKey) {
                fuzz::fail("input with a PRIVATE KEY BEGIN line was not refused as PrivateKey", e.what());
            }
            check_no_echo(e.what(), bodies, "error message echoes PEM body bytes");
            check_no_echo(e.detail(), bodies, "error detail echoes PEM body bytes");
        }
        fuzz::require_empty_error_queue(name);
    };

    check([&] { (void)split_pem(text); }, "split_pem", has_key);
    check([&] { (void)parse_pem(text); }, "parse_pem", has_key && within_limit);
    // parse_der hands PEM-looking bytes to the same PEM path and must refuse alike.
    check([&] { (void)parse_der(text); }, "parse_der", has_key && within_limit && looks_like_pem(text));
    return 0;
}
