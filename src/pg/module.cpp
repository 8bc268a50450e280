// Module registration and the extension's settings.
#include "pg/adapter.hpp"

extern "C" {
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PG_MODULE_MAGIC;

// NOLINTNEXTLINE(bugprone-reserved-identifier): the name PostgreSQL calls on load
void _PG_init(void);

PG_FUNCTION_INFO_V1(ssl_caller);
}

int netbox_ssl_max_input_bytes = 1024 * 1024;
char* netbox_ssl_actor = nullptr;
int netbox_ssl_expiry_critical_days = 14;
int netbox_ssl_expiry_warning_days = 30;
char* netbox_ssl_purging_certificate = nullptr;

// NOLINTNEXTLINE(bugprone-reserved-identifier): see the declaration
void _PG_init(void) {
    DefineCustomIntVariable("netbox_ssl.max_input_bytes",
                            "Largest certificate input, in bytes, that netbox_ssl functions accept.",
                            "Larger input is refused with SQLSTATE 54000 before any parsing work. "
                            "Superuser-only: it bounds the work any role can make a backend do.",
                            &netbox_ssl_max_input_bytes, 1024 * 1024, 1, MaxAllocSize / 4,
                            PGC_SUSET, GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("netbox_ssl.actor",
                               "Name recorded as the actor of lifecycle events.",
                               "Applications set it per transaction (SET LOCAL netbox_ssl.actor = 'alice'); "
                               "when empty, current_user is recorded.",
                               &netbox_ssl_actor, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("netbox_ssl.expiry_critical_days",
                            "Days before valid_to from which ssl_certificate_expiry reports a certificate as critical.",
                            nullptr, &netbox_ssl_expiry_critical_days, 14, 0, 36500, PGC_USERSET, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("netbox_ssl.expiry_warning_days",
                            "Days before valid_to from which ssl_certificate_expiry reports a certificate as warning.",
                            nullptr, &netbox_ssl_expiry_warning_days, 30, 0, 36500, PGC_USERSET, 0, nullptr,
                            nullptr, nullptr);
    // Set only by ssl_purge_certificate, transaction-locally; declared so the
    // reserved prefix accepts it.
    DefineCustomStringVariable("netbox_ssl.purging_certificate",
                               "Internal: the certificate ssl_purge_certificate is removing.", nullptr,
                               &netbox_ssl_purging_certificate, "", PGC_USERSET,
                               GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
    define_bundle_settings();
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("netbox_ssl");
#else
    EmitWarningsOnPlaceholders("netbox_ssl");
#endif
}

// The role that called into the extension: the current role outside any
// SECURITY DEFINER function (it follows SET ROLE, unlike session_user). The
// writing functions run as the extension's owner, so current_user there
// would name the owner instead of the caller.
extern "C" Datum ssl_caller(PG_FUNCTION_ARGS) {
    (void)fcinfo;
    PG_RETURN_TEXT_P(cstring_to_text(GetUserNameFromId(GetOuterUserId(), false)));
}
