// PKCS#7 / CMS input (parse_pem, parse_der) and the streaming BundleReader
// behind ssl_import_bundle: splitting, issuer chains, errors by ordinality.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/bundle_reader.hpp"
#include "core/encoding.hpp"
#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

std::string corpus(const std::string& relative) { return fixture(relative); }

std::vector<CertificateInfo> read_all(const std::string& input, bool text, ParseOptions options = {}) {
    BundleReader reader(input, text, options);
    reader.index_issuers();
    std::vector<CertificateInfo> out;
    CertificateInfo info;
    while (reader.next(info)) {
        out.push_back(info);
        EXPECT_EQ(reader.ordinality(), static_cast<int>(out.size()));
    }
    EXPECT_EQ(reader.count(), static_cast<int>(out.size()));
    return out;
}

// The reference: what parse_pem makes of the same three certificates.
const CertificateInfo& reference() {
    static const CertificateInfo info = parse_pem(fixture("bundle-shuffled.pem"));
    return info;
}

TEST(BundlePkcs7, DerBundlePicksTheLeafAsPemBundlesDo) {
    const CertificateInfo info = parse_der(fixture("bundle/chain.p7b"));
    EXPECT_EQ(info.fingerprint_sha256, reference().fingerprint_sha256);
    EXPECT_EQ(info.issuer_chain, reference().issuer_chain);
    EXPECT_EQ(info.pem_content, fixture("janus-old.pem"));
}

TEST(BundlePkcs7, PemLabelsPkcs7AndCms) {
    for (const char* name : {"bundle/chain.p7.pem", "bundle/chain-cms.pem"}) {
        const CertificateInfo info = parse_pem(fixture(name));
        EXPECT_EQ(info.fingerprint_sha256, reference().fingerprint_sha256) << name;
        EXPECT_EQ(info.issuer_chain, reference().issuer_chain) << name;
        // bytea input holding PEM text takes the same path
        EXPECT_EQ(parse_der(fixture(name)).fingerprint_sha256, reference().fingerprint_sha256) << name;
    }
}

TEST(BundlePkcs7, BerEnvelopeFromTheCorpus) {
    // amazon-roots.p7b uses indefinite lengths for its envelope; fingerprints
    // from the corpus index (openssl).
    const std::string p7b = corpus("bundle/corpus/amazon-roots.p7b");
    const auto all = read_all(p7b, false);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].fingerprint_sha256,
              "18:CE:6C:FE:7B:F1:4E:60:B2:E3:47:B8:DF:E8:68:CB:31:D0:2E:BB:3A:DA:27:15:69:F5:03:43:B4:6D:B3:A4");
    EXPECT_EQ(all[0].common_name, "Amazon Root CA 3");
    EXPECT_EQ(all[1].fingerprint_sha256,
              "1B:A5:B2:AA:8C:65:40:1A:82:96:01:18:F8:0B:EC:4F:62:30:4D:83:CE:C4:71:3A:19:C3:9C:01:1E:A4:6D:B4");
    EXPECT_EQ(all[1].key_size, 4096);
    // Two roots: each one's chain is empty.
    EXPECT_EQ(all[0].issuer_chain, "");
    EXPECT_EQ(all[1].issuer_chain, "");
    // ssl_parse: the first certificate that issues none of the others.
    EXPECT_EQ(parse_der(p7b).common_name, "Amazon Root CA 3");
}

TEST(BundlePkcs7, EmptyAndBrokenBundlesAreMalformed) {
    const std::string empty = fixture("bundle/empty.p7.pem");
    EXPECT_NE(expect_error(ErrorKind::Malformed, [&] { parse_pem(empty); }, "empty p7").find("without certificates"),
              std::string::npos);
    expect_error(ErrorKind::Malformed, [&] { read_all(empty, true); }, "empty p7 bundle");
    std::string der = fixture("bundle/chain.p7b");
    expect_error(ErrorKind::Malformed, [&] { parse_der(der + "x"); }, "trailing byte");
    std::string cut = der.substr(0, der.size() - 10);
    expect_error(ErrorKind::Malformed, [&] { parse_der(cut); }, "truncated p7b");
    // An envelopedData ContentInfo is not a bundle.
    std::string enveloped = der;
    enveloped[enveloped.find(std::string("\x2A\x86\x48\x86\xF7\x0D\x01\x07\x02", 9)) + 8] = 0x03;
    EXPECT_NE(expect_error(ErrorKind::Malformed, [&] { parse_der(enveloped); }, "envelopedData").find("not signedData"),
              std::string::npos);
}

TEST(BundlePkcs7, Pkcs12StaysRefused) {
    const std::string p12 = fixture("leaf-with-key.p12");
    expect_error(ErrorKind::Pkcs12, [&] { parse_der(p12); }, "p12");
    expect_error(ErrorKind::Pkcs12, [&] { read_all(p12, false); }, "p12 bundle");
}

TEST(BundleReader, EveryCertificateWithItsOwnChain) {
    const auto all = read_all(fixture("bundle-shuffled.pem"), true);
    ASSERT_EQ(all.size(), 3u);
    const std::string root = fixture("root.pem");
    const std::string intermediate = fixture("intermediate.pem");
    EXPECT_EQ(all[0].pem_content, root);
    EXPECT_EQ(all[0].issuer_chain, "");  // a root
    EXPECT_EQ(all[1].pem_content, fixture("janus-old.pem"));
    EXPECT_EQ(all[1].issuer_chain, intermediate + root);  // leaf to root, as parse_pem orders it
    EXPECT_EQ(all[1].issuer_chain, reference().issuer_chain);
    EXPECT_EQ(all[2].pem_content, intermediate);
    EXPECT_EQ(all[2].issuer_chain, root);
}

