// d2i_baseline: the in-process lower bound that ssl_parse is compared with.
//
//   d2i_baseline FILE [--rounds R] [--kv OUT] [--no-core] [--by-type]
//
// FILE is what gen_certs writes: TSV lines whose last field is a PEM
// certificate with its line breaks escaped as \n (COPY text format), or plain
// concatenated PEM. Every certificate is decoded to DER once, up front; then
// each measurement runs R rounds over all of them and reports the median
// round as certificates per second:
//
//   baseline      d2i_X509 + SHA-256 of the DER (EVP_Digest) + X509_free:
//                 the least any parser must do to identify a certificate.
//   d2i_x509      d2i_X509 + X509_free alone.
//   sha256        EVP_Digest SHA-256 of the DER alone.
//   d2i_pubkey    d2i_PUBKEY of the certificate's SubjectPublicKeyInfo alone
//                 (the public key decode that d2i_X509 performs inside).
//   core_der      netbox_ssl::parse_der on the DER (every column of
//                 ssl_certificate, in-process, no PostgreSQL).
//   core_pem      netbox_ssl::parse_pem on the PEM text (what ssl_parse(text)
//                 runs inside the server).
//   core_split_pem  netbox_ssl::split_pem alone: the PEM scan and base64
//                 decode that parse_pem does before d2i_X509.
//
// With --d2i-rounds R (the acceptance protocol of issue "Speed", 1.6), only
// d2i_X509 + X509_free (no hashing) runs, R timed rounds after one untimed
// pass, and each round prints one line "d2i_round=<certs per second>", so
// that a script can interleave these rounds with the SQL query's rounds and
// keep the best of each.
//
// With --by-type, the baseline and d2i_pubkey are also reported per key type
// (the TSV's third field, as gen_certs writes it). Rates are wall-clock; the
// cpu column is process CPU time over wall time, so a value well below 100 %
// shows that the machine was busy with other work. --kv OUT writes
// "name=certs_per_second" lines for scripts.
#include "core/openssl_ptr.hpp"
#include "core/certificate.hpp"
#include "core/encoding.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using netbox_ssl::Owned;

using X509Ptr = Owned<X509, X509_free>;
using BioPtr = Owned<BIO, BIO_free_all>;
using PkeyPtr = Owned<EVP_PKEY, EVP_PKEY_free>;
using MdPtr = Owned<EVP_MD, EVP_MD_free>;

// Written once at the end so that no measured result can be optimised away.
volatile unsigned long g_sink = 0;

struct Cert {
    std::string key_type;
    std::string pem;
    std::string der;
    std::string spki;
};

std::string copy_unescape(const std::string& field) {
    std::string out;
    out.reserve(field.size());
    for (std::size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 1 < field.size()) {
            const char c = field[++i];
            out += c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c;
        } else {
            out += field[i];
        }
    }
    return out;
}

// Decodes every PEM certificate in `pem` (usually one) to DER.
std::vector<std::string> pem_to_ders(const std::string& pem) {
    std::vector<std::string> out;
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw std::bad_alloc();
    for (;;) {
        X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
        if (!cert) break;
        unsigned char* der = nullptr;
        const int len = i2d_X509(cert.get(), &der);
        if (len <= 0) throw std::runtime_error("i2d_X509 failed");
        out.emplace_back(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
        OPENSSL_free(der);
    }
    ERR_clear_error();  // the end of input is reported as an error
    return out;
}

std::string spki_of(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) throw std::runtime_error("d2i_X509 failed while preparing");
    unsigned char* spki = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &spki);
    if (len <= 0) throw std::runtime_error("i2d_X509_PUBKEY failed");
    std::string out(reinterpret_cast<char*>(spki), static_cast<std::size_t>(len));
    OPENSSL_free(spki);
    return out;
}

