// issuer_cn, issuer_org and tbs_sha256 (docs/intelligence.md).
//
// issuer_cn / issuer_org are compared with what the openssl CLI printed for
// every certificate of the shared corpus (its index.tsv), and with the CLI
// itself over the fixtures. tbs_sha256 is checked on precertificate/final
// pairs generated at test time by test/fixtures/mkct.py, on both decoders.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/encoding.hpp"
#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> out;
    std::string cell;
    std::istringstream in(line);
    while (std::getline(in, cell, '\t')) out.push_back(cell);
    if (!line.empty() && line.back() == '\t') out.emplace_back();
    return out;
}

std::string sha256_lower_hex(const std::string& bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += digits[md[i] >> 4];
        out += digits[md[i] & 15];
    }
    return out;
}

std::string opt(const std::optional<std::string>& v) { return v ? *v : ""; }

TEST(IntelIssuerNames, MatchCorpusIndex) {
    const std::string root = "/work/shared/corpus";
    std::error_code ec;
    if (!fs::is_regular_file(root + "/index.tsv", ec)) GTEST_SKIP() << "shared corpus not present";
    std::istringstream index(read_file(root + "/index.tsv"));
    std::string line;
    std::getline(index, line);
    const std::vector<std::string> header = split_tabs(line);
    ASSERT_GE(header.size(), 12U);
    ASSERT_EQ(header[3], "sha256_der");
    ASSERT_EQ(header[5], "issuer_cn");
    ASSERT_EQ(header[6], "issuer_o");
    int compared = 0;
    int with_org = 0;
    std::map<std::string, std::vector<std::string>> der_by_file;  // every certificate DER of a file
    while (std::getline(index, line)) {
        const std::vector<std::string> row = split_tabs(line);
        if (row.size() < 12 || row[3].empty() || row[11] != "yes") continue;
        const std::string format = row[1];
        if (format != "PEM" && format != "PEM(+openssl-text)" && format != "DER") continue;
        const std::string file = row[0].substr(0, row[0].find('#'));
        auto& ders = der_by_file[file];
        if (ders.empty()) {
            const std::string bytes = read_file(root + "/" + file);
            if (format == "DER") {
                ders.push_back(bytes);
            } else {
                try {
                    for (const PemBlock& b : split_pem(bytes)) {
                        if (b.kind != PemKind::Other) ders.push_back(b.der);
                    }
                } catch (const Error&) {
                    continue;  // a key in the file: the certificate rows are not ours to check
                }
            }
        }
        for (const std::string& der : ders) {
            if (sha256_lower_hex(der) != row[3]) continue;
            CertificateInfo info;
            try {
                info = parse_der(der);
            } catch (const Error&) {
                break;  // refused by the parser (BER, ...): not this test's subject
            }
            EXPECT_EQ(opt(info.issuer_cn), row[5]) << row[0] << ": issuer_cn";
            EXPECT_EQ(opt(info.issuer_org), row[6]) << row[0] << ": issuer_org";
            ++compared;
            if (!row[6].empty()) ++with_org;
            break;
        }
    }
    EXPECT_GT(compared, 600) << "too few corpus certificates compared";
    EXPECT_GT(with_org, 400);
}

// The first CN and O of the issuer as `openssl x509 -issuer -nameopt
// utf8,sep_multiline,sname` prints them (RFC 2253 escaping off, UTF-8 on).
std::pair<std::string, std::string> openssl_issuer_fields(const std::string& path) {
    const std::string cmd = "openssl x509 -in '" + path +
                            "' -noout -issuer -nameopt utf8,sep_multiline,sname,-esc_msb,-esc_2253 2>/dev/null";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    std::string out;
    std::array<char, 512> buf{};
    while (pipe && fgets(buf.data(), buf.size(), pipe.get()) != nullptr) out += buf.data();
    std::string cn;
    std::string org;
    std::istringstream lines(out);
    std::string l;
    bool have_cn = false;
    bool have_o = false;
    while (std::getline(lines, l)) {
        const auto start = l.find_first_not_of(' ');
        if (start == std::string::npos) continue;
        l = l.substr(start);
        if (!have_cn && l.rfind("CN=", 0) == 0) {
            cn = l.substr(3);
            have_cn = true;
        } else if (!have_o && l.rfind("O=", 0) == 0) {
            org = l.substr(2);
            have_o = true;
        }
    }
    return {cn, org};
}

TEST(IntelIssuerNames, MatchOpensslCliOnFixtures) {
    int compared = 0;
    for (const char* name : {"trusted.pem", "intermediate.pem", "root.pem", "utf8-subject.pem", "janus-old.pem",
                             "no-cn.pem", "p384.pem", "ed25519.pem", "san-mixed.pem", "v1.pem"}) {
        const CertificateInfo info = parse_pem(fixture(name));
        const auto [cn, org] = openssl_issuer_fields(fixture_path(name));
        EXPECT_EQ(opt(info.issuer_cn), cn) << name;
        EXPECT_EQ(opt(info.issuer_org), org) << name;
        ++compared;
    }
    EXPECT_EQ(compared, 10);
}

