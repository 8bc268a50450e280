// The chain core on files, for test/limbo/run_limbo.py --core: the same
// verdicts as ssl_validate_chain without a server.
//   chain_cli [--at EPOCH] [--host NAME] [--depth N] [--crls CRLS.pem]
//             ROOTS.pem UNTRUSTED.pem LEAF.pem
// Prints: status<TAB>depth<TAB>message<TAB>chain (comma separated).
// With --crls, validates with RevocationMode::IfAvailable over those CRLs
// (the x509-limbo `crls` field), chosen as ssl_validate_chain chooses among
// stored ones (docs/revocation.md): a CRL counts for an issuer of the path
// when it names that issuer, its signature verifies with that issuer's key
// and it is current at --at (thisUpdate <= at <= nextUpdate); of those, the
// highest CRL number (then the latest thisUpdate) decides. Others are ignored.
#include "core/certificate.hpp"
#include "core/chain.hpp"
#include "core/crl.hpp"
#include "core/encoding.hpp"

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {
std::string slurp(const char* path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string utc_text(std::int64_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

// A CRL number as an orderable key: decimal digits, longer is larger.
std::pair<std::size_t, std::string> number_key(const std::optional<std::string>& n) {
    return n ? std::make_pair(n->size(), *n) : std::make_pair(std::size_t{0}, std::string());
}

class CrlFileSource : public netbox_ssl::RevocationSource {
public:
    // `ca_pem`: every certificate that may issue one of the path (roots and
    // untrusted intermediates); `crl_pem`: the CRLs.
    CrlFileSource(const std::string& ca_pem, const std::string& crl_pem) {
        for (const netbox_ssl::PemBlock& b : netbox_ssl::split_pem(ca_pem)) {
            if (b.kind != netbox_ssl::PemKind::Certificate) continue;
            const netbox_ssl::CertificateInfo info =
                netbox_ssl::parse_single_certificate(b.der, false, netbox_ssl::ParseOptions(), nullptr);
            issuers_.emplace(info.fingerprint_sha256, Issuer{info.subject, b.der});
        }
        if (crl_pem.find("-----BEGIN") != std::string::npos) crls_ = netbox_ssl::parse_crl_pem(crl_pem);
    }

    netbox_ssl::RevocationAnswer lookup(const std::string& issuer_fingerprint, const std::string& serial,
                                        std::int64_t at) const override {
        netbox_ssl::RevocationAnswer answer;
        const auto it = issuers_.find(issuer_fingerprint);
        if (it == issuers_.end()) return answer;
        const netbox_ssl::CrlInfo* best = nullptr;
        for (const netbox_ssl::CrlInfo& c : crls_) {
            if (c.issuer != it->second.subject) continue;
            if (c.this_update > at || (c.next_update && *c.next_update < at)) continue;  // not current
            if (!netbox_ssl::crl_signature_valid(c.der, it->second.der)) continue;      // not this issuer's
            if (best == nullptr ||
                std::make_pair(number_key(c.crl_number), c.this_update) >
                    std::make_pair(number_key(best->crl_number), best->this_update))
                best = &c;
        }
        if (best == nullptr) return answer;
        answer.kind = netbox_ssl::RevocationAnswer::Kind::Good;
        for (const netbox_ssl::CrlEntry& e : best->entries) {
            if (e.serial != serial || e.revoked_at > at || e.reason == std::optional<std::string>("removeFromCRL"))
                continue;
            answer.kind = netbox_ssl::RevocationAnswer::Kind::Revoked;
            answer.detail = "serial " + serial + ", revoked on " + utc_text(e.revoked_at) + ", reason " +
                            e.reason.value_or("unspecified") + " (CRL " +
                            (best->crl_number ? "number " + *best->crl_number : std::string("without number")) + ")";
            break;
        }
        return answer;
    }

private:
    struct Issuer {
        std::string subject;
        std::string der;
    };
    std::map<std::string, Issuer> issuers_;
    std::vector<netbox_ssl::CrlInfo> crls_;
};
}  // namespace

int main(int argc, char** argv) {
    netbox_ssl::ChainOptions options;
    options.at = static_cast<std::int64_t>(std::time(nullptr));
    const char* crl_path = nullptr;
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--at") options.at = std::stoll(argv[i + 1]);
        else if (flag == "--host") options.hostname = argv[i + 1];
        else if (flag == "--depth") options.max_depth = std::stoi(argv[i + 1]);
        else if (flag == "--crls") crl_path = argv[i + 1];
        else if (flag == "--no-web-pki") { options.web_pki = false; --i; }
        else { std::cerr << "unknown flag " << flag << "\n"; return 2; }
    }
    if (argc - i != 3) {
        std::cerr << "usage: chain_cli [--at EPOCH] [--host NAME] [--depth N] [--crls CRLS] ROOTS UNTRUSTED LEAF\n";
        return 2;
    }
    try {
        netbox_ssl::CertificateSet roots, untrusted, leaf;
        roots.add_pem(slurp(argv[i]));
        untrusted.add_pem(slurp(argv[i + 1]));
        leaf.add_pem(slurp(argv[i + 2]));
        const netbox_ssl::ChainValidator validator(roots, untrusted);
        std::unique_ptr<CrlFileSource> crls;
        if (crl_path != nullptr) {
            crls = std::make_unique<CrlFileSource>(slurp(argv[i]) + slurp(argv[i + 1]), slurp(crl_path));
            options.revocation = netbox_ssl::RevocationMode::IfAvailable;
            options.revocation_source = crls.get();
        }
        const netbox_ssl::ChainResult r = validator.validate(leaf, netbox_ssl::CertificateSet(), options);
        std::cout << netbox_ssl::chain_status_name(r.status) << '\t' << r.depth << '\t' << r.message << '\t';
        for (std::size_t k = 0; k < r.chain.size(); ++k) std::cout << (k ? "," : "") << r.chain[k];
        std::cout << '\n';
    } catch (const netbox_ssl::Error& e) {
        std::cout << "error\t0\t" << e.what() << "\t\n";
        return 1;
    }
    return 0;
}
