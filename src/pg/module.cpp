// Module registration and the extension's settings.
#include "pg/adapter.hpp"

extern "C" {
#include "utils/guc.h"
#include "utils/memutils.h"

PG_MODULE_MAGIC;

// NOLINTNEXTLINE(bugprone-reserved-identifier): the name PostgreSQL calls on load
void _PG_init(void);
}

int netbox_ssl_max_input_bytes = 1024 * 1024;
char* netbox_ssl_actor = nullptr;

// NOLINTNEXTLINE(bugprone-reserved-identifier): see the declaration
void _PG_init(void) {
    DefineCustomIntVariable("netbox_ssl.max_input_bytes",
                            "Largest certificate input, in bytes, that netbox_ssl functions accept.",
                            "Larger input is refused with SQLSTATE 54000 before any parsing work.",
                            &netbox_ssl_max_input_bytes, 1024 * 1024, 1, MaxAllocSize / 4,
                            PGC_USERSET, GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("netbox_ssl.actor",
                               "Name recorded as the actor of lifecycle events.",
                               "Applications set it per transaction (SET LOCAL netbox_ssl.actor = 'alice'); "
                               "when empty, current_user is recorded.",
                               &netbox_ssl_actor, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("netbox_ssl");
#else
    EmitWarningsOnPlaceholders("netbox_ssl");
#endif
}
