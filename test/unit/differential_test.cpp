// Differential test of the fast decoder (src/core/fast_x509.cpp) against the
// reference path (d2i_X509, ParseOptions::force_full_parse): for every input
// both must either produce identical CertificateInfo, field by field, or fail
// with the same ErrorKind and message.
//
// Inputs: every file under test/fixtures/ (certificates, bundles, keys and
// other non-certificates alike), every file of the shared developer corpus
// when /work/shared/corpus exists, a few hundred certificates generated here
// with OpenSSL's API (key types, extensions, names, serials, dates), keys
// with unusual or broken SubjectPublicKeyInfo contents, a non-DER SPKI, and
// byte mutations of generated certificates.
#include "core/openssl_ptr.hpp"
#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/encoding.hpp"
#include "core/fast_x509.hpp"
#include "core/x509_text.hpp"
#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

namespace fs = std::filesystem;

using netbox_ssl::Owned;
using X509Ptr = Owned<X509, X509_free>;
using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using PkeyCtxPtr = Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using ExtPtr = Owned<X509_EXTENSION, X509_EXTENSION_free>;
using BnPtr = Owned<BIGNUM, BN_free>;

std::string to_der_any(const X509* cert) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    std::string out = len > 0 ? std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(len)) : "";
    OPENSSL_free(der);
    return out;
}

struct Outcome {
    bool ok = false;
    CertificateInfo info;
    ErrorKind kind = ErrorKind::Internal;
    std::string message;
};

Outcome run(bool full, bool pem_api, const std::string& input) {
    ParseOptions options;
    options.max_input_bytes = 0;
    options.force_full_parse = full;
    Outcome out;
    try {
        out.info = pem_api ? parse_pem(input, options) : parse_der(input, options);
        out.ok = true;
    } catch (const Error& e) {
        out.kind = e.kind();
        out.message = std::string(e.what()) + " | " + e.detail();
    }
    EXPECT_EQ(ERR_peek_error(), 0UL) << "OpenSSL error queue not empty after parse";
    return out;
}

std::string opt(const std::optional<std::string>& v) { return v ? "'" + *v + "'" : "null"; }
std::string opt(const std::optional<int>& v) { return v ? std::to_string(*v) : "null"; }

// Counts of what the comparisons saw, so that a test cannot pass vacuously.
struct Tally {
    int parsed = 0;
    int rejected = 0;
};

// Parses with both paths and expects identical results. Returns whether the
// input parsed.
bool expect_same(const std::string& input, const std::string& what, bool pem_api = false, Tally* tally = nullptr) {
    const Outcome fast = run(false, pem_api, input);
    const Outcome full = run(true, pem_api, input);
    if (full.ok != fast.ok) {
        ADD_FAILURE() << what << ": full path " << (full.ok ? "parsed" : "rejected (" + full.message + ")")
                      << ", fast path " << (fast.ok ? "parsed" : "rejected (" + fast.message + ")");
        return false;
    }
    if (!full.ok) {
        EXPECT_STREQ(kind_name(fast.kind), kind_name(full.kind)) << what;
        EXPECT_EQ(fast.message, full.message) << what;
        if (tally != nullptr) ++tally->rejected;
        return false;
    }
    const CertificateInfo& a = fast.info;
    const CertificateInfo& b = full.info;
    EXPECT_EQ(opt(a.common_name), opt(b.common_name)) << what << ": common_name";
    EXPECT_EQ(a.subject, b.subject) << what << ": subject";
    EXPECT_EQ(a.issuer, b.issuer) << what << ": issuer";
    EXPECT_EQ(opt(a.issuer_cn), opt(b.issuer_cn)) << what << ": issuer_cn";
    EXPECT_EQ(opt(a.issuer_org), opt(b.issuer_org)) << what << ": issuer_org";
    EXPECT_EQ(a.tbs_sha256, b.tbs_sha256) << what << ": tbs_sha256";
    EXPECT_EQ(a.serial_number, b.serial_number) << what << ": serial_number";
    EXPECT_EQ(a.fingerprint_sha256, b.fingerprint_sha256) << what << ": fingerprint_sha256";
    EXPECT_EQ(a.valid_from, b.valid_from) << what << ": valid_from";
    EXPECT_EQ(a.valid_to, b.valid_to) << what << ": valid_to";
    EXPECT_EQ(a.sans, b.sans) << what << ": sans";
    EXPECT_EQ(a.algorithm, b.algorithm) << what << ": algorithm";
    EXPECT_EQ(opt(a.key_size), opt(b.key_size)) << what << ": key_size";
    EXPECT_EQ(a.signature_algorithm, b.signature_algorithm) << what << ": signature_algorithm";
    EXPECT_EQ(a.is_ca, b.is_ca) << what << ": is_ca";
    EXPECT_EQ(opt(a.subject_key_id), opt(b.subject_key_id)) << what << ": subject_key_id";
    EXPECT_EQ(opt(a.authority_key_id), opt(b.authority_key_id)) << what << ": authority_key_id";
    EXPECT_EQ(a.spki_sha256, b.spki_sha256) << what << ": spki_sha256";
    EXPECT_EQ(a.pem_content, b.pem_content) << what << ": pem_content";
    EXPECT_EQ(a.issuer_chain, b.issuer_chain) << what << ": issuer_chain";
    EXPECT_EQ(a.crl_urls, b.crl_urls) << what << ": crl_urls";
    EXPECT_EQ(a.ocsp_urls, b.ocsp_urls) << what << ": ocsp_urls";
    EXPECT_EQ(a.ca_issuers_urls, b.ca_issuers_urls) << what << ": ca_issuers_urls";
    if (tally != nullptr) ++tally->parsed;
    return true;
}

// Every file under `root`, both as binary input (parse_der, which also takes
// PEM text) and as text (parse_pem), and every PEM certificate block in it on
// its own as DER.
Tally compare_tree(const fs::path& root) {
    Tally tally;
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& path : files) {
        const std::string bytes = read_file(path.string());
        const std::string name = path.string();
        if (bytes.empty()) continue;
        expect_same(bytes, name + " (parse_der)", false, &tally);
        expect_same(bytes, name + " (parse_pem)", true, &tally);
        try {
            int n = 0;
            for (const PemBlock& block : split_pem(bytes)) {
                ++n;
                if (block.kind != PemKind::Other) expect_same(block.der, name + " block " + std::to_string(n), false, &tally);
            }
        } catch (const Error&) {
            // Keys and broken armour: the whole-file comparison covered them.
        }
    }
    return tally;
}