std::vector<Cert> load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::stringstream buf;
    buf << in.rdbuf();
    const std::string text = buf.str();

    std::vector<Cert> certs;
    auto add = [&](const std::string& key_type, const std::string& pem) {
        for (std::string& der : pem_to_ders(pem)) {
            Cert c;
            c.key_type = key_type;
            c.pem = pem;
            c.spki = spki_of(der);
            c.der = std::move(der);
            certs.push_back(std::move(c));
        }
    };
    if (text.find('\t') == std::string::npos) {
        add("all", text);  // plain concatenated PEM; pem is then the whole file
        for (Cert& c : certs) c.pem.clear();
        return certs;
    }
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty()) continue;
        std::vector<std::string> fields;
        std::size_t start = 0;
        for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
            fields.push_back(line.substr(start, tab - start));
        }
        fields.push_back(line.substr(start));
        const std::string key_type = fields.size() >= 4 ? fields[2] : "all";
        add(key_type, copy_unescape(fields.back()));
    }
    return certs;
}

struct Result {
    double median = 0, min = 0, max = 0;  // certificates per second
    double cpu_share = 0;                 // process CPU time / wall time, all rounds
    std::size_t certs = 0;
};

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs `body` over all `n` items `rounds` times; the median round counts.
Result measure(std::size_t n, int rounds, const std::function<void(std::size_t)>& body) {
    std::vector<double> rates;
    double wall_total = 0;
    const double cpu0 = cpu_seconds();
    for (int r = 0; r < rounds; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < n; ++i) body(i);
        const auto t1 = std::chrono::steady_clock::now();
        const double seconds = std::chrono::duration<double>(t1 - t0).count();
        wall_total += seconds;
        rates.push_back(seconds > 0 ? static_cast<double>(n) / seconds : 0.0);
    }
    const double cpu_total = cpu_seconds() - cpu0;
    std::sort(rates.begin(), rates.end());
    Result res;
    res.certs = n;
    res.cpu_share = wall_total > 0 ? cpu_total / wall_total : 0;
    res.min = rates.front();
    res.max = rates.back();
    const std::size_t m = rates.size();
    res.median = m % 2 == 1 ? rates[m / 2] : (rates[m / 2 - 1] + rates[m / 2]) / 2;
    return res;
}