TEST(BundleReader, SameRowsFromPemDerAndPkcs7) {
    const auto pem = read_all(fixture("bundle-shuffled.pem"), true);
    for (const auto& [name, text] : std::vector<std::pair<std::string, bool>>{
             {"bundle/chain.p7b", false}, {"bundle/chain.p7.pem", true}, {"bundle/chain-cms.pem", false}}) {
        const auto other = read_all(fixture(name), text);
        ASSERT_EQ(other.size(), pem.size()) << name;
        for (std::size_t i = 0; i < pem.size(); ++i) {
            EXPECT_EQ(other[i].fingerprint_sha256, pem[i].fingerprint_sha256) << name << " #" << i;
            EXPECT_EQ(other[i].issuer_chain, pem[i].issuer_chain) << name << " #" << i;
        }
    }
}

TEST(BundleReader, ConcatenatedDerAndPkcs7) {
    // A DER certificate, then a PKCS#7 bundle, then the certificate again.
    const std::string input = fixture("cert.der") + fixture("bundle/chain.p7b") + fixture("cert.der");
    const auto all = read_all(input, false);
    ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(all[0].fingerprint_sha256, reference().fingerprint_sha256);
    EXPECT_EQ(all[0].issuer_chain, reference().issuer_chain);
    EXPECT_EQ(all[4].fingerprint_sha256, reference().fingerprint_sha256);
}

TEST(BundleReader, TrustedCertificatesAndOtherBlocks) {
    const std::string input = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n" + fixture("trusted.pem") +
                              fixture("csr/ed25519.csr.pem") + fixture("root.pem");
    const auto all = read_all(input, true);
    ASSERT_EQ(all.size(), 2u);  // the CRL and the request are skipped
    EXPECT_EQ(all[0].fingerprint_sha256, reference().fingerprint_sha256);
    EXPECT_EQ(all[0].issuer_chain, "");  // its issuer (the intermediate) is not in this bundle
    EXPECT_EQ(all[1].pem_content, fixture("root.pem"));
}

TEST(BundleReader, MalformedItemNamesItsOrdinality) {
    std::string broken = fixture("root.pem") + fixture("intermediate.pem");
    broken.insert(broken.rfind("-----END"), "!!!!\n");
    const std::string msg = expect_error(ErrorKind::Malformed, [&] { read_all(broken, true); }, "bad base64");
    EXPECT_EQ(msg.rfind("bundle item 2: ", 0), 0u) << msg;

    std::string bad_der = fixture("root.pem") + "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    const std::string msg2 = expect_error(ErrorKind::Malformed, [&] { read_all(bad_der, true); }, "bad der");
    EXPECT_EQ(msg2.rfind("bundle item 2: ", 0), 0u) << msg2;

    expect_error(ErrorKind::Malformed, [&] { read_all("no pem here", true); }, "no blocks");
    expect_error(ErrorKind::Malformed, [&] { read_all("", false); }, "empty");
}

// Found by fuzz_bundle: a DER certificate whose notAfter is not a valid time
// passed pass 1 (index_issuers) and was refused only by pass 2 (next), after
// the import had started writing rows. Pass 1 must refuse it.
TEST(BundleReader, Pass1RefusesAnInvalidDate) {
    const std::string der = read_file(source_path("test/fuzz/regressions/finding-bundle-pass1-accepts-invalid-notafter.der"));
    BundleReader reader(der, false, {});
    const std::string msg = expect_error(ErrorKind::Malformed, [&] { reader.index_issuers(); }, "pass 1");
    EXPECT_EQ(msg.rfind("bundle item 1: certificate has an invalid notAfter date", 0), 0u) << msg;
    expect_error(ErrorKind::Malformed, [&] { parse_der(der); }, "parse_der");
}

TEST(BundleReader, PrivateKeysRefusedWithTheUsualMessage) {
    const std::string with_key = fixture("root.pem") + fixture("leaf-with-key.pem");
    const std::string bundle_msg =
        expect_error(ErrorKind::PrivateKey, [&] { BundleReader r(with_key, true, {}); }, "pem key");
    const std::string parse_msg = expect_error(ErrorKind::PrivateKey, [&] { parse_pem(with_key); }, "parse");
    EXPECT_EQ(bundle_msg, parse_msg);
    const std::string der = fixture("cert.der") + fixture("key-only.der");
    expect_error(ErrorKind::PrivateKey, [&] { read_all(der, false); }, "der key");
}

TEST(BundleReader, SizeLimitAppliesPerCertificate) {
    ParseOptions small;
    small.max_input_bytes = 1000;  // DER sizes: leaf 894, root 1113 bytes
    const std::string input = fixture("janus-old.pem") + fixture("root.pem");
    const std::string msg = expect_error(ErrorKind::TooLarge, [&] { read_all(input, true, small); }, "limit");
    EXPECT_EQ(msg.rfind("bundle item 2: ", 0), 0u) << msg;
}

TEST(BundleReader, SplitterStreamsBlocks) {
    const std::string text = fixture("bundle-shuffled.pem");
    std::size_t pos = 0;
    PemBlock block{PemKind::Other, {}, {}};
    int n = 0;
    while (next_pem_block(text, pos, block)) ++n;
    EXPECT_EQ(n, 3);
    EXPECT_EQ(split_pem(text).size(), 3u);
}

}  // namespace
}  // namespace netbox_ssl::test
