// The chain core on files, for test/limbo/run_limbo.py --core: the same
// verdicts as ssl_validate_chain without a server.
//   chain_cli [--at EPOCH] [--host NAME] [--depth N] ROOTS.pem UNTRUSTED.pem LEAF.pem
// Prints: status<TAB>depth<TAB>message<TAB>chain (comma separated).
#include "core/certificate.hpp"
#include "core/chain.hpp"

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace {
std::string slurp(const char* path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

int main(int argc, char** argv) {
    netbox_ssl::ChainOptions options;
    options.at = static_cast<std::int64_t>(std::time(nullptr));
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--at") options.at = std::stoll(argv[i + 1]);
        else if (flag == "--host") options.hostname = argv[i + 1];
        else if (flag == "--depth") options.max_depth = std::stoi(argv[i + 1]);
        else if (flag == "--no-web-pki") { options.web_pki = false; --i; }
        else { std::cerr << "unknown flag " << flag << "\n"; return 2; }
    }
    if (argc - i != 3) {
        std::cerr << "usage: chain_cli [--at EPOCH] [--host NAME] [--depth N] ROOTS UNTRUSTED LEAF\n";
        return 2;
    }
    try {
        netbox_ssl::CertificateSet roots, untrusted, leaf;
        roots.add_pem(slurp(argv[i]));
        untrusted.add_pem(slurp(argv[i + 1]));
        leaf.add_pem(slurp(argv[i + 2]));
        const netbox_ssl::ChainValidator validator(roots, untrusted);
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
