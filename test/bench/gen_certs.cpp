// gen_certs: writes synthetic but realistic TLS certificates for the
// netbox_ssl benchmarks (scripts/bench.sh, docs/performance.md).
//
//   gen_certs --count N [--seed S] [--format tsv|pem] [--out FILE]
//             [--pair CN ... --pairs-out FILE] [--chain-out FILE]
//             [--pool K] [--threads T]
//
// One run builds a small CA chain (a P-384 root and two intermediates, one
// RSA 2048 and one P-256) and then N leaf certificates signed by the
// intermediates. Leaf keys come from pools (K keys per type, RSA 4096 fewer)
// because RSA key generation is slow; every leaf still has its own serial
// number and subject, so every fingerprint is distinct.
//
// Key mix of the leaves: RSA 2048 60 %, P-256 20 %, P-384 8 %, Ed25519 7 %,
// RSA 4096 5 %. Each leaf has 1 to 20 DNS names in its subjectAltName (most
// have one to three), and about one in ten also carries an IP address.
//
// Output formats:
//   tsv  one line per certificate, ready for COPY ... FROM (text format):
//        id <TAB> common_name <TAB> key_type <TAB> pem
//        where the PEM's line breaks are written as the two characters \n.
//   pem  the PEM blocks concatenated.
//
// --pair CN (repeatable) with --pairs-out FILE writes, for each CN, an "old"
// certificate (issued about 300 days ago, still valid for a month) and its
// "new" replacement (fresh key, valid for a year) as TSV lines:
//   common_name <TAB> old_pem <TAB> new_pem
//
// Everything that is chosen (key type, pool index, names, serials, validity
// offsets) follows from --seed and the certificate's index, independent of
// the thread count; the keys themselves and the current time are not seeded.
#include "core/openssl_ptr.hpp"
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using netbox_ssl::Owned;

using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = Owned<X509, X509_free>;
using BioPtr = Owned<BIO, BIO_free_all>;
using BignumPtr = Owned<BIGNUM, BN_free>;
using Asn1IntegerPtr = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using ExtensionPtr = Owned<X509_EXTENSION, X509_EXTENSION_free>;

[[noreturn]] void fail(const std::string& what) {
    std::string reason;
    unsigned long code = ERR_get_error();
    if (code != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        reason = std::string(": ") + buf;
    }
    throw std::runtime_error(what + reason);
}

enum class KeyType { Rsa2048, Rsa4096, P256, P384, Ed25519 };
constexpr int kKeyTypes = 5;

const char* key_type_name(KeyType t) {
    switch (t) {
    case KeyType::Rsa2048: return "rsa2048";
    case KeyType::Rsa4096: return "rsa4096";
    case KeyType::P256: return "p256";
    case KeyType::P384: return "p384";
    case KeyType::Ed25519: return "ed25519";
    }
    return "unknown";
}

PkeyPtr generate_key(KeyType t) {
    EVP_PKEY* key = nullptr;
    switch (t) {
    case KeyType::Rsa2048: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)); break;
    case KeyType::Rsa4096: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(4096)); break;
    case KeyType::P256: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::P384: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyType::Ed25519: key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    }
    if (key == nullptr) fail(std::string("key generation failed for ") + key_type_name(t));
    return PkeyPtr(key);
}

// splitmix64: turns (seed, index, stream) into independent RNG seeds.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

struct Rng {
    std::mt19937_64 engine;
    explicit Rng(std::uint64_t seed) : engine(seed) {}
    // Uniform in [lo, hi].
    long range(long lo, long hi) { return std::uniform_int_distribution<long>(lo, hi)(engine); }
    double unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine); }
};

const char* const kWords[] = {"api", "www", "mail", "vpn", "git", "ci", "db", "auth", "cdn", "static", "shop",
                              "portal", "grafana", "metrics", "ldap", "sso", "files", "backup", "edge", "proxy",
                              "intranet", "wiki", "chat", "status", "docs", "login", "billing", "search"};
const char* const kDomains[] = {"example.com", "example.net", "example.org", "corp.example", "internal.example",
                                "acme-widgets.example", "shop.example", "cloud.example"};
const char* const kOrgs[] = {"Example Corp", "Acme Widgets Ltd", "Globex GmbH", "Initech SA", "Umbrella BV",
                             "Hooli Inc", "Stark Industries", "Wayne Enterprises"};
const char* const kCountries[] = {"US", "DE", "FR", "NL", "GB", "SE", "JP", "BR"};

template <typename T, std::size_t N>
const T& pick(Rng& rng, const T (&items)[N]) {
    return items[static_cast<std::size_t>(rng.range(0, static_cast<long>(N) - 1))];
}

