// Security item 1 (1.5): hostile PEM shapes and large bundles through every
// core entry point, each under a time bound, and the cancellation hook.
// On 1.4 the PEM shapes of 1 MB ran for minutes (quadratic key scan, block
// splitting and bundle ordering); now each runs in linear time.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/bundle_reader.hpp"
#include "core/cancel.hpp"
#include "core/chain.hpp"
#include "core/csr.hpp"
#include "core/encoding.hpp"
#include "test_support.hpp"

namespace netbox_ssl {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr double kSlowdown = 5.0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr double kSlowdown = 5.0;
#else
constexpr double kSlowdown = 1.0;
#endif
#else
constexpr double kSlowdown = 1.0;
#endif

// Generous for a loaded 2-core CI machine: the linear code needs well under
// 100 ms for these inputs; 1.4 needed tens of seconds to minutes.
constexpr double kBoundSeconds = 2.0 * kSlowdown;
constexpr std::size_t kMiB = std::size_t{1024} * 1024;

double seconds_of(const std::function<void()>& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    try {
        fn();
    } catch (const Error&) {
        // the verdict does not matter here, only the time
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string repeat_to(const std::string& unit, std::size_t size) {
    std::string out;
    out.reserve(size + unit.size());
    while (out.size() + unit.size() <= size) out += unit;
    return out;
}

// The hostile shapes, about 1 MiB each.
std::vector<std::pair<std::string, std::string>> hostile_shapes() {
    std::vector<std::pair<std::string, std::string>> shapes;
    shapes.emplace_back("repeated BEGIN", repeat_to("-----BEGIN", kMiB));
    shapes.emplace_back("repeated BEGIN lines on one line", repeat_to("-----BEGIN CERTIFICATE-----", kMiB));
    shapes.emplace_back("repeated BEGIN lines", repeat_to("-----BEGIN CERTIFICATE-----\n", kMiB));
    shapes.emplace_back("repeated END lines", repeat_to("-----END CERTIFICATE-----\n", kMiB));
    shapes.emplace_back("dashes", std::string(kMiB, '-'));
    shapes.emplace_back("long BEGIN line", "-----BEGIN " + std::string(kMiB, 'A'));
    shapes.emplace_back("long label", "-----BEGIN " + std::string(kMiB, 'A') + "-----\nAAAA\n-----END X-----\n");
    shapes.emplace_back("BEGIN without END", "-----BEGIN CERTIFICATE-----\n" + repeat_to(std::string(64, 'A') + "\n", kMiB));
    std::string one_line;
    std::string lines;
    std::string requests;
    for (int i = 0; one_line.size() < kMiB; ++i) {
        const std::string label = "X" + std::to_string(i);
        one_line += "-----BEGIN " + label + "-----AAAA-----END " + label + "-----";
        lines += "-----BEGIN " + label + "-----\nAAAA\n-----END " + label + "-----\n";
        requests += "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
    }
    shapes.emplace_back("many blocks on one line", one_line);
    shapes.emplace_back("many blocks with distinct labels", lines);
    shapes.emplace_back("many request blocks", requests);
    shapes.emplace_back("many empty certificate blocks",
                        repeat_to("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", kMiB));
    shapes.emplace_back("private key marker at the end",
                        repeat_to("-----BEGIN", kMiB) + "\n-----BEGIN PRIVATE KEY-----\n");
    return shapes;
}

TEST(DosBounds, HostilePemShapesThroughEveryEntryPoint) {
    ParseOptions options;
    options.max_input_bytes = 0;  // the shapes are about 1 MiB
    const std::vector<std::pair<std::string, std::function<void(std::string_view)>>> entries = {
        {"parse_pem", [&](std::string_view in) { (void)parse_pem(in, options); }},
        {"parse_der", [&](std::string_view in) { (void)parse_der(in, options); }},
        {"split_pem", [](std::string_view in) { (void)split_pem(in); }},
        {"refuse_pem_private_keys", [](std::string_view in) { refuse_pem_private_keys(in); }},
        {"parse_csr_pem", [&](std::string_view in) { (void)parse_csr_pem(in, options); }},
        {"BundleReader", [&](std::string_view in) {
             BundleReader reader(in, true, options);
             reader.index_issuers();
             CertificateInfo info;
             while (reader.next(info)) {
             }
         }},
        {"CertificateSet::add_pem", [](std::string_view in) {
             CertificateSet set;
             set.add_pem(in);
         }},
    };
    double worst = 0;
    for (const auto& [shape, input] : hostile_shapes()) {
        for (const auto& [entry, fn] : entries) {
            const double s = seconds_of([&] { fn(input); });
            worst = std::max(worst, s);
            EXPECT_LT(s, kBoundSeconds) << entry << " on " << shape << " took " << s << " s";
        }
    }
    std::printf("[ dos      ] worst hostile PEM shape (1 MiB): %.3f s\n", worst);
}

TEST(DosBounds, PrivateKeyScanStillFindsKeysAfterMarkers) {
    // The linear scan examines each line once: a key label after other BEGIN
    // markers on the same line, or on a later line, is still found.
    for (const std::string& text : {std::string("-----BEGIN-----BEGIN RSA PRIVATE KEY-----\n"),
                                   std::string("-----BEGIN CERTIFICATE----- -----BEGIN private   key-----\n"),
                                   repeat_to("-----BEGIN", 4096) + "\nx\n-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
                                   std::string("-----BEGIN X-----\r-----BEGIN EC PRIVATE KEY")}) {
        test::expect_error(ErrorKind::PrivateKey, [&] { refuse_pem_private_keys(text); }, text.substr(0, 60));
    }
    EXPECT_NO_THROW(refuse_pem_private_keys("-----BEGIN PRIVATE\nKEY-----\n"));
}

// ---------------------------------------------------------------------------
// Many certificates: generated with one Ed25519 key (signatures are not
// checked by the parser or the bundle ordering).

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

EVP_PKEY* signing_key() {
    static EVP_PKEY* key = [] {
        EVP_PKEY* k = nullptr;
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
        EVP_PKEY_keygen_init(ctx);
        EVP_PKEY_keygen(ctx, &k);
        EVP_PKEY_CTX_free(ctx);
        return k;
    }();
    return key;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

std::string make_cert(long serial, const std::string& subject_cn, const std::string& issuer_cn, bool ca,
                      const std::string& skid, const std::string& akid) {
    CertPtr cert(X509_new(), X509_free);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_NAME* subject = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(subject_cn.c_str()),
                               -1, -1, 0);
    X509_NAME* issuer = X509_get_issuer_name(cert.get());
    X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(issuer_cn.c_str()), -1,
                               -1, 0);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400L * 365);
    X509_set_pubkey(cert.get(), signing_key());
    add_ext(cert.get(), cert.get(), NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (!skid.empty()) add_ext(cert.get(), cert.get(), NID_subject_key_identifier, skid.c_str());
    if (!akid.empty()) {
        // keyid:always needs the issuer's skid; write the extension by value.
        AUTHORITY_KEYID* a = AUTHORITY_KEYID_new();
        a->keyid = ASN1_OCTET_STRING_new();
        ASN1_OCTET_STRING_set(a->keyid, reinterpret_cast<const unsigned char*>(akid.data()), static_cast<int>(akid.size()));
        X509_add1_ext_i2d(cert.get(), NID_authority_key_identifier, a, 0, X509V3_ADD_DEFAULT);
        AUTHORITY_KEYID_free(a);
    }
    X509_sign(cert.get(), signing_key(), nullptr);
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert.get(), &der);
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

std::string hex_id(long i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08lX", i);
    return buf;
}

std::string pem_of(const std::vector<std::string>& ders) {
    std::string out;
    for (const std::string& d : ders) out += pem_encode(d, "CERTIFICATE");
    return out;
}

constexpr int kMany = 4000;

TEST(DosBounds, ManyCertificatesOfOneName) {
    // One name for all, chained by key identifiers only (c(i)'s akid is
    // c(i+1)'s skid; the last is a self-signed root), shuffled. 1.4 compared
    // pairs, decoding both extensions each time: about 8 s for parse_pem and
    // as long for the bundle reader, which walked every issuer of the name.
    std::vector<std::string> ders;
    for (int i = 0; i < kMany; ++i) {
        const std::string akid = hex_id(i + 1 < kMany ? i + 1 : i);
        std::string akid_bytes;
        for (std::size_t k = 0; k < akid.size(); k += 2) {
            akid_bytes += static_cast<char>(std::stoi(akid.substr(k, 2), nullptr, 16));
        }
        ders.push_back(make_cert(i + 1, "Same", "Same", true, hex_id(i), akid_bytes));
    }
    std::vector<std::string> shuffled = ders;
    std::mt19937 rng(2);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    const std::string pem = pem_of(shuffled);
    ParseOptions options;
    options.max_input_bytes = 0;
    double s = seconds_of([&] {
        const CertificateInfo info = parse_pem(pem, options);
        std::string expected;
        for (int i = 1; i < kMany; ++i) expected += pem_encode(ders[static_cast<std::size_t>(i)], "CERTIFICATE");
        EXPECT_EQ(info.pem_content, pem_encode(ders[0], "CERTIFICATE"));
        EXPECT_TRUE(info.issuer_chain == expected);
    });
    EXPECT_LT(s, kBoundSeconds) << "parse_pem of " << kMany << " certificates of one name";
    std::printf("[ dos      ] parse_pem, %d certificates of one name: %.3f s\n", kMany, s);
    s = seconds_of([&] {
        BundleReader reader(pem, true, options);
        reader.index_issuers();
        CertificateInfo info;
        int n = 0;
        while (reader.next(info)) {
            ++n;
            if (info.pem_content == pem_encode(ders[0], "CERTIFICATE")) {
                // Self-issued: no chain in a bundle (as on 1.4).
                EXPECT_TRUE(info.issuer_chain.empty());
            }
        }
        EXPECT_EQ(n, kMany);
    });
    EXPECT_LT(s, kBoundSeconds) << "BundleReader over " << kMany << " CA certificates of one name";
    std::printf("[ dos      ] BundleReader, %d CA certificates of one name: %.3f s\n", kMany, s);
}

TEST(DosBounds, LongShuffledChainIsOrderedLeafToRoot) {
    // c0 <- c1 <- ... <- c(n-1) (root), shuffled; also no key identifiers on
    // half of them, so both lookups (by name, by name and key id) are used.
    std::vector<std::string> ders(kMany);
    for (int i = 0; i < kMany; ++i) {
        const std::string subject = "C" + std::to_string(i);
        const std::string issuer = i + 1 < kMany ? "C" + std::to_string(i + 1) : subject;
        const bool ids = i % 2 == 0;
        ders[static_cast<std::size_t>(i)] =
            make_cert(i + 1, subject, issuer, i > 0, ids ? hex_id(i) : "", ids && i + 1 < kMany ? "x" : "");
    }
    std::vector<std::string> shuffled = ders;
    std::mt19937 rng(1);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    const std::string pem = pem_of(shuffled);
    ParseOptions options;
    options.max_input_bytes = 0;
    CertificateInfo info;
    const double s = seconds_of([&] { info = parse_pem(pem, options); });
    EXPECT_LT(s, kBoundSeconds);
    std::printf("[ dos      ] parse_pem, shuffled chain of %d: %.3f s\n", kMany, s);
    EXPECT_EQ(info.subject, "CN=C0");
    // Leaf to root: the chain is c1, c2, ... in order, as 1.4 ordered it.
    std::string expected;
    for (int i = 1; i < kMany; ++i) expected += pem_encode(ders[static_cast<std::size_t>(i)], "CERTIFICATE");
    EXPECT_TRUE(info.issuer_chain == expected);
}

TEST(DosBounds, BundleChainsPreferMatchingKeyIdentifiers) {
    // Two CAs named "CA": the leaf's akid names the second one.
    const std::string ca1 = make_cert(1, "CA", "CA", true, "01", "");
    const std::string ca2 = make_cert(2, "CA", "CA", true, "02", "");
    const std::string leaf = make_cert(3, "leaf", "CA", false, "", "\x02");
    ParseOptions options;
    const std::string pem = pem_of({ca1, ca2, leaf});  // the reader keeps a view of it
    BundleReader reader(pem, true, options);
    reader.index_issuers();
    CertificateInfo info;
    std::vector<std::string> chains;
    while (reader.next(info)) chains.push_back(info.issuer_chain);
    ASSERT_EQ(chains.size(), 3U);
    EXPECT_EQ(chains[2], pem_encode(ca2, "CERTIFICATE"));
    const CertificateInfo parsed = parse_pem(pem, options);
    EXPECT_EQ(parsed.subject, "CN=leaf");
    EXPECT_EQ(parsed.issuer_chain.substr(0, pem_encode(ca2, "CERTIFICATE").size()), pem_encode(ca2, "CERTIFICATE"));
}

// ---------------------------------------------------------------------------
// Cancellation.

int g_polls = 0;
int g_cancel_after = -1;
bool counting_hook() noexcept {
    ++g_polls;
    return g_cancel_after >= 0 && g_polls > g_cancel_after;
}

struct HookScope {
    explicit HookScope(int cancel_after) {
        g_polls = 0;
        g_cancel_after = cancel_after;
        previous = set_cancel_hook(&counting_hook);
    }
    ~HookScope() { set_cancel_hook(previous); }
    HookScope(const HookScope&) = delete;
    HookScope& operator=(const HookScope&) = delete;
    CancelHook previous = nullptr;
};

// The longest stretch without a poll, measured by a hook that never cancels.
// CPU time of this thread, so that being descheduled on a loaded machine
// does not count as work.
double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
double g_last_poll = 0;
double g_max_gap = 0;
bool timing_hook() noexcept {
    const double now = thread_cpu_seconds();
    g_max_gap = std::max(g_max_gap, now - g_last_poll);
    g_last_poll = now;
    return false;
}

TEST(DosCancel, LongWorkPollsTheHookOften) {
    // A cancel is noticed within a few milliseconds (statement_timeout's
    // target is 100 ms): no stretch of work on 1 MiB goes without a poll
    // for more than 50 ms of CPU time.
    ParseOptions options;
    options.max_input_bytes = 0;
    double worst = 0;
    for (const auto& [shape, input] : hostile_shapes()) {
        const CancelHook previous = set_cancel_hook(&timing_hook);
        g_max_gap = 0;
        g_last_poll = thread_cpu_seconds();
        try {
            (void)parse_pem(input, options);
        } catch (const Error&) {
        }
        timing_hook();
        set_cancel_hook(previous);
        worst = std::max(worst, g_max_gap);
        EXPECT_LT(g_max_gap, 0.05 * kSlowdown) << shape;
    }
    std::printf("[ dos      ] longest stretch without a cancellation poll: %.4f s\n", worst);
}

TEST(DosCancel, EveryEntryPointStopsWithCancelled) {
    const std::string leaf = test::fixture("chain/leaf.pem");
    const std::string inter = test::fixture("chain/intermediate.pem");
    std::string big = leaf;
    for (int i = 0; i < 200; ++i) big += inter;
    ParseOptions options;
    options.max_input_bytes = 0;
    const std::vector<std::pair<std::string, std::function<void()>>> calls = {
        {"parse_pem", [&] { (void)parse_pem(big, options); }},
        {"parse_der", [&] { (void)parse_der(big, options); }},
        {"split_pem", [&] { (void)split_pem(big); }},
        {"refuse_pem_private_keys", [&] { refuse_pem_private_keys(repeat_to("-----BEGIN X-----\n", kMiB)); }},
        {"parse_csr_pem", [&] { (void)parse_csr_pem(big, options); }},
        {"BundleReader", [&] {
             BundleReader reader(big, true, options);
             reader.index_issuers();
         }},
        {"CertificateSet", [&] {
             CertificateSet set;
             set.add_pem(big);
         }},
    };
    for (const auto& [name, call] : calls) {
        for (int after : {0, 3, 50}) {
            HookScope hook(after);
            EXPECT_THROW(call(), Cancelled) << name << " after " << after << " polls";
        }
    }
    // Without a pending cancel the same calls succeed.
    HookScope hook(-1);
    EXPECT_EQ(parse_pem(big, options).subject, parse_pem(leaf).subject);
    EXPECT_GT(g_polls, 200);
}

}  // namespace
}  // namespace netbox_ssl
