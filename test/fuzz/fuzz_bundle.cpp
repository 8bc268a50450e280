// libFuzzer target for the streaming bundle reader (BundleReader): PEM
// streams, PKCS#7 / CMS certs-only SignedData (DER or PEM) and concatenated
// DER. The input goes through the reader twice, as text (text=true) and as
// bytes (text=false), each time pass 1 (index_issuers) and pass 2 (next until
// the end or an Error). Pass 2 also runs on a fresh reader when pass 1 threw,
// so items after a bad one are reached too.
//
// Invariants, all of which hold by construction:
//  * every yielded certificate passes check_info, and its DER (the body of
//    its pem_content) re-parses with parse_der to the same fingerprint;
//  * every block of its issuer_chain is a certificate that parses;
//  * ordinality() counts the certificates yielded so far;
//  * when pass 1 succeeded, pass 2 yields exactly count() certificates and
//    does not throw (pass 1 has already refused every bad item);
//  * the OpenSSL error queue is empty after every call.
#include "fuzz_common.hpp"

#include "core/bundle_reader.hpp"
#include "core/encoding.hpp"

#include <vector>

using namespace netbox_ssl;

namespace {

std::string der_of(const std::string& pem) {
    std::vector<PemBlock> blocks = split_pem(pem);
    if (blocks.size() != 1) fuzz::fail("pem_content is not exactly one PEM block");
    return std::move(blocks.front().der);
}

void check_certificate(const CertificateInfo& info) {
    fuzz::check_info(info);
    try {
        const CertificateInfo again = parse_der(der_of(info.pem_content));
        if (again.fingerprint_sha256 != info.fingerprint_sha256) {
            fuzz::fail("yielded certificate does not re-parse to the same fingerprint");
        }
        if (!info.issuer_chain.empty()) {
            for (const PemBlock& block : split_pem(info.issuer_chain)) {
                if (block.label != "CERTIFICATE") fuzz::fail("issuer_chain holds a non-CERTIFICATE block");
                (void)parse_der(block.der);
            }
        }
    } catch (const Error& e) {
        fuzz::fail("yielded certificate (or its issuer_chain) does not re-parse", e.what());
    }
    fuzz::require_empty_error_queue("parse_der(yielded certificate)");
}

// Pass 2 on `reader`; returns the number of certificates yielded, or -1 when
// next() threw.
int walk(BundleReader& reader) {
    int yielded = 0;
    for (;;) {
        CertificateInfo info;
        bool has = false;
        try {
            has = reader.next(info);
        } catch (const Error&) {
            fuzz::require_empty_error_queue("BundleReader::next");
            return -1;
        }
        fuzz::require_empty_error_queue("BundleReader::next");
        if (!has) return yielded;
        ++yielded;
        if (reader.ordinality() != yielded) fuzz::fail("ordinality() does not count the yielded certificates");
        check_certificate(info);
    }
}

void run(std::string_view input, bool text) {
    const ParseOptions options;
    bool indexed = false;
    int count = 0;
    try {
        BundleReader reader(input, text, options);
        fuzz::require_empty_error_queue("BundleReader::BundleReader");
        try {
            reader.index_issuers();
            indexed = true;
            count = reader.count();
            if (count <= 0) fuzz::fail("index_issuers succeeded with no certificate");
            if (reader.issuer_count() > static_cast<std::size_t>(count)) fuzz::fail("more issuers than certificates");
        } catch (const Error&) {
        }
        fuzz::require_empty_error_queue("BundleReader::index_issuers");
        if (indexed) {
            const int yielded = walk(reader);
            if (yielded < 0) fuzz::fail("pass 2 threw after pass 1 accepted the bundle");
            if (yielded != count) fuzz::fail("pass 2 yielded a different number of certificates than pass 1 counted");
        }
    } catch (const Error&) {
        fuzz::require_empty_error_queue("BundleReader::BundleReader");
        return;  // the constructor refused the input (empty, private key)
    }
    if (!indexed) {
        // Pass 2 without pass 1 (no issuers indexed): reaches the items
        // after the one pass 1 refused, and must fail or end just as cleanly.
        BundleReader fresh(input, text, options);
        (void)walk(fresh);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input = fuzz::as_view(data, size);
    run(input, true);
    run(input, false);
    return 0;
}