TEST(Differential, EveryFixtureFile) {
    const Tally t = compare_tree(source_path("test/fixtures"));
    EXPECT_GT(t.parsed, 300) << "too few fixture certificates parsed";
    EXPECT_GT(t.rejected, 10) << "too few fixture inputs rejected";
}

// The shared developer corpus (../shared/corpus beside the checkout, found
// by CMake as NETBOX_SSL_CORPUS_DIR; the environment variable of the same
// name overrides it). Missing, the corpus tests fail: they must not pass
// without having compared anything. NETBOX_SSL_SKIP_CORPUS=1 skips them
// explicitly, for machines that have no corpus.
fs::path corpus_root() {
    const char* env = std::getenv("NETBOX_SSL_CORPUS_DIR");
    return fs::path(env != nullptr && *env != '\0' ? env : NETBOX_SSL_CORPUS_DIR);
}

bool corpus_available() {
    const char* skip = std::getenv("NETBOX_SSL_SKIP_CORPUS");
    if (skip != nullptr && std::string(skip) == "1") return false;
    std::error_code ec;
    const fs::path root = corpus_root();
    if (root.empty() || !fs::is_regular_file(root / "index.tsv", ec)) {
        ADD_FAILURE() << "the shared corpus was not found (" << (root.empty() ? "no path" : root.string())
                      << "): configure with -DNETBOX_SSL_CORPUS_DIR=/path/to/shared/corpus, set "
                         "NETBOX_SSL_CORPUS_DIR, or set NETBOX_SSL_SKIP_CORPUS=1 to skip on purpose";
        return false;
    }
    return true;
}

TEST(Differential, SharedCorpus) {
    if (!corpus_available()) GTEST_SKIP() << "corpus skipped (NETBOX_SSL_SKIP_CORPUS=1) or missing (failed above)";
    const Tally t = compare_tree(corpus_root());
    EXPECT_GT(t.parsed, 1000) << "too few corpus certificates parsed";
    EXPECT_GT(t.rejected, 100) << "too few corpus inputs rejected";
}

// Every certificate that index.tsv lists as one OpenSSL parses (leaf,
// intermediate, root), found among the corpus's objects by its SHA-256:
// both paths parse it, identically, and the fingerprint is the index's. The
// lean path must take most of them (else the comparison would be of the
// other paths only).
TEST(Differential, EveryCorpusCertificate) {
    if (!corpus_available()) GTEST_SKIP() << "corpus skipped (NETBOX_SSL_SKIP_CORPUS=1) or missing (failed above)";
    const fs::path root = corpus_root();
    // Every DER object of the corpus by fingerprint: PEM blocks, DER files
    // and the certificates of PKCS#7 files.
    std::map<std::string, std::string> by_fp;
    auto add = [&](const std::string& der) {
        if (der.empty()) return;
        by_fp.emplace(detail::sha256_hex(reinterpret_cast<const unsigned char*>(der.data()), der.size()), der);
    };
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (!entry.is_regular_file()) continue;
        const std::string bytes = read_file(entry.path().string());
        add(bytes);
        try {
            for (const PemBlock& block : split_pem(bytes)) add(block.der);
        } catch (const Error&) {
        }
        const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
        Owned<PKCS7, PKCS7_free> p7(d2i_PKCS7(nullptr, &p, static_cast<long>(bytes.size())));
        ERR_clear_error();
        if (p7 && PKCS7_type_is_signed(p7.get()) && p7->d.sign != nullptr) {
            for (int i = 0; i < sk_X509_num(p7->d.sign->cert); ++i) add(to_der_any(sk_X509_value(p7->d.sign->cert, i)));
        }
    }
    std::ifstream index(root / "index.tsv");
    ASSERT_TRUE(index) << "cannot read index.tsv";
    std::string line;
    std::getline(index, line);  // header
    int listed = 0;
    int compared = 0;
    int lean = 0;
    Tally tally;
    while (std::getline(index, line)) {
        std::vector<std::string> f;
        std::size_t start = 0;
        for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
            f.push_back(line.substr(start, tab - start));
        }
        f.push_back(line.substr(start));
        if (f.size() < 12) continue;
        const std::string& what = f[2];
        const bool certificate = what.rfind("leaf", 0) == 0 || what == "intermediate" || what == "root";
        if (!certificate || f[11] != "yes") continue;
        ++listed;
        std::string fp;
        for (std::size_t i = 0; i < f[3].size(); i += 2) {
            if (!fp.empty()) fp += ':';
            fp += static_cast<char>(std::toupper(static_cast<unsigned char>(f[3][i])));
            fp += static_cast<char>(std::toupper(static_cast<unsigned char>(f[3][i + 1])));
        }
        auto it = by_fp.find(fp);
        if (it == by_fp.end()) {
            ADD_FAILURE() << f[0] << ": certificate " << f[3] << " not found in the corpus files";
            continue;
        }
        ++compared;
        if (!expect_same(it->second, f[0], false, &tally)) {
            // Both paths refused it alike (checked above); the CLI prints
            // certificates whose dates cannot be stored, the parser refuses
            // them (badasn1time.pem). Anything else is a failure.
            const Outcome fast = run(false, false, it->second);
            EXPECT_NE(fast.message.find("date"), std::string::npos) << f[0] << ": " << fast.message;
            continue;
        }
        const Outcome fast = run(false, false, it->second);
        EXPECT_EQ(fast.info.fingerprint_sha256, fp) << f[0];
        if (detail::lean_path_accepts(it->second)) ++lean;
    }
    EXPECT_GT(listed, 600) << "index.tsv lists too few certificates";
    EXPECT_EQ(compared, listed);
    EXPECT_LE(tally.rejected, 2) << "corpus certificates refused (see the failures above)";
    EXPECT_GT(lean, listed / 2) << "the lean path took too few corpus certificates";
}

// ---------------------------------------------------------------------------
// Certificates generated with OpenSSL's API.

PkeyPtr keygen(const char* type, const OSSL_PARAM* params) {
    PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
        (params != nullptr && EVP_PKEY_CTX_set_params(ctx.get(), params) != 1) ||
        EVP_PKEY_generate(ctx.get(), &key) != 1) {
        ADD_FAILURE() << "key generation failed for " << type;
        ERR_clear_error();
        return nullptr;
    }
    return PkeyPtr(key);
}

PkeyPtr rsa_key(const char* type, unsigned bits) {
    std::size_t b = bits;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &b), OSSL_PARAM_construct_end()};
    return keygen(type, params);
}

