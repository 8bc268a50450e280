// libFuzzer target for chain validation (ChainValidator). The anchors are
// fixed: the root and the self-signed certificate of test/fixtures/chain
// (read once at start-up). The first input byte picks the case, the rest is
// a certificate or a bundle:
//
//   bit 0  0: the rest is the leaf (DER, or PEM text whose first certificate
//             is the leaf and the others its intermediates); the fixture
//             intermediate is in the shared pool.
//          1: the leaf is the fixture leaf and the rest holds the
//             intermediates for this call (DER, or PEM text); empty pool.
//   bit 1  host name "www.example.test" (else none)
//   bit 2  web_pki rules off
//   bits 3-4  validation time: 2030-01-01, 2020-01-01 (before the fixtures'
//             notBefore), 2200-01-01 (after their notAfter), 2030 again
//
// A bundle that does not decode is refused by CertificateSet with an Error
// (expected). Otherwise validate() must return (it may throw only Error of
// kind Internal) with a status from the enum, a non-empty valid UTF-8
// message, a depth within the chain, and every chain entry a fingerprint.
// The OpenSSL error queue must be empty after every call.
#include "fuzz_common.hpp"

#include "core/chain.hpp"
#include "core/encoding.hpp"

#include <fstream>
#include <memory>
#include <sstream>

#ifndef NETBOX_SSL_FIXTURES_DIR
#error "NETBOX_SSL_FIXTURES_DIR must name test/fixtures (set by CMakeLists.txt)"
#endif

using namespace netbox_ssl;

namespace {

std::string read_fixture(const char* name) {
    const std::string path = std::string(NETBOX_SSL_FIXTURES_DIR) + "/chain/" + name;
    std::ifstream in(path, std::ios::binary);
    if (!in) fuzz::fail("cannot read fixture", path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

struct Fixed {
    CertificateSet anchors;
    CertificateSet pool;      // the fixture intermediate
    CertificateSet no_pool;
    CertificateSet leaf;      // the fixture leaf
    std::unique_ptr<ChainValidator> with_pool;
    std::unique_ptr<ChainValidator> without_pool;
};

Fixed* fixed = nullptr;

bool known_status(ChainStatus s) {
    switch (s) {
        case ChainStatus::Valid:
        case ChainStatus::Invalid:
        case ChainStatus::SelfSigned:
        case ChainStatus::NoChain:
        case ChainStatus::UntrustedRoot:
        case ChainStatus::Expired:
        case ChainStatus::NotYetValid:
        case ChainStatus::HostnameMismatch:
        case ChainStatus::Unknown:
        case ChainStatus::Revoked:
            return true;
    }
    return false;
}

// Whether `bytes` decoded into `set`; a refusal must be an Error.
bool load(CertificateSet& set, std::string_view bytes) {
    try {
        if (looks_like_pem(bytes)) {
            if (set.add_pem(bytes) == 0) return false;
        } else {
            set.add_der(bytes);
        }
    } catch (const Error&) {
        fuzz::require_empty_error_queue("CertificateSet::add");
        return false;
    }
    fuzz::require_empty_error_queue("CertificateSet::add");
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fixed = new Fixed;
    fixed->anchors.add_pem(read_fixture("root.pem"));
    fixed->anchors.add_pem(read_fixture("self-signed.pem"));
    fixed->pool.add_pem(read_fixture("intermediate.pem"));
    fixed->leaf.add_pem(read_fixture("leaf.pem"));
    fixed->with_pool = std::make_unique<ChainValidator>(fixed->anchors, fixed->pool);
    fixed->without_pool = std::make_unique<ChainValidator>(fixed->anchors, fixed->no_pool);
    fuzz::require_empty_error_queue("fixture set-up");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const unsigned mode = data[0];
    const std::string_view rest = fuzz::as_view(data + 1, size - 1);

    ChainOptions options;
    static constexpr std::int64_t kTimes[] = {1893456000, 1577836800, 7258118400, 1893456000};
    options.at = kTimes[(mode >> 3) & 3u];
    if ((mode & 2u) != 0) options.hostname = "www.example.test";
    options.web_pki = (mode & 4u) == 0;

    CertificateSet fuzzed;
    if (!load(fuzzed, rest)) return 0;
    const CertificateSet empty;
    const bool fuzz_leaf = (mode & 1u) == 0;

    ChainResult result;
    try {
        result = fuzz_leaf ? fixed->with_pool->validate(fuzzed, empty, options)
                           : fixed->without_pool->validate(fixed->leaf, fuzzed, options);
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::Internal) fuzz::fail("validate threw an Error other than Internal", e.what());
        fuzz::require_empty_error_queue("ChainValidator::validate");
        return 0;
    }
    fuzz::require_empty_error_queue("ChainValidator::validate");

    if (!known_status(result.status)) fuzz::fail("status outside the enum");
    const std::string name = chain_status_name(result.status);
    if (name.empty()) fuzz::fail("status without a name");
    if (result.message.empty()) fuzz::fail("empty message", name);
    if (!fuzz::valid_utf8(result.message)) fuzz::fail("message is not valid UTF-8", result.message);
    if (result.message.find('\0') != std::string::npos) fuzz::fail("NUL byte in message");
    if (result.depth < 0) fuzz::fail("negative depth");
    if (!result.chain.empty() && static_cast<std::size_t>(result.depth) >= result.chain.size() + 1) {
        fuzz::fail("depth beyond the chain", result.message);
    }
    for (const std::string& fp : result.chain) {
        if (fp.size() != 32 * 3 - 1) fuzz::fail("chain entry is not a fingerprint", fp);
    }
    if (result.status == ChainStatus::Valid) {
        if (result.chain.empty()) fuzz::fail("valid without a chain");
        if (static_cast<std::size_t>(result.depth) + 1 != result.chain.size()) {
            fuzz::fail("valid: depth is not the anchor's position in the chain");
        }
    }
    return 0;
}