struct Issuer {
    X509Ptr cert;
    PkeyPtr key;
    const EVP_MD* md;  // digest used when this issuer signs
};

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
    if (!ext) fail("cannot build extension " + std::string(OBJ_nid2sn(nid)) + "=" + value);
    if (X509_add_ext(cert, ext.get(), -1) != 1) fail("cannot add extension");
}

void set_serial(X509* cert, Rng& rng) {
    unsigned char bytes[16];
    for (std::size_t i = 0; i < sizeof bytes; i += 8) {
        std::uint64_t v = rng.engine();
        std::memcpy(bytes + i, &v, 8);
    }
    bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7F) | 0x01);  // positive, 16 bytes
    BignumPtr bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
    if (!bn) fail("BN_bin2bn");
    Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) fail("cannot set serial");
}

void set_name(X509_NAME* name, const char* field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                   -1, -1, 0) != 1) {
        fail(std::string("cannot set name field ") + field);
    }
}

// Validity: notBefore = now + from_days, notAfter = now + to_days.
X509Ptr new_cert(Rng& rng, long from_days, long to_days) {
    X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("X509_new");
    set_serial(cert.get(), rng);
    // A random second within the day keeps validity dates distinct as well.
    const long jitter = rng.range(0, 86399);
    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_days * 86400 - jitter) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_days * 86400 - jitter)) {
        fail("cannot set validity");
    }
    return cert;
}

void sign(X509* cert, const Issuer& issuer) {
    if (X509_set_issuer_name(cert, X509_get_subject_name(issuer.cert.get())) != 1) fail("cannot set issuer");
    if (X509_sign(cert, issuer.key.get(), issuer.md) <= 0) fail("X509_sign");
}

Issuer make_ca(Rng& rng, KeyType type, const std::string& cn, const Issuer* parent, const EVP_MD* md) {
    Issuer ca;
    ca.key = generate_key(type);
    ca.md = md;
    ca.cert = new_cert(rng, -400, parent == nullptr ? 3650 : 1825);
    X509* c = ca.cert.get();
    X509_NAME* name = X509_get_subject_name(c);
    set_name(name, "C", "US");
    set_name(name, "O", "netbox_ssl Benchmark CA");
    set_name(name, "CN", cn);
    if (X509_set_pubkey(c, ca.key.get()) != 1) fail("X509_set_pubkey");
    X509* issuer_cert = parent != nullptr ? parent->cert.get() : c;
    add_ext(c, issuer_cert, NID_basic_constraints, parent == nullptr ? "critical,CA:TRUE" : "critical,CA:TRUE,pathlen:0");
    add_ext(c, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(c, issuer_cert, NID_subject_key_identifier, "hash");
    if (parent != nullptr) add_ext(c, issuer_cert, NID_authority_key_identifier, "keyid:always");
    if (parent != nullptr) {
        sign(c, *parent);
    } else {
        if (X509_set_issuer_name(c, name) != 1 || X509_sign(c, ca.key.get(), md) <= 0) fail("self-sign");
    }
    return ca;
}

struct Pools {
    std::vector<PkeyPtr> keys[kKeyTypes];
};

// Generates the leaf key pools on `threads` threads.
Pools make_pools(int pool, int threads) {
    Pools pools;
    const int sizes[kKeyTypes] = {pool, std::max(2, pool / 8), pool, std::max(2, pool / 2), pool};
    struct Job {
        int type;
        int index;
    };
    std::vector<Job> jobs;
    for (int t = 0; t < kKeyTypes; ++t) {
        pools.keys[t].resize(static_cast<std::size_t>(sizes[t]));
        for (int i = 0; i < sizes[t]; ++i) jobs.push_back({t, i});
    }
    // The slowest jobs (RSA 4096) first, so they do not straggle at the end.
    std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
        return (a.type == 1) > (b.type == 1);
    });
    std::atomic<std::size_t> next{0};
    std::vector<std::string> errors(static_cast<std::size_t>(threads));
    auto worker = [&](int w) {
        try {
            for (std::size_t j; (j = next.fetch_add(1)) < jobs.size();) {
                pools.keys[jobs[j].type][static_cast<std::size_t>(jobs[j].index)] =
                    generate_key(static_cast<KeyType>(jobs[j].type));
            }
        } catch (const std::exception& e) {
            errors[static_cast<std::size_t>(w)] = e.what();
        }
    };
    std::vector<std::thread> ts;
    for (int w = 0; w < threads; ++w) ts.emplace_back(worker, w);
    for (auto& t : ts) t.join();
    for (const auto& e : errors) {
        if (!e.empty()) throw std::runtime_error(e);
    }
    return pools;
}

KeyType pick_key_type(Rng& rng) {
    const double r = rng.unit();
    if (r < 0.60) return KeyType::Rsa2048;
    if (r < 0.80) return KeyType::P256;
    if (r < 0.88) return KeyType::P384;
    if (r < 0.95) return KeyType::Ed25519;
    return KeyType::Rsa4096;
}