PkeyPtr ec_key(const char* curve, bool explicit_params = false) {
    std::string group = curve;
    std::string encoding = explicit_params ? "explicit" : "named_curve";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group.data(), 0),
                           OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, encoding.data(), 0),
                           OSSL_PARAM_construct_end()};
    return keygen("EC", params);
}

PkeyPtr dsa_key() {
    PkeyCtxPtr pctx(EVP_PKEY_CTX_new_from_name(nullptr, "DSA", nullptr));
    std::size_t pbits = 1024;
    std::size_t qbits = 160;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_FFC_PBITS, &pbits),
                           OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_FFC_QBITS, &qbits),
                           OSSL_PARAM_construct_end()};
    EVP_PKEY* raw = nullptr;
    if (!pctx || EVP_PKEY_paramgen_init(pctx.get()) != 1 || EVP_PKEY_CTX_set_params(pctx.get(), params) != 1 ||
        EVP_PKEY_paramgen(pctx.get(), &raw) != 1) {
        ADD_FAILURE() << "DSA parameter generation failed";
        ERR_clear_error();
        return nullptr;
    }
    PkeyPtr domain(raw);
    PkeyCtxPtr kctx(EVP_PKEY_CTX_new_from_pkey(nullptr, domain.get(), nullptr));
    EVP_PKEY* key = nullptr;
    if (!kctx || EVP_PKEY_keygen_init(kctx.get()) != 1 || EVP_PKEY_generate(kctx.get(), &key) != 1) {
        ADD_FAILURE() << "DSA key generation failed";
        ERR_clear_error();
        return nullptr;
    }
    return PkeyPtr(key);
}

struct NamedKey {
    std::string label;
    PkeyPtr key;
};

// The subject keys, generated once for all tests.
const std::vector<NamedKey>& subject_keys() {
    static const std::vector<NamedKey> keys = [] {
        std::vector<NamedKey> k;
        k.push_back({"rsa2048", rsa_key("RSA", 2048)});
        k.push_back({"rsa2048b", rsa_key("RSA", 2048)});
        k.push_back({"rsa4096", rsa_key("RSA", 4096)});
        k.push_back({"rsa1024", rsa_key("RSA", 1024)});
        k.push_back({"rsa-pss", rsa_key("RSA-PSS", 2048)});
        k.push_back({"p256", ec_key("P-256")});
        k.push_back({"p384", ec_key("P-384")});
        k.push_back({"p521", ec_key("P-521")});
        k.push_back({"p224", ec_key("P-224")});
        k.push_back({"secp256k1", ec_key("secp256k1")});
        k.push_back({"brainpoolP256r1", ec_key("brainpoolP256r1")});
        k.push_back({"brainpoolP512r1", ec_key("brainpoolP512r1")});
        k.push_back({"secp192k1", ec_key("secp192k1")});
        k.push_back({"p256-explicit", ec_key("P-256", true)});
        k.push_back({"ed25519", keygen("ED25519", nullptr)});
        k.push_back({"ed448", keygen("ED448", nullptr)});
        k.push_back({"x25519", keygen("X25519", nullptr)});
        k.push_back({"dsa1024", dsa_key()});
        return k;
    }();
    return keys;
}

const EVP_PKEY* find_key(const std::string& label) {
    for (const NamedKey& k : subject_keys()) {
        if (k.label == label) return k.key.get();
    }
    ADD_FAILURE() << "no key " << label;
    return nullptr;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    ASSERT_TRUE(ext) << "extension " << OBJ_nid2sn(nid) << "=" << value;
    ASSERT_EQ(X509_add_ext(cert, ext.get(), -1), 1);
}

std::string to_der(const X509* cert) {
    return to_der_any(cert);
}

struct Spec {
    std::string subject_cn;  // empty: no CN
    bool utf8_org = false;
    bool multi_rdn = false;
    std::string sans;  // X509V3 config syntax, empty: none
    bool ski = false;
    bool aki = false;
    int ca = -1;  // -1: no basicConstraints
    long serial = 1;
    bool big_serial = false;
    bool v1 = false;
    long not_before_days = -1;
    long not_after_days = 365;
    // CT extensions, added after the others: 1 poison, 2 SCT list, 3 both
    // (not a real certificate, but both paths must drop both).
    int ct = 0;
    // 1.6: CRL Distribution Points and Authority Information Access (X509V3
    // config syntax), empty: none.
    std::string crl_dp;
    std::string aia;
    // Organisation name as a string of this ASN.1 type with these bytes (0:
    // the default above), e.g. a T61String holding Latin-1 (not UTF-8).
    int org_type = 0;
    std::string org_bytes;
};

// A CT extension with fixed contents: the poison's NULL, or an SCT list's
// OCTET STRING (its contents are never parsed, only dropped).
void add_ct_ext(X509* cert, int nid) {
    static const unsigned char kNull[] = {0x05, 0x00};
    static const unsigned char kScts[] = {0x04, 0x06, 0x00, 0x04, 0x00, 0x02, 0xAB, 0xCD};
    const bool poison = nid == NID_ct_precert_poison;
    Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> value(ASN1_OCTET_STRING_new());
    ASSERT_TRUE(value);
    ASSERT_EQ(ASN1_OCTET_STRING_set(value.get(), poison ? kNull : kScts,
                                    poison ? static_cast<int>(sizeof kNull) : static_cast<int>(sizeof kScts)),
              1);
    ExtPtr ext(X509_EXTENSION_create_by_NID(nullptr, nid, poison ? 1 : 0, value.get()));
    ASSERT_TRUE(ext);
    ASSERT_EQ(X509_add_ext(cert, ext.get(), -1), 1);
}

