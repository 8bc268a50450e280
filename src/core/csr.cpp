#include "core/csr.hpp"

#include "core/encoding.hpp"

namespace netbox_ssl {
namespace {

void check_size(std::string_view input, const ParseOptions& options) {
    if (options.max_input_bytes != 0 && input.size() > options.max_input_bytes) {
        throw Error(ErrorKind::TooLarge,
                    "input is " + std::to_string(input.size()) + " bytes, more than the limit of " +
                        std::to_string(options.max_input_bytes) + " bytes");
    }
}

CsrInfo from_pem(std::string_view text, const ParseOptions& options) {
    std::vector<PemBlock> blocks = split_pem(text);  // refuses private keys first
    std::string* request = nullptr;
    int requests = 0;
    for (PemBlock& block : blocks) {
        if (block.kind == PemKind::CertificateRequest) {
            ++requests;
            if (request == nullptr) request = &block.der;
        }
    }
    if (requests == 0) {
        throw Error(ErrorKind::Malformed,
                    "input contains no certificate request (expected a -----BEGIN CERTIFICATE REQUEST----- block)");
    }
    if (requests > 1) {
        throw Error(ErrorKind::Malformed,
                    "input contains " + std::to_string(requests) + " certificate requests; pass them one at a time");
    }
    return parse_request_der(std::move(*request), options);
}

}  // namespace

CsrInfo parse_csr_pem(std::string_view text, const ParseOptions& options) {
    check_size(text, options);
    return from_pem(text, options);
}

CsrInfo parse_csr_der(std::string_view bytes, const ParseOptions& options) {
    check_size(bytes, options);
    if (bytes.empty()) throw Error(ErrorKind::Malformed, "input is empty");
    if (bytes.find("PuTTY-User-Key-File-") != std::string_view::npos) throw_private_key_found();
    if (looks_like_pem(bytes)) return from_pem(bytes, options);
    return parse_request_der(std::string(bytes), options);
}

}  // namespace netbox_ssl
