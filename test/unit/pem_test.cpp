// PEM handling: splitting bundles, picking the leaf, ordering issuer_chain,
// tolerated variations of the armour, and the canonical pem_content.
//
// Expected PEM texts are the fixture files themselves: generate.sh writes
// every certificate with `openssl x509`, which emits exactly the canonical
// form (64-column base64 lines, "\n" line ends, CERTIFICATE label).
#include <gtest/gtest.h>

#include <string>

#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

// Replaces every "\n" by "\r\n".
std::string to_crlf(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
        s.replace(pos, from.size(), to);
    return s;
}

// The base64 body of a single-block PEM text, without line breaks.
std::string pem_body(const std::string& pem) {
    auto start = pem.find('\n', pem.find("-----BEGIN")) + 1;
    auto end = pem.find("-----END");
    std::string body;
    for (char c : pem.substr(start, end - start))
        if (c != '\n' && c != '\r') body += c;
    return body;
}

std::string rewrap(const std::string& pem, std::size_t width, const std::string& label = "CERTIFICATE") {
    const std::string body = pem_body(pem);
    std::string out = "-----BEGIN " + label + "-----\n";
    for (std::size_t i = 0; i < body.size(); i += width) out += body.substr(i, width) + "\n";
    return out + "-----END " + label + "-----\n";
}

class PemTest : public ::testing::Test {
protected:
    const std::string leaf = fixture("janus-old.pem");
    const std::string intermediate = fixture("intermediate.pem");
    const std::string root = fixture("root.pem");
    const std::string leaf_fp = parse_pem(leaf).fingerprint_sha256;
};

TEST_F(PemTest, ShuffledBundlePicksLeafAndOrdersChainLeafToRoot) {
    // bundle-shuffled.pem: root, text, leaf (CRLF lines), text, intermediate.
    const CertificateInfo info = parse_pem(fixture("bundle-shuffled.pem"));
    EXPECT_EQ(info.fingerprint_sha256, leaf_fp);
    EXPECT_EQ(info.pem_content, leaf);
    EXPECT_EQ(info.issuer_chain, intermediate + root);
}

TEST_F(PemTest, AnyBundleOrderGivesTheSameResult) {
    for (const std::string& text : {leaf + intermediate + root, root + intermediate + leaf,
                                    intermediate + leaf + root, intermediate + root + leaf}) {
        const CertificateInfo info = parse_pem(text);
        EXPECT_EQ(info.pem_content, leaf);
        EXPECT_EQ(info.issuer_chain, intermediate + root);
    }
}

TEST_F(PemTest, SingleCertificateHasEmptyChain) {
    EXPECT_EQ(parse_pem(leaf).issuer_chain, "");
    // A lone CA certificate is its own leaf.
    const CertificateInfo info = parse_pem(root);
    EXPECT_EQ(info.pem_content, root);
    EXPECT_EQ(info.issuer_chain, "");
}

TEST_F(PemTest, LeafWithIntermediateOnly) {
    const CertificateInfo info = parse_pem(intermediate + "\n" + leaf);
    EXPECT_EQ(info.pem_content, leaf);
    EXPECT_EQ(info.issuer_chain, intermediate);
}

TEST_F(PemTest, PemContentIsCanonicalAndRoundTrips) {
    // Input with 76-column lines (MIME style) and CRLF must come back in the
    // canonical 64-column "\n" form, byte for byte what openssl x509 writes.
    const CertificateInfo info = parse_pem(to_crlf(rewrap(leaf, 76)));
    EXPECT_EQ(info.pem_content, leaf);

    std::istringstream lines(info.pem_content);
    std::string line;
    std::size_t n = 0, short_lines = 0;
    while (std::getline(lines, line)) {
        ++n;
        if (line.rfind("-----", 0) == 0) continue;
        EXPECT_LE(line.size(), 64u);
        if (line.size() < 64) ++short_lines;
    }
    EXPECT_LE(short_lines, 1u) << "only the last base64 line may be short";
    ASSERT_FALSE(info.pem_content.empty());
    EXPECT_EQ(info.pem_content.back(), '\n');

    const CertificateInfo again = parse_pem(info.pem_content);
    EXPECT_EQ(again.fingerprint_sha256, info.fingerprint_sha256);
    EXPECT_EQ(again.pem_content, info.pem_content);
    EXPECT_EQ(again.subject, info.subject);
    EXPECT_EQ(again.serial_number, info.serial_number);
}

TEST_F(PemTest, OneLineBase64Body) {
    EXPECT_EQ(parse_pem(rewrap(leaf, 100000)).pem_content, leaf);
}