// A certificate for `key`, issued by (issuer, issuer_key), or self-signed.
X509Ptr make_cert(const EVP_PKEY* key, const Spec& s, X509* issuer, EVP_PKEY* issuer_key, const EVP_MD* md) {
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), s.v1 ? X509_VERSION_1 : X509_VERSION_3);
    if (s.big_serial) {
        BnPtr bn(BN_new());
        BN_rand(bn.get(), 159, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
        BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
    } else {
        ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), s.serial);
    }
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("NL"), -1, -1, 0);
    if (s.utf8_org) {
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>("M\xC3\xBCller & S\xC3\xB6hne, \"Z\""), -1,
                                   -1, 0);
    } else {
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Example+Co"), -1,
                                   -1, 0);
    }
    if (s.org_type != 0) {
        X509_NAME_add_entry_by_txt(name, "OU", s.org_type, reinterpret_cast<const unsigned char*>(s.org_bytes.data()),
                                   static_cast<int>(s.org_bytes.size()), -1, 0);
    }
    if (s.multi_rdn) {
        X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ops"), -1, -1,
                                   1);
    }
    if (!s.subject_cn.empty()) {
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(s.subject_cn.c_str()), -1, -1, 0);
    }
    X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
    X509_time_adj_ex(X509_getm_notBefore(cert.get()), static_cast<int>(s.not_before_days), 0, nullptr);
    X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(s.not_after_days), 0, nullptr);
    X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(key));
    X509* iss = issuer != nullptr ? issuer : cert.get();
    if (!s.v1) {
        if (s.ca >= 0) add_ext(cert.get(), iss, NID_basic_constraints, s.ca != 0 ? "critical,CA:TRUE" : "CA:FALSE");
        if (s.ski) add_ext(cert.get(), iss, NID_subject_key_identifier, "hash");
        if (s.aki && issuer != nullptr) add_ext(cert.get(), iss, NID_authority_key_identifier, "keyid:always");
        if (!s.sans.empty()) add_ext(cert.get(), iss, NID_subject_alt_name, s.sans);
        if (!s.crl_dp.empty()) add_ext(cert.get(), iss, NID_crl_distribution_points, s.crl_dp);
        if (!s.aia.empty()) add_ext(cert.get(), iss, NID_info_access, s.aia);
        if ((s.ct & 1) != 0) add_ct_ext(cert.get(), NID_ct_precert_poison);
        if ((s.ct & 2) != 0) add_ct_ext(cert.get(), NID_ct_precert_scts);
    }
    EXPECT_GT(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : const_cast<EVP_PKEY*>(key), md), 0)
        << "signing failed";
    ERR_clear_error();
    return cert;
}

struct Ca {
    PkeyPtr key;
    X509Ptr cert;
};

const Ca& test_ca() {
    static const Ca ca = [] {
        Ca c;
        c.key = ec_key("P-256");
        Spec s;
        s.subject_cn = "Differential Test CA";
        s.ca = 1;
        s.ski = true;
        c.cert = make_cert(c.key.get(), s, nullptr, nullptr, EVP_sha256());
        return c;
    }();
    return ca;
}

// Certificates for every subject key, with varied names, extensions,
// serials and dates; issued by the test CA or self-signed.
std::vector<std::pair<std::string, std::string>> make_generated_certs() {
    std::vector<std::pair<std::string, std::string>> out;
    const Ca& ca = test_ca();
    const std::vector<std::string> san_sets = {
        "",
        "DNS:www.example.com, DNS:example.com",
        "DNS:*.example.org, IP:192.0.2.7, IP:2001:db8::1, email:ops@example.net, URI:https://example.net/x",
        "IP:::ffff:10.0.0.1, DNS:xn--bcher-kva.example, RID:1.2.3.4",
    };
    int n = 0;
    for (const NamedKey& k : subject_keys()) {
        if (!k.key) continue;
        for (int variant = 0; variant < 16; ++variant) {
            Spec s;
            s.subject_cn = variant % 5 == 3 ? "" : k.label + "-" + std::to_string(variant) + ".example";
            if (variant % 7 == 5) s.subject_cn = "J\xC3\xBCrgen \xE2\x9C\x93 host";
            s.utf8_org = variant % 3 == 1;
            s.multi_rdn = variant % 4 == 2;
            s.sans = san_sets[static_cast<std::size_t>(variant) % san_sets.size()];
            s.ski = variant % 2 == 0;
            s.aki = variant % 3 != 2;
            s.ca = variant % 5 == 0 ? 1 : (variant % 5 == 1 ? 0 : -1);
            s.serial = variant == 6 ? 0 : (variant == 7 ? -5 : 1000 + n);
            s.big_serial = variant % 4 == 1;
            s.v1 = variant == 9;
            s.ct = variant % 4;  // includes a poison as the only extension (variant 13)
            if (variant % 3 == 0) s.crl_dp = "URI:http://crl.example/" + k.label + ".crl, URI:ldap://ldap.example/cn=crl";
            if (variant % 4 == 1) {
                s.aia = "OCSP;URI:http://ocsp.example/" + k.label + ", caIssuers;URI:http://ca.example/ca.crt, "
                        "OCSP;email:ocsp@example.org, OCSP;URI:http://ocsp2.example/";
            }
            if (variant == 14) {
                s.org_type = V_ASN1_T61STRING;  // Latin-1 bytes: not UTF-8
                s.org_bytes = "Caf\xE9 \xA9 R\xF6ntgen";
            } else if (variant == 15) {
                s.org_type = V_ASN1_BMPSTRING;
                s.org_bytes = std::string("\0B\0M\0P\x4E\x2D", 8);
            } else if (variant == 8) {
                s.org_type = V_ASN1_IA5STRING;  // bytes the printer escapes
                s.org_bytes = " #lead, trail\\ ";
            }
            if (variant == 10) {
                s.not_before_days = -365L * 80;  // before 1950: UTCTime range ends, GeneralizedTime
                s.not_after_days = 365L * 40;    // after 2050
            }
            const bool self_signed = variant == 11 || variant == 12;
            const EVP_MD* md = EVP_sha256();
            const int id = EVP_PKEY_get_base_id(k.key.get());
            if (self_signed && (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)) md = nullptr;
            X509Ptr cert;
            if (self_signed && id != EVP_PKEY_X25519) {
                cert = make_cert(k.key.get(), s, nullptr, nullptr, variant == 12 && md != nullptr ? EVP_sha384() : md);
            } else {
                cert = make_cert(k.key.get(), s, ca.cert.get(), ca.key.get(), variant % 2 == 0 ? EVP_sha256() : EVP_sha512());
            }
            out.emplace_back(k.label + " variant " + std::to_string(variant), to_der(cert.get()));
            ++n;
        }
    }
    return out;
}

const std::vector<std::pair<std::string, std::string>>& generated_certs() {
    static const auto certs = make_generated_certs();
    return certs;
}

TEST(Differential, GeneratedCertificates) {
    const auto& certs = generated_certs();
    ASSERT_GE(certs.size(), 250U);
    Tally tally;
    for (const auto& [label, der] : certs) {
        ASSERT_FALSE(der.empty()) << label;
        EXPECT_TRUE(expect_same(der, label, false, &tally)) << label << " did not parse";
        expect_same(pem_encode(der, "CERTIFICATE"), label + " (PEM)", true, &tally);
    }
    EXPECT_EQ(tally.rejected, 0);
}