int pick_san_count(Rng& rng) {
    const double r = rng.unit();
    if (r < 0.50) return static_cast<int>(rng.range(1, 2));
    if (r < 0.85) return static_cast<int>(rng.range(3, 6));
    return static_cast<int>(rng.range(7, 20));
}

std::string to_pem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("PEM_write_bio_X509");
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

// COPY text format: the PEM holds no tab or backslash, so only line breaks
// need escaping.
std::string copy_escape(const std::string& pem) {
    std::string out;
    out.reserve(pem.size() + pem.size() / 32);
    for (char c : pem) {
        if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

struct Leaf {
    std::string cn;
    KeyType type;
    std::string pem;
};

// A server certificate for `cn` (plus extra names) with the given key.
std::string make_leaf(Rng& rng, const std::string& cn, const std::vector<std::string>& extra_sans, bool with_ip,
                      EVP_PKEY* key, const Issuer& issuer, long from_days, long to_days) {
    X509Ptr cert = new_cert(rng, from_days, to_days);
    X509* c = cert.get();
    X509_NAME* name = X509_get_subject_name(c);
    set_name(name, "C", pick(rng, kCountries));
    set_name(name, "O", pick(rng, kOrgs));
    if (rng.unit() < 0.3) set_name(name, "OU", "Platform Team " + std::to_string(rng.range(1, 40)));
    set_name(name, "CN", cn);
    if (X509_set_pubkey(c, key) != 1) fail("X509_set_pubkey");

    std::string sans = "DNS:" + cn;
    for (const std::string& s : extra_sans) sans += ",DNS:" + s;
    if (with_ip) {
        sans += ",IP:10." + std::to_string(rng.range(0, 255)) + "." + std::to_string(rng.range(0, 255)) + "." +
                std::to_string(rng.range(1, 254));
    }
    X509* ic = issuer.cert.get();
    add_ext(c, ic, NID_basic_constraints, "critical,CA:FALSE");
    const bool is_rsa = EVP_PKEY_is_a(key, "RSA");
    add_ext(c, ic, NID_key_usage, is_rsa ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature");
    add_ext(c, ic, NID_ext_key_usage, "serverAuth,clientAuth");
    add_ext(c, ic, NID_subject_key_identifier, "hash");
    add_ext(c, ic, NID_authority_key_identifier, "keyid:always");
    add_ext(c, ic, NID_subject_alt_name, sans);
    sign(c, issuer);
    return to_pem(c);
}

Leaf make_bench_leaf(std::uint64_t seed, std::size_t index, const Pools& pools, const Issuer* issuers) {
    Rng rng(mix(seed ^ mix(index + 1)));
    Leaf leaf;
    leaf.type = pick_key_type(rng);
    const auto& pool = pools.keys[static_cast<int>(leaf.type)];
    EVP_PKEY* key = pool[static_cast<std::size_t>(rng.range(0, static_cast<long>(pool.size()) - 1))].get();
    const std::string domain = pick(rng, kDomains);
    // The index makes every Common Name (and so every subject) unique.
    leaf.cn = std::string(pick(rng, kWords)) + "-" + std::to_string(index) + "." + domain;
    std::vector<std::string> extra;
    const int n = pick_san_count(rng);
    for (int i = 1; i < n; ++i) {
        extra.push_back(std::string(pick(rng, kWords)) + std::to_string(i) + "-" + std::to_string(index) + "." + domain);
    }
    const bool with_ip = rng.unit() < 0.1;
    const Issuer& issuer = issuers[rng.unit() < 0.7 ? 0 : 1];
    const long from = -rng.range(1, 300);
    const long to = from + rng.range(90, 397) + 301;  // always still valid today
    leaf.pem = make_leaf(rng, leaf.cn, extra, with_ip, key, issuer, from, to);
    return leaf;
}

void usage() {
    std::cerr << "usage: gen_certs --count N [--seed S] [--format tsv|pem] [--out FILE]\n"
                 "                 [--pair CN ... --pairs-out FILE] [--chain-out FILE]\n"
                 "                 [--pool K] [--threads T]\n";
}

int run(int argc, char** argv) {
    std::size_t count = 0;
    std::uint64_t seed = 1;
    std::string format = "tsv";
    std::string out_path = "-";
    std::string pairs_path;
    std::string chain_path;
    std::vector<std::string> pair_cns;
    int pool = 16;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                usage();
                throw std::runtime_error("missing value for " + arg);
            }
            return argv[++i];
        };
        if (arg == "--count") count = std::stoul(value());
        else if (arg == "--seed") seed = std::stoull(value());
        else if (arg == "--format") format = value();
        else if (arg == "--out") out_path = value();
        else if (arg == "--pair") pair_cns.push_back(value());
        else if (arg == "--pairs-out") pairs_path = value();
        else if (arg == "--chain-out") chain_path = value();
        else if (arg == "--pool") pool = std::max(1, std::stoi(value()));
        else if (arg == "--threads") threads = std::max(1, std::stoi(value()));
        else if (arg == "--help" || arg == "-h") {
            usage();
            return 0;
        } else {
            usage();
            throw std::runtime_error("unknown argument " + arg);
        }
    }
    if (format != "tsv" && format != "pem") throw std::runtime_error("--format must be tsv or pem");
    if (!pair_cns.empty() && pairs_path.empty()) throw std::runtime_error("--pair needs --pairs-out FILE");
    if (count == 0 && pair_cns.empty()) {
        usage();
        return 2;
    }

    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&t0]() { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    Rng ca_rng(mix(seed ^ 0xCA));
    Issuer root = make_ca(ca_rng, KeyType::P384, "netbox_ssl Benchmark Root", nullptr, EVP_sha384());
    Issuer issuers[2] = {
        make_ca(ca_rng, KeyType::Rsa2048, "netbox_ssl Benchmark RSA Issuing CA", &root, EVP_sha256()),
        make_ca(ca_rng, KeyType::P256, "netbox_ssl Benchmark ECC Issuing CA", &root, EVP_sha256()),
    };
    Pools pools = make_pools(pool, threads);
    std::cerr << "gen_certs: CA chain and key pools ready after " << elapsed() << " s\n";

    if (!chain_path.empty()) {
        std::ofstream chain(chain_path, std::ios::binary);
        chain << to_pem(issuers[0].cert.get()) << to_pem(issuers[1].cert.get()) << to_pem(root.cert.get());
        if (!chain) throw std::runtime_error("cannot write " + chain_path);
    }

    if (count > 0) {
        std::vector<Leaf> leaves(count);
        std::atomic<std::size_t> next{0};
        std::vector<std::string> errors(static_cast<std::size_t>(threads));
        auto worker = [&](int w) {
            try {
                for (std::size_t i; (i = next.fetch_add(1)) < count;) {
                    leaves[i] = make_bench_leaf(seed, i, pools, issuers);
                }
            } catch (const std::exception& e) {
                errors[static_cast<std::size_t>(w)] = e.what();
            }
        };
        std::vector<std::thread> ts;
        for (int w = 0; w < threads; ++w) ts.emplace_back(worker, w);
        for (auto& t : ts) t.join();
        for (const auto& e : errors) {
            if (!e.empty()) throw std::runtime_error(e);
        }

        std::ofstream file;
        if (out_path != "-") {
            file.open(out_path, std::ios::binary);
            if (!file) throw std::runtime_error("cannot open " + out_path);
        }
        std::ostream& out = out_path == "-" ? std::cout : file;
        for (std::size_t i = 0; i < count; ++i) {
            if (format == "tsv") {
                out << (i + 1) << '\t' << leaves[i].cn << '\t' << key_type_name(leaves[i].type) << '\t'
                    << copy_escape(leaves[i].pem) << '\n';
            } else {
                out << leaves[i].pem;
            }
        }
        out.flush();
        if (!out) throw std::runtime_error("write failed");
        std::cerr << "gen_certs: " << count << " certificates written after " << elapsed() << " s\n";
    }

    if (!pair_cns.empty()) {
        std::ofstream pairs(pairs_path, std::ios::binary);
        if (!pairs) throw std::runtime_error("cannot open " + pairs_path);
        for (std::size_t i = 0; i < pair_cns.size(); ++i) {
            Rng rng(mix(seed ^ mix(0xFA1200000000ULL + i)));
            const std::string& cn = pair_cns[i];
            const std::vector<std::string> extra = {"www." + cn};
            // Old and new keys are distinct pool entries of the same type.
            const auto& rsa = pools.keys[static_cast<int>(KeyType::Rsa2048)];
            const std::size_t k = static_cast<std::size_t>(rng.range(0, static_cast<long>(rsa.size()) - 1));
            EVP_PKEY* old_key = rsa[k].get();
            EVP_PKEY* new_key = rsa[(k + 1) % rsa.size()].get();
            const std::string old_pem = make_leaf(rng, cn, extra, false, old_key, issuers[0], -300, 30);
            const std::string new_pem = make_leaf(rng, cn, extra, false, new_key, issuers[0], -1, 365);
            pairs << cn << '\t' << copy_escape(old_pem) << '\t' << copy_escape(new_pem) << '\n';
        }
        if (!pairs) throw std::runtime_error("cannot write " + pairs_path);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "gen_certs: " << e.what() << "\n";
        return 1;
    }
}