int run(int argc, char** argv) {
    std::string path;
    std::string kv_path;
    int rounds = 5;
    bool core = true;
    bool by_type = false;
    int d2i_rounds = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--rounds" && i + 1 < argc) {
            rounds = std::max(1, std::stoi(argv[++i]));
        } else if (arg == "--kv" && i + 1 < argc) {
            kv_path = argv[++i];
        } else if (arg == "--no-core") {
            core = false;
        } else if (arg == "--by-type") {
            by_type = true;
        } else if (arg == "--d2i-rounds" && i + 1 < argc) {
            d2i_rounds = std::max(1, std::stoi(argv[++i]));
        } else if (!arg.empty() && arg[0] != '-' && path.empty()) {
            path = arg;
        } else {
            std::cerr << "usage: d2i_baseline FILE [--rounds R] [--kv OUT] [--no-core] [--by-type] [--d2i-rounds R]\n";
            return 2;
        }
    }
    if (path.empty()) {
        std::cerr << "usage: d2i_baseline FILE [--rounds R] [--kv OUT] [--no-core] [--by-type] [--d2i-rounds R]\n";
        return 2;
    }

    const std::vector<Cert> certs = load(path);
    if (certs.empty()) throw std::runtime_error("no certificates in " + path);
    // Fetched once, as the core does: an implicit EVP_sha256() lookup per
    // call would add OpenSSL 3's method-fetch cost to the baseline.
    MdPtr md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    if (!md) throw std::runtime_error("EVP_MD_fetch(SHA256) failed");

    unsigned long sink = 0;  // keeps results observable
    auto baseline_one = [&](const Cert& c) {
        const auto* p = reinterpret_cast<const unsigned char*>(c.der.data());
        X509* x = d2i_X509(nullptr, &p, static_cast<long>(c.der.size()));
        if (x == nullptr) throw std::runtime_error("d2i_X509 failed");
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_Digest(c.der.data(), c.der.size(), digest, &len, md.get(), nullptr) != 1) {
            throw std::runtime_error("EVP_Digest failed");
        }
        sink += digest[0];
        X509_free(x);
    };
    auto pubkey_one = [&](const Cert& c) {
        const auto* p = reinterpret_cast<const unsigned char*>(c.spki.data());
        PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(c.spki.size())));
        if (!key) throw std::runtime_error("d2i_PUBKEY failed");
        sink += static_cast<unsigned long>(EVP_PKEY_get_id(key.get()));
    };

    const std::size_t n = certs.size();
    auto d2i_one = [](const Cert& c) {
        const auto* p = reinterpret_cast<const unsigned char*>(c.der.data());
        X509* x = d2i_X509(nullptr, &p, static_cast<long>(c.der.size()));
        if (x == nullptr) throw std::runtime_error("d2i_X509 failed");
        X509_free(x);
    };
    if (d2i_rounds > 0) {
        for (const Cert& c : certs) d2i_one(c);  // untimed warm-up
        for (int r = 0; r < d2i_rounds; ++r) {
            const Result one = measure(n, 1, [&](std::size_t i) { d2i_one(certs[i]); });
            std::printf("d2i_round=%.1f\n", one.median);
            std::fflush(stdout);
        }
        return 0;
    }

    std::vector<std::pair<std::string, Result>> results;
    // One untimed pass warms OpenSSL's caches (provider and decoder setup).
    for (const Cert& c : certs) baseline_one(c);

    results.emplace_back("baseline", measure(n, rounds, [&](std::size_t i) { baseline_one(certs[i]); }));
    results.emplace_back("d2i_x509", measure(n, rounds, [&](std::size_t i) {
        const auto* p = reinterpret_cast<const unsigned char*>(certs[i].der.data());
        X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(certs[i].der.size())));
        if (!x) throw std::runtime_error("d2i_X509 failed");
    }));
    results.emplace_back("sha256", measure(n, rounds, [&](std::size_t i) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_Digest(certs[i].der.data(), certs[i].der.size(), digest, &len, md.get(), nullptr) != 1) {
            throw std::runtime_error("EVP_Digest failed");
        }
        sink += digest[0];
    }));
    results.emplace_back("d2i_pubkey", measure(n, rounds, [&](std::size_t i) { pubkey_one(certs[i]); }));
    if (core) {
        results.emplace_back("core_der", measure(n, rounds, [&](std::size_t i) {
            sink += netbox_ssl::parse_der(certs[i].der).fingerprint_sha256.size();
        }));
        if (!certs[0].pem.empty()) {
            results.emplace_back("core_pem", measure(n, rounds, [&](std::size_t i) {
                sink += netbox_ssl::parse_pem(certs[i].pem).fingerprint_sha256.size();
            }));
            results.emplace_back("core_split_pem", measure(n, rounds, [&](std::size_t i) {
                sink += netbox_ssl::split_pem(certs[i].pem).front().der.size();
            }));
        }
    }

    // Per key type: the baseline and the public key decode alone.
    std::map<std::string, std::vector<const Cert*>> types;
    for (const Cert& c : certs) types[c.key_type].push_back(&c);
    if (by_type && types.size() > 1) {
        for (const auto& [type, list] : types) {
            results.emplace_back("baseline." + type,
                                 measure(list.size(), rounds, [&](std::size_t i) { baseline_one(*list[i]); }));
            results.emplace_back("d2i_pubkey." + type,
                                 measure(list.size(), rounds, [&](std::size_t i) { pubkey_one(*list[i]); }));
        }
    }

    std::printf("%zu certificates, %d rounds each, median round (min-max)\n", n, rounds);
    std::printf("%-20s %7s %11s %9s %19s %5s\n", "measurement", "certs", "certs/s", "us/cert", "range (certs/s)",
                "cpu");
    for (const auto& [name, r] : results) {
        char range[64];
        std::snprintf(range, sizeof range, "%.0f-%.0f", r.min, r.max);
        std::printf("%-20s %7zu %11.0f %9.2f %19s %4.0f%%\n", name.c_str(), r.certs, r.median, 1e6 / r.median, range,
                    100 * r.cpu_share);
    }
    if (!kv_path.empty()) {
        std::ofstream kv(kv_path);
        for (const auto& [name, r] : results) kv << name << "=" << r.median << "\n";
        kv << "certs=" << n << "\n";
        if (!kv) throw std::runtime_error("cannot write " + kv_path);
    }
    g_sink = sink;
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "d2i_baseline: " << e.what() << "\n";
        return 1;
    }
}