// The fast path must really be used for the common key types (else this test
// would compare the reference with itself), and must decline the others.
TEST(Differential, FastPathCoversCommonKeyTypes) {
    const auto& certs = generated_certs();
    const std::vector<std::string> fast = {"rsa2048", "rsa4096", "rsa1024", "p256", "p384", "p521", "p224",
                                           "secp256k1", "brainpoolP256r1", "brainpoolP512r1", "ed25519", "ed448"};
    const std::vector<std::string> declined = {"rsa-pss", "p256-explicit", "secp192k1", "x25519", "dsa1024"};
    int fast_seen = 0;
    int declined_seen = 0;
    for (const auto& [label, der] : certs) {
        const std::string key = label.substr(0, label.find(' '));
        const bool light = detail::decode_light(reinterpret_cast<const unsigned char*>(der.data()), der.size()) != nullptr;
        EXPECT_EQ(ERR_peek_error(), 0UL);
        if (std::find(fast.begin(), fast.end(), key) != fast.end()) {
            EXPECT_TRUE(light) << label;
            ++fast_seen;
        } else if (std::find(declined.begin(), declined.end(), key) != declined.end()) {
            EXPECT_FALSE(light) << label;
            ++declined_seen;
        }
    }
    EXPECT_GT(fast_seen, 150);
    EXPECT_GT(declined_seen, 50);
}

// The lean path (decode_lean and fill_lean) must take the common
// certificates: RSA, P-256/384/521, Ed25519/Ed448 keys with non-negative
// serials; it declines other curves and key types and negative serials.
TEST(Differential, LeanPathCoversCommonCertificates) {
    const auto& certs = generated_certs();
    const std::vector<std::string> lean_keys = {"rsa2048", "rsa2048b", "rsa4096", "rsa1024", "p256", "p384", "p521", "ed25519", "ed448"};
    int lean_seen = 0;
    int declined_seen = 0;
    for (const auto& [label, der] : certs) {
        const std::string key = label.substr(0, label.find(' '));
        const bool negative = label.size() > 10 && label.substr(label.size() - 10) == " variant 7";
        const bool lean = detail::lean_path_accepts(der);
        EXPECT_EQ(ERR_peek_error(), 0UL);
        if (std::find(lean_keys.begin(), lean_keys.end(), key) != lean_keys.end() && !negative) {
            EXPECT_TRUE(lean) << label;
            ++lean_seen;
        } else {
            EXPECT_FALSE(lean) << label;
            ++declined_seen;
        }
    }
    EXPECT_GT(lean_seen, 100);
    EXPECT_GT(declined_seen, 100);
}

// Bundle items (parse_single_certificate and certificate_chain_keys, which
// also take the lean path): the same columns and chain keys as the
// reference path, for every generated certificate and every certificate
// block of the fixtures.
TEST(Differential, BundleItemsAndChainKeys) {
    std::vector<std::pair<std::string, std::string>> items = generated_certs();
    for (const auto& entry : fs::recursive_directory_iterator(source_path("test/fixtures"))) {
        if (!entry.is_regular_file()) continue;
        try {
            int n = 0;
            for (const PemBlock& block : split_pem(read_file(entry.path().string()))) {
                ++n;
                if (block.kind == PemKind::Certificate) items.emplace_back(entry.path().string() + " block " + std::to_string(n), block.der);
            }
        } catch (const Error&) {
        }
    }
    int compared = 0;
    int lean = 0;
    for (const auto& [label, der] : items) {
        ParseOptions fast_options;
        ParseOptions full_options;
        full_options.force_full_parse = true;
        Outcome fast;
        Outcome full;
        ChainKeys fast_keys;
        ChainKeys full_keys;
        try {
            fast.info = parse_single_certificate(der, false, fast_options, &fast_keys);
            fast.ok = true;
        } catch (const Error& e) {
            fast.message = e.what();
        }
        try {
            full.info = parse_single_certificate(der, false, full_options, &full_keys);
            full.ok = true;
        } catch (const Error& e) {
            full.message = e.what();
        }
        EXPECT_EQ(ERR_peek_error(), 0UL);
        ASSERT_EQ(fast.ok, full.ok) << label << ": " << fast.message << " / " << full.message;
        if (!fast.ok) {
            EXPECT_EQ(fast.message, full.message) << label;
            continue;
        }
        ++compared;
        if (detail::lean_path_accepts(der)) ++lean;
        EXPECT_EQ(fast.info.subject, full.info.subject) << label;
        EXPECT_EQ(fast.info.tbs_sha256, full.info.tbs_sha256) << label;
        EXPECT_EQ(fast.info.sans, full.info.sans) << label;
        EXPECT_EQ(fast.info.crl_urls, full.info.crl_urls) << label;
        EXPECT_EQ(fast.info.pem_content, full.info.pem_content) << label;
        EXPECT_EQ(opt(fast.info.authority_key_id), opt(full.info.authority_key_id)) << label;
        EXPECT_EQ(fast_keys.der, full_keys.der) << label;
        EXPECT_EQ(fast_keys.subject, full_keys.subject) << label;
        EXPECT_EQ(fast_keys.issuer, full_keys.issuer) << label;
        EXPECT_EQ(fast_keys.skid, full_keys.skid) << label;
        EXPECT_EQ(fast_keys.akid, full_keys.akid) << label;
        EXPECT_EQ(fast_keys.is_ca, full_keys.is_ca) << label;
        const ChainKeys pass1 = certificate_chain_keys(der, false);
        EXPECT_EQ(pass1.subject, full_keys.subject) << label;
        EXPECT_EQ(pass1.issuer, full_keys.issuer) << label;
        EXPECT_EQ(pass1.skid, full_keys.skid) << label;
        EXPECT_EQ(pass1.akid, full_keys.akid) << label;
        EXPECT_EQ(pass1.is_ca, full_keys.is_ca) << label;
        EXPECT_EQ(pass1.der, full_keys.der) << label;
    }
    EXPECT_GT(compared, 500);
    EXPECT_GT(lean, 200);
}

