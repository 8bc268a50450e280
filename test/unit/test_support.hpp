// Small helpers shared by the unit tests: fixture paths and file reading.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <iterator>
#include <sstream>
#include <string>
#include <string_view>

#include "core/certificate.hpp"

namespace netbox_ssl::test {

inline std::string source_path(const std::string& relative) {
    return std::string(NETBOX_SSL_SOURCE_DIR) + "/" + relative;
}

inline std::string fixture_path(const std::string& name) {
    return source_path("test/fixtures/" + name);
}

// Whole file as bytes; fails the current test (and returns "") if missing,
// so a forgotten fixture is reported instead of parsed as empty input.
inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ADD_FAILURE() << "cannot read " << path;
        return {};
    }
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string fixture(const std::string& name) { return read_file(fixture_path(name)); }

inline const char* kind_name(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::Malformed: return "Malformed";
        case ErrorKind::PrivateKey: return "PrivateKey";
        case ErrorKind::Pkcs12: return "Pkcs12";
        case ErrorKind::TooLarge: return "TooLarge";
        case ErrorKind::Internal: return "Internal";
    }
    return "?";
}

// Runs fn, expecting netbox_ssl::Error of the given kind. Returns the error's
// what() and detail() joined, for checks on what messages reveal.
inline std::string expect_error(ErrorKind kind, const std::function<void()>& fn,
                                const std::string& what_input) {
    try {
        fn();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(kind_name(e.kind())), std::string(kind_name(kind)))
            << what_input << ": wrong ErrorKind; message: " << e.what();
        return std::string(e.what()) + "\n" + e.detail();
    } catch (const std::exception& e) {
        ADD_FAILURE() << what_input << ": threw a non-netbox_ssl exception: " << e.what();
        return {};
    }
    ADD_FAILURE() << what_input << ": parsed without error";
    return {};
}

// gtest-safe test name from a file path.
inline std::string test_name_for(const std::string& path) {
    std::string out;
    for (char c : path) out += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
    return out;
}

}  // namespace netbox_ssl::test
