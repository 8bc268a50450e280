// Public suffixes from libpsl. The maintained list of Debian's
// `publicsuffix` package (/usr/share/publicsuffix/public_suffix_list.dafsa,
// updated with the distribution) is preferred; when it is missing or
// unreadable, libpsl's built-in list (as old as the libpsl build) is used.
// The context is loaded once per process and never changes afterwards.
#include "core/psl.hpp"

#include <libpsl.h>
#include <sys/stat.h>

#include <cctype>
#include <ctime>

namespace netbox_ssl {
namespace {

constexpr const char* kDistFile = "/usr/share/publicsuffix/public_suffix_list.dafsa";

std::string day(std::time_t when) {
    char date[32] = {};
    std::tm tm{};
    if (when <= 0 || gmtime_r(&when, &tm) == nullptr || std::strftime(date, sizeof date, "%Y-%m-%d", &tm) == 0) return "";
    return std::string(" (") + date + ")";
}

class PslContext {
public:
    PslContext() : owned_(psl_load_file(kDistFile)) {
        if (owned_ != nullptr) {
            ctx_ = owned_;
            struct stat st {};
            source_ = std::string(kDistFile) + (stat(kDistFile, &st) == 0 ? day(st.st_mtime) : "");
        } else {
            ctx_ = psl_builtin();
            source_ = "libpsl built-in list" + day(psl_builtin_file_time());
        }
    }
    ~PslContext() { psl_free(owned_); }
    PslContext(const PslContext&) = delete;
    PslContext& operator=(const PslContext&) = delete;

    const psl_ctx_t* ctx() const { return ctx_; }
    const std::string& source() const { return source_; }

private:
    psl_ctx_t* owned_;  // loaded from the file; null when built-in
    const psl_ctx_t* ctx_ = nullptr;
    std::string source_;
};

const PslContext& context() {
    static const PslContext instance;
    return instance;
}

}  // namespace

bool is_public_suffix(std::string_view domain) {
    if (domain.empty()) return true;
    std::string name(domain);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const psl_ctx_t* ctx = context().ctx();
    // Without any list (libpsl built without one) nothing is a suffix; the
    // two-label rule of valid_dns_san still refuses "*.com".
    if (ctx == nullptr) return false;
    return psl_is_public_suffix2(ctx, name.c_str(), PSL_TYPE_ANY) != 0;
}

SuffixKind public_suffix_kind(std::string_view domain) {
    if (!is_public_suffix(domain)) return SuffixKind::None;
    std::string name(domain);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return psl_is_public_suffix2(context().ctx(), name.c_str(), PSL_TYPE_ICANN) != 0 ? SuffixKind::Icann : SuffixKind::Private;
}

bool wildcard_allowed(std::string_view pattern) {
    if (pattern.size() < 2 || pattern.substr(0, 2) != "*.") return true;
    return !is_public_suffix(pattern.substr(2));
}

std::string public_suffix_list_source() { return context().source(); }

}  // namespace netbox_ssl