// The revocation URL columns on generated certificates, by value (both paths
// are compared with each other everywhere else).
TEST(Differential, RevocationUrls) {
    const Ca& ca = test_ca();
    Spec s;
    s.subject_cn = "urls.example";
    s.crl_dp = "URI:http://crl.example/a.crl, URI:http://crl.example/b.crl";
    s.aia = "OCSP;URI:http://ocsp.example/1, caIssuers;URI:http://ca.example/ca.crt, OCSP;URI:http://ocsp.example/2";
    const std::string der = to_der(make_cert(find_key("p256"), s, ca.cert.get(), ca.key.get(), EVP_sha256()).get());
    for (bool full : {false, true}) {
        const Outcome o = run(full, false, der);
        ASSERT_TRUE(o.ok) << o.message;
        EXPECT_EQ(o.info.crl_urls, (std::vector<std::string>{"http://crl.example/a.crl", "http://crl.example/b.crl"}));
        EXPECT_EQ(o.info.ocsp_urls, (std::vector<std::string>{"http://ocsp.example/1", "http://ocsp.example/2"}));
        EXPECT_EQ(o.info.ca_issuers_urls, (std::vector<std::string>{"http://ca.example/ca.crt"}));
    }
    EXPECT_TRUE(detail::lean_path_accepts(der));
    // Non-UTF-8 and control bytes in a URI are escaped like other text; with
    // ascii_only, non-ASCII too.
    Spec odd;
    odd.subject_cn = "odd-urls.example";
    odd.crl_dp = "URI:http://crl.example/\xE9t\xE9";
    const std::string odd_der = to_der(make_cert(find_key("p256"), odd, ca.cert.get(), ca.key.get(), EVP_sha256()).get());
    expect_same(odd_der, "odd URI");
    const Outcome o = run(false, false, odd_der);
    ASSERT_TRUE(o.ok) << o.message;
    ASSERT_EQ(o.info.crl_urls.size(), 1U);
    EXPECT_EQ(o.info.crl_urls[0], "http://crl.example/\\E9t\\E9");
    // Without the extensions: empty lists.
    Spec none;
    none.subject_cn = "no-urls.example";
    const Outcome n = run(false, false, to_der(make_cert(find_key("p256"), none, ca.cert.get(), ca.key.get(), EVP_sha256()).get()));
    ASSERT_TRUE(n.ok);
    EXPECT_TRUE(n.info.crl_urls.empty() && n.info.ocsp_urls.empty() && n.info.ca_issuers_urls.empty());
}

// Encodings OpenSSL accepts but that are not DER, byte-patched into a
// generated certificate: the lean path must decline them and the columns
// still agree (the signature is not checked by a parser).
TEST(Differential, NonDerEncodingsDeclinedByLeanPath) {
    const Ca& ca = test_ca();
    Spec s;
    s.subject_cn = "patch.example";
    s.ca = 1;  // "critical,CA:TRUE": the critical flag 01 01 FF
    s.ski = true;
    s.aki = true;
    s.sans = "DNS:patch.example";
    const std::string base = to_der(make_cert(find_key("rsa2048"), s, ca.cert.get(), ca.key.get(), EVP_sha256()).get());
    ASSERT_TRUE(detail::lean_path_accepts(base));
    // The critical BOOLEAN as 0x01 (BER TRUE): re-encoded as 0xFF, so the
    // TBSCertificate's bytes would not hash as the reference re-encodes them.
    const std::string flag("\x01\x01\xFF", 3);
    const std::size_t at = base.find(flag);
    ASSERT_NE(at, std::string::npos);
    std::string ber_true = base;
    ber_true[at + 2] = '\x01';
    EXPECT_FALSE(detail::lean_path_accepts(ber_true));
    EXPECT_TRUE(expect_same(ber_true, "critical flag 0x01"));
    // The same certificate with the outer SEQUENCE's length in a longer form
    // than needed (not DER): refused by both, with the same error.
    std::string long_len = base;
    ASSERT_EQ(static_cast<unsigned char>(long_len[1]), 0x82);
    long_len.replace(1, 1, std::string("\x83\x00", 2));
    EXPECT_FALSE(detail::lean_path_accepts(long_len));
    EXPECT_FALSE(expect_same(long_len, "non-minimal outer length"));
}

TEST(Differential, BundlesInEveryOrder) {
    const Ca& ca = test_ca();
    const PkeyPtr inter_key = ec_key("P-384");
    Spec is;
    is.subject_cn = "Differential Intermediate";
    is.ca = 1;
    is.ski = true;
    is.aki = true;
    X509Ptr inter = make_cert(inter_key.get(), is, ca.cert.get(), ca.key.get(), EVP_sha256());
    int checked = 0;
    for (const char* label : {"rsa2048", "p256", "ed25519", "rsa-pss", "dsa1024"}) {
        Spec ls;
        ls.subject_cn = std::string(label) + ".leaf.example";
        ls.sans = "DNS:leaf.example";
        ls.ski = true;
        ls.aki = true;
        X509Ptr leaf = make_cert(find_key(label), ls, inter.get(), inter_key.get(), EVP_sha384());
        std::vector<std::string> pems = {pem_encode(to_der(leaf.get()), "CERTIFICATE"),
                                         pem_encode(to_der(inter.get()), "CERTIFICATE"),
                                         pem_encode(to_der(ca.cert.get()), "CERTIFICATE")};
        std::sort(pems.begin(), pems.end());
        do {
            std::string bundle = "subject=whatever\n" + pems[0] + pems[1] + "\n" + pems[2] + pems[0];
            EXPECT_TRUE(expect_same(bundle, std::string("bundle with ") + label, true));
            EXPECT_TRUE(expect_same(bundle, std::string("bundle with ") + label + " (parse_der)", false));
            ++checked;
        } while (std::next_permutation(pems.begin(), pems.end()));
    }
    EXPECT_EQ(checked, 30);
}

// ---------------------------------------------------------------------------
// Unusual SubjectPublicKeyInfo contents, set directly on a certificate's
// X509_PUBKEY and re-signed.

std::string hex_bytes(const char* hex) {
    std::string out;
    for (std::size_t i = 0; hex[i] != '\0' && hex[i + 1] != '\0'; i += 2) {
        out += static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16));
    }
    return out;
}

// The key bytes of `key`'s own SubjectPublicKeyInfo.
std::string key_bits_of(const EVP_PKEY* key) {
    Owned<X509_PUBKEY, X509_PUBKEY_free> pub(nullptr);
    X509_PUBKEY* raw = nullptr;
    X509_PUBKEY_set(&raw, const_cast<EVP_PKEY*>(key));
    pub.reset(raw);
    const unsigned char* data = nullptr;
    int len = 0;
    X509_PUBKEY_get0_param(nullptr, &data, &len, nullptr, pub.get());
    return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(len));
}

