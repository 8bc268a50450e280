// Module registration and the extension's settings.
#include "pg/adapter.hpp"
#include "pg/boundary.hpp"

#include <algorithm>
#include <iterator>

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PG_MODULE_MAGIC;

// NOLINTNEXTLINE(bugprone-reserved-identifier): the name PostgreSQL calls on load
void _PG_init(void);
}

int netbox_ssl_max_input_bytes = 1024 * 1024;
char* netbox_ssl_actor = nullptr;
int netbox_ssl_expiry_critical_days = 14;
int netbox_ssl_expiry_warning_days = 30;

namespace {

// Backend-local switches of the extension's own functions (security item
// 11): which certificate ssl_purge_certificate is removing, and whether
// ssl_match_authorities is writing the authority links. They replace the
// user-settable settings netbox_ssl.purging_certificate and
// netbox_ssl_authorities.matching of 1.4. Only ssl_internal_set() changes
// them (no EXECUTE for PUBLIC; the SECURITY DEFINER functions call it as the
// extension's owner). They are cleared at the end of the transaction, and
// when the subtransaction that set them aborts, so an error can never leave
// one set.
// ssl_renew and ssl_revert_renewal also mark the assignment move they make
// (moving: the certificate the assignments leave), which logs its own
// renewal events instead of assignment_removed/assignment_added.
struct InternalSwitch {
    bool set = false;
    int64 value = 0;
    SubTransactionId subid = InvalidSubTransactionId;
};
InternalSwitch switches[kSwitchCount];

int slot_of(text* name) {
    const char* n = text_to_cstring(name);
    if (strcmp(n, "purging") == 0) return kSwitchPurging;
    if (strcmp(n, "matching") == 0) return kSwitchMatching;
    if (strcmp(n, "moving") == 0) return kSwitchMoving;
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown internal switch \"%s\"", n)));
    return -1;
}

void clear_switches_at_xact_end(XactEvent event, void* arg) {
    (void)arg;
    (void)event;
    std::fill(std::begin(switches), std::end(switches), InternalSwitch{});
}

void clear_switches_at_subxact_abort(SubXactEvent event, SubTransactionId my_subid, SubTransactionId parent_subid,
                                     void* arg) {
    (void)parent_subid;
    (void)arg;
    if (event != SUBXACT_EVENT_ABORT_SUB) return;
    // Subtransaction ids grow within a transaction: a switch set at my_subid
    // or later was set inside the aborting subtransaction.
    std::replace_if(
        std::begin(switches), std::end(switches),
        [my_subid](const InternalSwitch& s) { return s.set && s.subid >= my_subid; }, InternalSwitch{});
}

bool expiry_days_consistent(int warning, int critical) { return warning >= critical; }

// The two thresholds are checked against each other when a session or
// transaction sets one of them (SET, SET LOCAL, set_config); values from
// postgresql.conf, ALTER SYSTEM, ALTER DATABASE/ROLE are applied one at a
// time in an order we do not control, so they are not refused here.
bool check_expiry_warning_days(int* newval, void** extra, GucSource source) {
    (void)extra;
    if (source < PGC_S_SESSION || expiry_days_consistent(*newval, netbox_ssl_expiry_critical_days)) return true;
    GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
    GUC_check_errmsg("netbox_ssl.expiry_warning_days (%d) must be at least netbox_ssl.expiry_critical_days (%d)",
                     *newval, netbox_ssl_expiry_critical_days);
    GUC_check_errhint("Lower netbox_ssl.expiry_critical_days first.");
    return false;
}

bool check_expiry_critical_days(int* newval, void** extra, GucSource source) {
    (void)extra;
    if (source < PGC_S_SESSION || expiry_days_consistent(netbox_ssl_expiry_warning_days, *newval)) return true;
    GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
    GUC_check_errmsg("netbox_ssl.expiry_critical_days (%d) must not exceed netbox_ssl.expiry_warning_days (%d)",
                     *newval, netbox_ssl_expiry_warning_days);
    GUC_check_errhint("Raise netbox_ssl.expiry_warning_days first.");
    return false;
}

}  // namespace

