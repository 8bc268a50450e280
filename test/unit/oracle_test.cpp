// Compares the core's parse of every oracle certificate with what the
// OpenSSL command-line tool printed for it (test/unit/oracle.tsv, written by
// test/unit/make-oracle.sh). One test per certificate, so a failure names
// the file. An empty oracle cell means "not checked"; "-" means OpenSSL shows
// the field is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

constexpr const char* kAbsent = "-";

struct OracleRow {
    std::map<std::string, std::string> cols;
    const std::string& operator[](const std::string& k) const { return cols.at(k); }
};

// Failure messages name the file rather than dumping the row's bytes.
void PrintTo(const OracleRow& row, std::ostream* os) { *os << row["file"]; }

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

std::vector<OracleRow> load_oracle() {
    std::ifstream in(source_path("test/unit/oracle.tsv"), std::ios::binary);
    std::vector<OracleRow> rows;
    std::vector<std::string> header;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        auto fields = split(line, '\t');
        if (header.empty()) {
            header = fields;
            continue;
        }
        OracleRow row;
        for (std::size_t i = 0; i < header.size(); ++i)
            row.cols[header[i]] = i < fields.size() ? fields[i] : "";
        rows.push_back(row);
    }
    return rows;
}

const std::vector<OracleRow>& oracle() {
    static const std::vector<OracleRow> rows = load_oracle();
    return rows;
}

// How netbox_ssl names a key type, given the "Public Key Algorithm:" text of
// `openssl x509 -text` (the contract in certificate.hpp).
std::string expected_algorithm(const std::string& openssl_name) {
    if (openssl_name == "rsaEncryption" || openssl_name == "rsassaPss") return "rsa";
    if (openssl_name == "id-ecPublicKey") return "ecdsa";
    if (openssl_name == "ED25519") return "ed25519";
    if (openssl_name == "ED448") return "ed448";
    if (openssl_name == "dsaEncryption") return "dsa";
    return "unknown";
}

// The contract does not fix the text form of spki_sha256, so compare the
// digest itself: accept hex (any case, with or without colons) or base64.
std::string normalise_digest(const std::string& s) {
    std::string hex;
    bool is_hex = true;
    for (char c : s) {
        if (c == ':') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) is_hex = false;
        hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (is_hex && hex.size() == 64) return hex;
    static const std::string b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string bytes;
    unsigned acc = 0;
    int bits = 0;
    for (char c : s) {
        if (c == '=') break;
        auto p = b64.find(c);
        if (p == std::string::npos) return "unrecognised digest text: " + s;
        acc = (acc << 6) | static_cast<unsigned>(p);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out.size() == 64 ? out : "unrecognised digest text: " + s;
}

class OracleTest : public ::testing::TestWithParam<OracleRow> {};

TEST(OracleFile, IsPresentAndCoversFixturesAndCorpus) {
    const auto& rows = oracle();
    ASSERT_GT(rows.size(), 100u) << "test/unit/oracle.tsv missing or short; run test/unit/make-oracle.sh";
    std::size_t corpus = std::count_if(rows.begin(), rows.end(), [](const OracleRow& r) {
        return r["file"].rfind("test/fixtures/corpus/", 0) == 0;
    });
    EXPECT_GE(corpus, 100u);
}

TEST_P(OracleTest, MatchesOpenSslCli) {
    const OracleRow& row = GetParam();
    const std::string path = row["file"];
    const std::string bytes = read_file(source_path(path));
    ASSERT_FALSE(bytes.empty());

    CertificateInfo info;
    try {
        const bool der = path.size() > 4 && path.compare(path.size() - 4, 4, ".der") == 0;
        info = der ? parse_der(bytes) : parse_pem(bytes);
    } catch (const Error& e) {
        // A date OpenSSL itself prints as "Bad time value" (oracle cell
        // empty) cannot become valid_from/valid_to; refusing it is allowed.
        if (e.kind() == ErrorKind::Malformed && (row["not_before"].empty() || row["not_after"].empty()))
            GTEST_SKIP() << path << ": refused, OpenSSL cannot print its validity either: " << e.what();
        FAIL() << path << ": OpenSSL parses this certificate but the core threw "
               << kind_name(e.kind()) << ": " << e.what() << " / " << e.detail();
    }

    // EXPECT_* expand to if/else, hence the braces below.
    auto check = [&](const char* col, const std::string& got) {
        const std::string& want = row[col];
        if (!want.empty()) {
            EXPECT_EQ(got, want) << path << " column " << col;
        }
    };
    auto check_optional = [&](const char* col, const std::optional<std::string>& got) {
        const std::string& want = row[col];
        if (want.empty()) return;
        if (want == kAbsent) {
            EXPECT_FALSE(got.has_value()) << path << " column " << col << " got " << got.value_or("");
        } else {
            EXPECT_EQ(got.value_or("<nullopt>"), want) << path << " column " << col;
        }
    };

    check("subject", info.subject);
    check("issuer", info.issuer);
    check("serial", info.serial_number);
    check("fingerprint_sha256", info.fingerprint_sha256);
    if (!row["not_before"].empty()) {
        EXPECT_EQ(info.valid_from, std::stoll(row["not_before"])) << path << " not_before";
    }
    if (!row["not_after"].empty()) {
        EXPECT_EQ(info.valid_to, std::stoll(row["not_after"])) << path << " not_after";
    }
    check("signature_algorithm", info.signature_algorithm);
    if (!row["is_ca"].empty()) {
        EXPECT_EQ(info.is_ca, row["is_ca"] == "t") << path << " is_ca";
    }
    check_optional("subject_key_id", info.subject_key_id);
    check_optional("authority_key_id", info.authority_key_id);
    if (!row["spki_sha256"].empty()) {
        EXPECT_EQ(normalise_digest(info.spki_sha256), normalise_digest(row["spki_sha256"]))
            << path << " spki_sha256 (raw: " << info.spki_sha256 << ")";
    }
    if (!row["public_key_algorithm"].empty()) {
        EXPECT_EQ(info.algorithm, expected_algorithm(row["public_key_algorithm"]))
            << path << " algorithm (OpenSSL: " << row["public_key_algorithm"] << ")";
    }
    if (row["key_bits"] == kAbsent) {
        EXPECT_FALSE(info.key_size.has_value()) << path << " key_size " << info.key_size.value_or(-1);
    } else if (!row["key_bits"].empty()) {
        EXPECT_EQ(info.key_size.value_or(-1), std::stoi(row["key_bits"])) << path << " key_size";
    }
    if (row["sans"] == kAbsent) {
        EXPECT_TRUE(info.sans.empty()) << path << " sans: expected none, got " << info.sans.size();
    } else if (!row["sans"].empty()) {
        EXPECT_EQ(info.sans, split(row["sans"], '|')) << path << " sans";
    }
}

INSTANTIATE_TEST_SUITE_P(Certificates, OracleTest, ::testing::ValuesIn(oracle()),
                         [](const ::testing::TestParamInfo<OracleRow>& info) {
                             std::string p = info.param["file"];
                             const std::string prefix = "test/fixtures/";
                             if (p.rfind(prefix, 0) == 0) p = p.substr(prefix.size());
                             // The index keeps names unique after sanitising.
                             return test_name_for(p) + "_" + std::to_string(info.index);
                         });

}  // namespace
}  // namespace netbox_ssl::test