enum class Param { Absent, Null, Oid, Sequence };

struct SpkiCase {
    std::string label;
    std::string algorithm;  // dotted OID or short name
    Param param;
    std::string param_value;  // OID text, or a full DER SEQUENCE
    std::string bits;
    int unused_bits = 0;
};

std::string cert_with_spki(const SpkiCase& c) {
    const Ca& ca = test_ca();
    Spec s;
    s.subject_cn = c.label + ".spki.example";
    s.sans = "DNS:spki.example";
    s.ski = false;  // "hash" would need a decodable key
    s.aki = true;
    X509Ptr cert = make_cert(find_key("p256"), s, ca.cert.get(), ca.key.get(), EVP_sha256());
    X509_PUBKEY* pub = X509_get_X509_PUBKEY(cert.get());
    ASN1_OBJECT* alg = OBJ_txt2obj(c.algorithm.c_str(), 0);
    EXPECT_NE(alg, nullptr) << c.label;
    int ptype = V_ASN1_UNDEF;
    void* pval = nullptr;
    switch (c.param) {
    case Param::Absent:
        break;
    case Param::Null:
        ptype = V_ASN1_NULL;
        break;
    case Param::Oid:
        ptype = V_ASN1_OBJECT;
        pval = OBJ_txt2obj(c.param_value.c_str(), 0);
        break;
    case Param::Sequence: {
        ASN1_STRING* seq = ASN1_STRING_new();
        ASN1_STRING_set(seq, c.param_value.data(), static_cast<int>(c.param_value.size()));
        ptype = V_ASN1_SEQUENCE;
        pval = seq;
        break;
    }
    }
    auto* bits = static_cast<unsigned char*>(OPENSSL_malloc(c.bits.size() + 1));
    if (!c.bits.empty()) std::memcpy(bits, c.bits.data(), c.bits.size());
    EXPECT_EQ(X509_PUBKEY_set0_param(pub, alg, ptype, pval, bits, static_cast<int>(c.bits.size())), 1) << c.label;
    if (c.unused_bits != 0) {
        ASN1_BIT_STRING* bs = X509_get0_pubkey_bitstr(cert.get());
        bs->flags &= ~0x07L;
        bs->flags |= ASN1_STRING_FLAG_BITS_LEFT | c.unused_bits;
    }
    EXPECT_GT(X509_sign(cert.get(), ca.key.get(), EVP_sha256()), 0) << c.label;
    ERR_clear_error();
    return to_der(cert.get());
}

std::vector<SpkiCase> spki_cases() {
    const std::string rsa = key_bits_of(find_key("rsa2048"));
    const std::string p256 = key_bits_of(find_key("p256"));
    const std::string p384 = key_bits_of(find_key("p384"));
    const std::string ed = key_bits_of(find_key("ed25519"));
    const std::string dsa_bits = key_bits_of(find_key("dsa1024"));
    std::string p256_compressed = p256.substr(0, 33);
    p256_compressed[0] = static_cast<char>(0x02 | (static_cast<unsigned char>(p256.back()) & 1));
    std::string p256_hybrid = p256;
    p256_hybrid[0] = static_cast<char>(0x06 | (static_cast<unsigned char>(p256.back()) & 1));
    std::string p256_off_curve = p256;
    p256_off_curve[40] = static_cast<char>(p256_off_curve[40] ^ 0x01);
    // x equal to the field prime: out of range.
    const std::string p256_x_too_big =
        hex_bytes("04FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF") + p256.substr(33);
    const std::string rsa_oid = "rsaEncryption";
    const std::string ec_oid = "id-ecPublicKey";
    // DSA parameters from the generated DSA key's own SPKI.
    Owned<X509_PUBKEY, X509_PUBKEY_free> dsa_pub(nullptr);
    X509_PUBKEY* raw = nullptr;
    X509_PUBKEY_set(&raw, const_cast<EVP_PKEY*>(find_key("dsa1024")));
    dsa_pub.reset(raw);
    X509_ALGOR* dsa_alg = nullptr;
    X509_PUBKEY_get0_param(nullptr, nullptr, nullptr, &dsa_alg, dsa_pub.get());
    int dsa_ptype = 0;
    const void* dsa_pval = nullptr;
    X509_ALGOR_get0(nullptr, &dsa_ptype, &dsa_pval, dsa_alg);
    const auto* dsa_seq = static_cast<const ASN1_STRING*>(dsa_pval);
    const std::string dsa_params(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dsa_seq)),
                                 static_cast<std::size_t>(ASN1_STRING_length(dsa_seq)));

    return {
        {"rsa-null", rsa_oid, Param::Null, "", rsa},
        {"rsa-absent-params", rsa_oid, Param::Absent, "", rsa},
        {"rsa-oid-params", rsa_oid, Param::Oid, "1.2.3.4", rsa},
        {"rsa-seq-params", rsa_oid, Param::Sequence, hex_bytes("3003020101"), rsa},
        {"rsa-trailing", rsa_oid, Param::Null, "", rsa + hex_bytes("0500")},
        {"rsa-garbage", rsa_oid, Param::Null, "", "hello, world"},
        {"rsa-empty", rsa_oid, Param::Null, "", ""},
        {"rsa-negative-n", rsa_oid, Param::Null, "", hex_bytes("3009020480000001020103")},
        {"rsa-zero-n", rsa_oid, Param::Null, "", hex_bytes("3006020100020103")},
        {"rsa-empty-n", rsa_oid, Param::Null, "", hex_bytes("30050200020103")},
        {"rsa-padded-n", rsa_oid, Param::Null, "", hex_bytes("300A0205000000FFFF020103")},
        {"rsa-one-int", rsa_oid, Param::Null, "", hex_bytes("3003020101")},
        {"rsa-unused-bits", rsa_oid, Param::Null, "", rsa, 3},
        {"rsa-indefinite", rsa_oid, Param::Null, "", hex_bytes("3080020203FF0201030000")},
        {"ec-p256", ec_oid, Param::Oid, "prime256v1", p256},
        {"ec-p256-compressed", ec_oid, Param::Oid, "prime256v1", p256_compressed},
        {"ec-p256-hybrid", ec_oid, Param::Oid, "prime256v1", p256_hybrid},
        {"ec-p256-infinity", ec_oid, Param::Oid, "prime256v1", hex_bytes("00")},
        {"ec-p256-off-curve", ec_oid, Param::Oid, "prime256v1", p256_off_curve},
        {"ec-p256-x-too-big", ec_oid, Param::Oid, "prime256v1", p256_x_too_big},
        {"ec-p256-short", ec_oid, Param::Oid, "prime256v1", p256.substr(0, 40)},
        {"ec-p256-empty", ec_oid, Param::Oid, "prime256v1", ""},
        {"ec-p256-bits-on-p384", ec_oid, Param::Oid, "secp384r1", p256},
        {"ec-p384", ec_oid, Param::Oid, "secp384r1", p384},
        {"ec-absent-params", ec_oid, Param::Absent, "", p256},
        {"ec-null-params", ec_oid, Param::Null, "", p256},
        {"ec-unknown-curve", ec_oid, Param::Oid, "1.2.3.4.5", p256},
        {"ec-unlisted-curve", ec_oid, Param::Oid, "secp192k1", p256},
        {"ec-garbage-explicit", ec_oid, Param::Sequence, hex_bytes("3003020101"), p256},
        {"ec-unused-bits", ec_oid, Param::Oid, "prime256v1", p256, 1},
        {"ed25519", "ED25519", Param::Absent, "", ed},
        {"ed25519-short", "ED25519", Param::Absent, "", ed.substr(0, 31)},
        {"ed25519-null-params", "ED25519", Param::Null, "", ed},
        {"ed448-garbage", "ED448", Param::Absent, "", "x"},
        {"dsa", "dsaEncryption", Param::Sequence, dsa_params, dsa_bits},
        {"dsa-no-params", "dsaEncryption", Param::Absent, "", dsa_bits},
        {"dsa-garbage-key", "dsaEncryption", Param::Sequence, dsa_params, "zz"},
        {"rsa-pss-no-params", "RSASSA-PSS", Param::Absent, "", rsa},
        {"rsa-pss-garbage-params", "RSASSA-PSS", Param::Sequence, hex_bytes("3003020101"), rsa},
        {"x25519", "X25519", Param::Absent, "", ed},
        {"unknown-oid", "1.3.6.1.4.1.99999.1", Param::Null, "", "opaque key"},
        {"long-oid", "1.3.6.1.4.1.99999.1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21.22.23.24.25.26.27",
         Param::Absent, "", "k"},
    };
}

