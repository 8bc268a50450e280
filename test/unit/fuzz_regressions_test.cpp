// Replays every input saved under test/fuzz/regressions/ (crashes, leaks and
// timeouts found by the libFuzzer targets, plus a few minimized inputs that
// reach deep parser code) through parse_pem and parse_der, the bundle reader
// (as text and as bytes) and the CSR parser. Each must either parse or throw
// netbox_ssl::Error, and leave OpenSSL's error queue empty; a bundle whose
// pass 1 succeeds must not fail in pass 2. So the normal unit suite keeps
// every fuzzing finding fixed without clang.
#include <gtest/gtest.h>

#include <openssl/err.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/bundle_reader.hpp"
#include "core/csr.hpp"
#include "test_support.hpp"

namespace netbox_ssl::test {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> regression_inputs() {
    std::vector<fs::path> out;
    const fs::path dir = source_path("test/fuzz/regressions");
    if (!fs::is_directory(dir)) return out;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
        if (entry.is_regular_file()) out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Runs one parse; any outcome but success or netbox_ssl::Error fails the test.
void expect_parses_or_error(const std::function<void()>& parse, const std::string& what) {
    try {
        parse();
    } catch (const Error&) {
        // expected outcome for hostile input
    } catch (const std::exception& e) {
        ADD_FAILURE() << what << ": threw a non-netbox_ssl exception: " << e.what();
    } catch (...) {
        ADD_FAILURE() << what << ": threw a non-std exception";
    }
    EXPECT_EQ(ERR_peek_error(), 0UL) << what << ": OpenSSL error queue left non-empty";
    ERR_clear_error();
}

TEST(FuzzRegressions, DirectoryIsNotEmpty) {
    EXPECT_FALSE(regression_inputs().empty()) << "test/fuzz/regressions/ holds no inputs";
}

TEST(FuzzRegressions, EveryInputParsesOrThrowsError) {
    ParseOptions ascii;
    ascii.ascii_only = true;
    for (const fs::path& path : regression_inputs()) {
        const std::string name = path.filename().string();
        const std::string bytes = read_file(path.string());
        expect_parses_or_error([&] { parse_pem(bytes); }, name + " via parse_pem");
        expect_parses_or_error([&] { parse_der(bytes); }, name + " via parse_der");
        expect_parses_or_error([&] { parse_pem(bytes, ascii); }, name + " via parse_pem(ascii_only)");
        expect_parses_or_error([&] { parse_der(bytes, ascii); }, name + " via parse_der(ascii_only)");
        expect_parses_or_error([&] { parse_csr_pem(bytes); }, name + " via parse_csr_pem");
        expect_parses_or_error([&] { parse_csr_der(bytes); }, name + " via parse_csr_der");
        for (const bool text : {true, false}) {
            const std::string what = name + " via BundleReader(text=" + (text ? "true" : "false") + ")";
            bool indexed = false;
            expect_parses_or_error(
                [&] {
                    BundleReader reader(bytes, text, {});
                    reader.index_issuers();
                    indexed = true;
                    CertificateInfo info;
                    while (reader.next(info)) {
                    }
                },
                what);
            if (indexed) {
                // Pass 1 accepted the bundle: pass 2 must not refuse an item.
                EXPECT_NO_THROW({
                    BundleReader reader(bytes, text, {});
                    reader.index_issuers();
                    CertificateInfo info;
                    while (reader.next(info)) {
                    }
                }) << what;
            }
        }
    }
}

}  // namespace
}  // namespace netbox_ssl::test
