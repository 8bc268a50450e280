// Public suffixes for SQL (issue "Trust", item 3): the host lookup asks
// whether a wildcard may match, from libpsl's list (core/psl.hpp).
//
// Through the boundary helper (boundary.hpp): the argument is read before
// any C++ object exists, the core runs inside run_core(), and the result is
// built after the C++ scope has closed.
#include "core/psl.hpp"

#include "pg/adapter.hpp"
#include "pg/boundary.hpp"

#include <string_view>

// ssl_wildcard_allowed(pattern text) RETURNS boolean: false only for a
// wildcard "*.<base>" whose base is a public suffix ("*.co.uk",
// "*.github.io"); true for every other pattern or name. STRICT in SQL.
NETBOX_SSL_ENTRY(ssl_wildcard_allowed) {
    const InputBytes pattern = read_text_arg(fcinfo, 0);
    bool allowed = true;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] { allowed = netbox_ssl::wildcard_allowed(std::string_view(pattern.data, pattern.len)); });
    if (!ok) raise_core_error(&failure, InputForm::Text, CoreErrorStyle::Chain);
    PG_RETURN_BOOL(allowed);
}