TEST(Differential, UnusualSubjectPublicKeyInfo) {
    Tally tally;
    for (const SpkiCase& c : spki_cases()) {
        const std::string der = cert_with_spki(c);
        ASSERT_FALSE(der.empty()) << c.label;
        expect_same(der, "SPKI case " + c.label, false, &tally);
    }
    EXPECT_GE(tally.parsed, 40);
}

// A SubjectPublicKeyInfo whose length is not in minimal form: BER, which
// d2i_X509 accepts but whose re-encoding differs. Made by rewriting the
// length octets of an encoded certificate (tbs and outer lengths grow by 2).
TEST(Differential, NonDerSubjectPublicKeyInfo) {
    const Ca& ca = test_ca();
    Spec s;
    s.subject_cn = "ber.example";
    X509Ptr cert = make_cert(find_key("p256"), s, ca.cert.get(), ca.key.get(), EVP_sha256());
    std::string der = to_der(cert.get());
    unsigned char* spki_raw = nullptr;
    const int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &spki_raw);
    const std::string spki(reinterpret_cast<char*>(spki_raw), static_cast<std::size_t>(spki_len));
    OPENSSL_free(spki_raw);
    ASSERT_EQ(static_cast<unsigned char>(spki[1]), 0x59);  // P-256 SPKI: 89 bytes, short form
    const std::size_t at = der.find(spki);
    ASSERT_NE(at, std::string::npos);
    // Certificate and tbsCertificate both use the 2-byte long form here.
    ASSERT_EQ(static_cast<unsigned char>(der[1]), 0x82);
    ASSERT_EQ(static_cast<unsigned char>(der[5]), 0x82);
    auto grow = [&der](std::size_t pos) {
        unsigned len = (static_cast<unsigned char>(der[pos]) << 8) | static_cast<unsigned char>(der[pos + 1]);
        len += 2;
        der[pos] = static_cast<char>(len >> 8);
        der[pos + 1] = static_cast<char>(len & 0xFF);
    };
    grow(2);
    grow(6);
    der.replace(at + 1, 1, hex_bytes("820059"));
    EXPECT_TRUE(expect_same(der, "SPKI with a non-minimal length"));
    EXPECT_FALSE(detail::decode_light(reinterpret_cast<const unsigned char*>(der.data()), der.size()));
    EXPECT_EQ(ERR_peek_error(), 0UL);
}

// Random byte changes, truncations and trailing bytes on generated
// certificates: whatever the reference path accepts or rejects, the fast
// path must do the same.
TEST(Differential, MutatedCertificates) {
    std::vector<std::string> bases;
    for (const char* label : {"rsa2048", "p256", "p384", "ed25519", "ed448", "p521"}) {
        Spec s;
        s.subject_cn = std::string(label) + ".mutant.example";
        s.sans = "DNS:a.example, IP:10.1.2.3, email:x@example.com";
        s.crl_dp = "URI:http://crl.example/m.crl";
        s.aia = "OCSP;URI:http://ocsp.example/m, caIssuers;URI:http://ca.example/m.crt";
        s.ct = std::string(label) == "p384" ? 2 : 0;
        s.ski = true;
        s.aki = true;
        s.ca = 0;
        const Ca& ca = test_ca();
        bases.push_back(to_der(make_cert(find_key(label), s, ca.cert.get(), ca.key.get(), EVP_sha256()).get()));
    }
    std::mt19937 rng(20240607);
    Tally tally;
    int cases = 0;
    for (const std::string& base : bases) {
        for (int i = 0; i < 400; ++i) {
            std::string m = base;
            const std::size_t pos = std::uniform_int_distribution<std::size_t>(0, m.size() - 1)(rng);
            switch (i % 5) {
            case 0:
            case 1:
                m[pos] = static_cast<char>(m[pos] ^ (1 << (i % 8)));
                break;
            case 2:
                m[pos] = static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng));
                break;
            case 3:
                m.resize(pos);
                break;
            default:
                m.insert(pos, 1, static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng)));
                break;
            }
            if (m.empty()) continue;
            expect_same(m, "mutation " + std::to_string(cases), false, &tally);
            ++cases;
        }
    }
    EXPECT_GT(tally.parsed, 50);
    EXPECT_GT(tally.rejected, 200);
}

}  // namespace
}  // namespace netbox_ssl::test