// The schema of the extension's tables. A C function is created either in
// that schema (the API) or in netbox_ssl_internal (the second entry point
// the extension's own SQL calls, see docs/security.md item 3); in the latter
// case the extension's schema is read from pg_extension once per function
// and backend.
Oid netbox_ssl_tables_schema(FunctionCallInfo fcinfo) {
    static Oid cached_fn = InvalidOid;
    static Oid cached_schema = InvalidOid;
    const Oid fn = fcinfo->flinfo->fn_oid;
    if (fn == cached_fn && OidIsValid(cached_schema)) return cached_schema;
    const Oid own = get_func_namespace(fn);
    const char* own_name = get_namespace_name(own);
    Oid schema = own;
    if (own_name != nullptr && strcmp(own_name, "netbox_ssl_internal") == 0) {
        const Oid ext = get_extension_oid("netbox_ssl", false);
        Relation rel = table_open(ExtensionRelationId, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ext));
        SysScanDesc scan = systable_beginscan(rel, ExtensionOidIndexId, true, nullptr, 1, &key);
        HeapTuple tuple = systable_getnext(scan);
        if (!HeapTupleIsValid(tuple)) elog(ERROR, "extension netbox_ssl has no pg_extension row");
        schema = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->extnamespace;
        systable_endscan(scan);
        table_close(rel, AccessShareLock);
    }
    cached_fn = fn;
    cached_schema = schema;
    return schema;
}

void internal_switch_set(InternalSwitchSlot slot, int64 value) {
    InternalSwitch& s = switches[slot];
    s.set = true;
    s.value = value;
    s.subid = GetCurrentSubTransactionId();
}

void internal_switch_clear(InternalSwitchSlot slot) { switches[slot] = InternalSwitch{}; }

// NOLINTNEXTLINE(bugprone-reserved-identifier): see the declaration
void _PG_init(void) {
    DefineCustomIntVariable("netbox_ssl.max_input_bytes",
                            "Largest certificate input, in bytes, that netbox_ssl functions accept.",
                            "Larger input is refused with SQLSTATE 54000 before any parsing work. "
                            "Superuser-only: it bounds the work any role can make a backend do.",
                            &netbox_ssl_max_input_bytes, 1024 * 1024, 1, MaxAllocSize / 4,
                            PGC_SUSET, GUC_UNIT_BYTE, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("netbox_ssl.actor",
                               "Name recorded as on_behalf_of in lifecycle events.",
                               "Applications set it per transaction (SET LOCAL netbox_ssl.actor = 'alice'); the "
                               "actor column always records the calling role.",
                               &netbox_ssl_actor, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("netbox_ssl.expiry_critical_days",
                            "Days before valid_to from which ssl_certificate_expiry reports a certificate as critical.",
                            nullptr, &netbox_ssl_expiry_critical_days, 14, 0, 36500, PGC_USERSET, 0,
                            check_expiry_critical_days, nullptr, nullptr);
    DefineCustomIntVariable("netbox_ssl.expiry_warning_days",
                            "Days before valid_to from which ssl_certificate_expiry reports a certificate as warning.",
                            nullptr, &netbox_ssl_expiry_warning_days, 30, 0, 36500, PGC_USERSET, 0,
                            check_expiry_warning_days, nullptr, nullptr);
    RegisterXactCallback(clear_switches_at_xact_end, nullptr);
    RegisterSubXactCallback(clear_switches_at_subxact_abort, nullptr);
    define_bundle_settings();
#if PG_VERSION_NUM >= 150000
    MarkGUCPrefixReserved("netbox_ssl");
#else
    EmitWarningsOnPlaceholders("netbox_ssl");
#endif
    // Hides statements that look like they carry key material from the server
    // log (certificate_input.cpp; docs/security.md, item 5).
    void install_key_log_hook();
    install_key_log_hook();
}

// The role that called into the extension: the current role outside any
// SECURITY DEFINER function (it follows SET ROLE, unlike session_user). The
// writing functions run as the extension's owner, so current_user there
// would name the owner instead of the caller.
NETBOX_SSL_ENTRY(ssl_caller) {
    (void)fcinfo;
    PG_RETURN_TEXT_P(cstring_to_text(GetUserNameFromId(GetOuterUserId(), false)));
}

// ssl_internal_set(switch, value): sets (value not NULL) or clears (NULL) an
// internal switch for the rest of the current (sub)transaction. No EXECUTE
// for PUBLIC.
NETBOX_SSL_ENTRY(ssl_internal_set) {
    require_arg(fcinfo, 0, "the switch name");
    const auto slot = static_cast<InternalSwitchSlot>(slot_of(PG_GETARG_TEXT_PP(0)));
    if (PG_ARGISNULL(1)) {
        internal_switch_clear(slot);
    } else {
        internal_switch_set(slot, PG_GETARG_INT64(1));
    }
    PG_RETURN_VOID();
}

// ssl_internal_get(switch): the switch's value, NULL when not set.
NETBOX_SSL_ENTRY(ssl_internal_get) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    const InternalSwitch& s = switches[slot_of(PG_GETARG_TEXT_PP(0))];
    if (!s.set) PG_RETURN_NULL();
    PG_RETURN_INT64(s.value);
}