TEST_F(PemTest, X509CertificateLabel) {
    // "X509 CERTIFICATE" is the historic label OpenSSL still reads.
    const CertificateInfo info = parse_pem(replace_all(leaf, "CERTIFICATE", "X509 CERTIFICATE"));
    EXPECT_EQ(info.fingerprint_sha256, leaf_fp);
    EXPECT_EQ(info.pem_content, leaf) << "canonical output uses the CERTIFICATE label";
}

TEST_F(PemTest, TrustedCertificateLabel) {
    // trusted.pem is janus-old written by `openssl x509 -trustout`: the DER
    // certificate followed by trust settings; `openssl x509 -fingerprint`
    // reports janus-old's fingerprint for it, so the aux data is not part of
    // the certificate.
    const CertificateInfo info = parse_pem(fixture("trusted.pem"));
    EXPECT_EQ(info.fingerprint_sha256, leaf_fp);
    EXPECT_EQ(info.pem_content, leaf);
}

TEST_F(PemTest, CrlfLineEndings) {
    const CertificateInfo info = parse_pem(to_crlf(leaf));
    EXPECT_EQ(info.fingerprint_sha256, leaf_fp);
    EXPECT_EQ(info.pem_content, leaf);
}

TEST_F(PemTest, MixedLineEndingsAcrossBlocks) {
    const CertificateInfo info = parse_pem(to_crlf(intermediate) + leaf + to_crlf(root));
    EXPECT_EQ(info.pem_content, leaf);
    EXPECT_EQ(info.issuer_chain, intermediate + root);
}

TEST_F(PemTest, Utf8ByteOrderMark) {
    EXPECT_EQ(parse_pem("\xEF\xBB\xBF" + leaf).fingerprint_sha256, leaf_fp);
}

TEST_F(PemTest, WhitespaceAndTextAroundBlocks) {
    EXPECT_EQ(parse_pem("\n\n   \t" + leaf + "\n\n  \n").fingerprint_sha256, leaf_fp);
    EXPECT_EQ(parse_pem("Certificate for www.example.com:\n" + leaf + "-- end of mail --").fingerprint_sha256,
              leaf_fp);
    // No final newline after the END line.
    EXPECT_EQ(parse_pem(leaf.substr(0, leaf.size() - 1)).fingerprint_sha256, leaf_fp);
}

TEST_F(PemTest, DuplicateBlocksCollapse) {
    // Repeating a certificate adds no information: the result is as if it
    // appeared once (the leaf is not listed in its own chain, and the chain
    // has no repeats).
    CertificateInfo info = parse_pem(leaf + leaf);
    EXPECT_EQ(info.fingerprint_sha256, leaf_fp);
    EXPECT_EQ(info.issuer_chain, "");

    info = parse_pem(leaf + intermediate + intermediate + root + leaf);
    EXPECT_EQ(info.pem_content, leaf);
    EXPECT_EQ(info.issuer_chain, intermediate + root);
}

TEST_F(PemTest, NonCertificateBlocksAreIgnoredNextToACertificate) {
    // A CSR or other public block next to a certificate is not key material.
    const std::string csr = read_file(
        source_path("test/fixtures/corpus/malformed/cryptography-vectors/x509__requests__rsa_sha256.pem"));
    EXPECT_EQ(parse_pem(csr + leaf).fingerprint_sha256, leaf_fp);
}

TEST_F(PemTest, ParseDerAcceptsDerAndPemText) {
    const CertificateInfo from_der = parse_der(fixture("cert.der"));
    EXPECT_EQ(from_der.fingerprint_sha256, leaf_fp);
    EXPECT_EQ(from_der.pem_content, leaf);
    EXPECT_EQ(from_der.issuer_chain, "");
    // PEM text handed to parse_der (e.g. read with pg_read_binary_file).
    EXPECT_EQ(parse_der(leaf).fingerprint_sha256, leaf_fp);
    EXPECT_EQ(parse_der(fixture("bundle-shuffled.pem")).issuer_chain, intermediate + root);
}

TEST_F(PemTest, ParsePemAndParseDerAgree) {
    const CertificateInfo a = parse_pem(leaf);
    const CertificateInfo b = parse_der(fixture("cert.der"));
    EXPECT_EQ(a.subject, b.subject);
    EXPECT_EQ(a.issuer, b.issuer);
    EXPECT_EQ(a.serial_number, b.serial_number);
    EXPECT_EQ(a.valid_from, b.valid_from);
    EXPECT_EQ(a.valid_to, b.valid_to);
    EXPECT_EQ(a.sans, b.sans);
    EXPECT_EQ(a.spki_sha256, b.spki_sha256);
    EXPECT_EQ(a.common_name, b.common_name);
}

}  // namespace
}  // namespace netbox_ssl::test