// One run of the generator: a precertificate, its final certificate and
// near-twins, all from one key and CA.
class IntelTbs : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        dir_ = (fs::temp_directory_path() / ("netbox_ssl_mkct_" + std::to_string(::getpid()))).string();
        const std::string cmd = "python3 '" + source_path("test/fixtures/mkct.py") + "' pair '" + dir_ + "'";
        generated_ = std::system(cmd.c_str()) == 0;
    }
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    void SetUp() override {
        if (!generated_) GTEST_SKIP() << "test/fixtures/mkct.py failed (is python3-cryptography installed?)";
    }
    static CertificateInfo parse(const std::string& label, bool full) {
        ParseOptions options;
        options.force_full_parse = full;
        return parse_pem(read_file(dir_ + "/" + label + ".pem"), options);
    }
    static std::string dir_;
    static bool generated_;
};
std::string IntelTbs::dir_;
bool IntelTbs::generated_ = false;

TEST_F(IntelTbs, PrecertificateAndFinalHashAlike) {
    for (bool full : {false, true}) {
        const CertificateInfo pre = parse("precert", full);
        const CertificateInfo fin = parse("final", full);
        EXPECT_NE(pre.fingerprint_sha256, fin.fingerprint_sha256);
        EXPECT_EQ(pre.tbs_sha256, fin.tbs_sha256) << (full ? "reference path" : "fast path");
        EXPECT_EQ(pre.spki_sha256, fin.spki_sha256);
        EXPECT_EQ(pre.tbs_sha256.size(), 95U);  // 32 bytes as colon hex
        EXPECT_EQ(pre.tbs_sha256.find_first_of("abcdef"), std::string::npos) << "uppercase hex";
    }
}

TEST_F(IntelTbs, NearTwinsDoNotHashAlike) {
    const CertificateInfo fin = parse("final", false);
    for (const char* label : {"twin-serial", "twin-san", "samekey", "other"}) {
        const CertificateInfo twin = parse(label, false);
        EXPECT_NE(twin.tbs_sha256, fin.tbs_sha256) << label;
        EXPECT_EQ(twin.tbs_sha256, parse(label, true).tbs_sha256) << label << ": paths disagree";
    }
    EXPECT_EQ(parse("samekey", false).spki_sha256, fin.spki_sha256);
    EXPECT_NE(parse("other", false).spki_sha256, fin.spki_sha256);
}

// Without CT extensions, the hash is that of the TBSCertificate as received
// (a DER certificate re-encodes to itself).
TEST_F(IntelTbs, PlainCertificateHashesItsOwnTbs) {
    const std::string der = [] {
        const std::vector<PemBlock> blocks = split_pem(read_file(dir_ + "/ca.pem"));
        return blocks.at(0).der;
    }();
    // The TBSCertificate is the first element of the outer SEQUENCE; both
    // lengths here are in long form with the given number of octets.
    auto header_len = [&](std::size_t at) {
        const auto first = static_cast<unsigned char>(der[at + 1]);
        return first < 0x80 ? std::size_t{2} : std::size_t{2} + (first & 0x7F);
    };
    auto content_len = [&](std::size_t at) {
        const auto first = static_cast<unsigned char>(der[at + 1]);
        if (first < 0x80) return std::size_t{first};
        std::size_t n = 0;
        for (std::size_t i = 0; i < (first & 0x7Fu); ++i) n = n * 256 + static_cast<unsigned char>(der[at + 2 + i]);
        return n;
    };
    const std::size_t tbs_at = header_len(0);
    const std::string tbs = der.substr(tbs_at, header_len(tbs_at) + content_len(tbs_at));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(tbs.data(), tbs.size(), md, &len, EVP_sha256(), nullptr);
    EXPECT_EQ(parse("ca", false).tbs_sha256, colon_hex(md, len));
    EXPECT_EQ(parse("ca", true).tbs_sha256, colon_hex(md, len));
}

// A real certificate against pyca/cryptography's test vector of its
// precertificate's TBSCertificate (what the CT log signed in the SCTs).
TEST(IntelTbsReal, MatchesPycaPrecertificateTbs) {
    const std::string tbs = fixture("intel/cryptography-scts-tbs-precert.der");
    ASSERT_FALSE(tbs.empty());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(tbs.data(), tbs.size(), md, &len, EVP_sha256(), nullptr);
    for (bool full : {false, true}) {
        ParseOptions options;
        options.force_full_parse = full;
        const CertificateInfo info = parse_pem(fixture("intel/cryptography-scts.pem"), options);
        EXPECT_EQ(info.tbs_sha256, colon_hex(md, len)) << (full ? "reference path" : "fast path");
        EXPECT_NE(info.tbs_sha256, info.fingerprint_sha256);
        EXPECT_EQ(opt(info.issuer_cn), "Let's Encrypt Authority X3");
        EXPECT_EQ(opt(info.issuer_org), "Let's Encrypt");
    }
}

}  // namespace
}  // namespace netbox_ssl::test
