// The chain validator's SQL entry points (internal helpers of
// ssl_validate_chain, ssl_validate_all and ssl_trust_anchor_load).
//
// Through the boundary helper (boundary.hpp): arguments are read and
// detoasted before any C++ object exists, the core runs inside run_core(),
// which catches everything into plain storage, and only after the C++ scope
// has closed do we ereport or build Datums. Memory handed out of the C++
// scope comes from core_alloc/core_text, which cannot longjmp.
//
// The trust store is cached for the life of the backend: while the anchors
// and the intermediate pool are byte-for-byte the ones of the previous call,
// the X509_STORE is reused, so ssl_validate_all (one call per certificate)
// decodes the anchors once, not once per certificate.
//
// Within one ssl_validate_all run (ssl_chain_run(true) .. ssl_chain_run(false),
// and never past the end of the transaction) the issuer candidates, which
// many leaves share, are decoded once per distinct text (RunCache below).
// That cache holds decoded certificates only, never a verdict, so it cannot
// outlive a change of trust anchors in any way that matters; it is dropped
// at the end of the run all the same.
#include "core/certificate.hpp"
#include "core/chain.hpp"
#include "core/encoding.hpp"

#include "pg/adapter.hpp"
#include "pg/boundary.hpp"
#include "pg/revocation.hpp"

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
}

namespace {

using Bytes = InputBytes;

// Elements of a one-dimensional array of text or bytea, NULLs skipped.
struct ByteList {
    int count = 0;
    Bytes* items = nullptr;
    Bytes whole = {nullptr, 0};  // the array's own bytes: the cache key
};

ByteList read_array(FunctionCallInfo fcinfo, int argno, Oid elemtype) {
    ByteList out;
    if (PG_ARGISNULL(argno)) return out;
    ArrayType* arr = PG_GETARG_ARRAYTYPE_P(argno);
    out.whole = {reinterpret_cast<const char*>(arr), VARSIZE(arr)};
    Datum* elems = nullptr;
    bool* nulls = nullptr;
    int n = 0;
    deconstruct_array(arr, elemtype, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
    out.items = static_cast<Bytes*>(palloc(sizeof(Bytes) * (n + 1)));
    for (int i = 0; i < n; ++i) {
        if (nulls[i]) continue;
        struct varlena* v = PG_DETOAST_DATUM_PACKED(elems[i]);
        out.items[out.count++] = {VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)};
    }
    return out;
}

// The cached store. Deliberately kept across calls (see the file comment);
// rebuilt whenever either input differs.
struct StoreCache {
    std::string anchors_key;
    std::string pool_key;
    std::unique_ptr<netbox_ssl::ChainValidator> validator;
};
StoreCache* cache = nullptr;

void forget_signatures() noexcept;

bool same(const std::string& key, Bytes b) { return key.size() == b.len && std::memcmp(key.data(), b.data, b.len) == 0; }

const netbox_ssl::ChainValidator& validator_for(const ByteList& anchors, const ByteList& pool) {
    if (cache == nullptr) cache = new StoreCache();
    if (cache->validator && same(cache->anchors_key, anchors.whole) && same(cache->pool_key, pool.whole)) {
        return *cache->validator;
    }
    forget_signatures();  // never a signature fact across a change of anchors
    cache->validator.reset();
    cache->anchors_key.clear();
    cache->pool_key.clear();
    netbox_ssl::CertificateSet anchor_set;
    for (int i = 0; i < anchors.count; ++i) anchor_set.add_der(std::string_view(anchors.items[i].data, anchors.items[i].len));
    netbox_ssl::CertificateSet pool_set;
    for (int i = 0; i < pool.count; ++i) pool_set.add_pem(std::string_view(pool.items[i].data, pool.items[i].len));
    cache->validator = std::make_unique<netbox_ssl::ChainValidator>(anchor_set, pool_set);
    cache->anchors_key.assign(anchors.whole.data, anchors.whole.len);
    cache->pool_key.assign(pool.whole.data, pool.whole.len);
    return *cache->validator;
}

// The per-call intermediates of one ssl_validate_all run (a leaf's
// issuer_chain, then its issuer candidates), decoded once per distinct pair:
// the leaves of one issuer share both. Only active between
// ssl_chain_run(true) and ssl_chain_run(false) or the end of the
// transaction; bounded, so a run over very many distinct issuers cannot grow
// it without limit (it is then emptied and refilled). It holds decoded
// certificates and the issuer_chain's structural problem, never a verdict.
struct Intermediates {
    netbox_ssl::CertificateSet certs;  // the issuer_chain's (if usable), then the candidates
    std::string chain_problem;         // "" when the issuer_chain is usable
};
struct RunCache {
    bool active = false;
    std::size_t bytes = 0;
    std::unordered_map<std::string, std::unique_ptr<Intermediates>> entries;
    // Issuers' signatures already verified in this run (1.6, issue "Speed",
    // item 4): the intermediate <- anchor signature that thousands of leaves
    // share is verified once. Keyed by the decoded certificates above, which
    // it holds a reference to; a fact about two certificates' bytes, never a
    // verdict; emptied with the run, and whenever the trust store is rebuilt.
    netbox_ssl::SignatureCache signatures{100000};
};
RunCache* run_cache = nullptr;
constexpr std::size_t kRunCacheBytes = std::size_t{64} * 1024 * 1024;

void end_run() noexcept {
    if (run_cache == nullptr) return;
    run_cache->active = false;
    run_cache->bytes = 0;
    run_cache->entries.clear();  // destructors only: no PostgreSQL call, no throw
    run_cache->signatures.clear();
}

void forget_signatures() noexcept {
    if (run_cache != nullptr) run_cache->signatures.clear();
}

void end_run_at_xact_end(XactEvent event, void* /*arg*/) {
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
        event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE) {
        end_run();
    }
}

// The rules of a stored issuer_chain (security item 7): PEM CERTIFICATE
// blocks that decode, at least one, nothing else but text between blocks.
// Adds the certificates to `out`; throws Error(PrivateKey) for a key and
// Error(Malformed) for a block that does not decode; returns the structural
// problem as a phrase, or "" when the chain is acceptable.
std::string chain_rule_problem(std::string_view text, netbox_ssl::CertificateSet& out) {
    if (text.empty()) return {};
    std::size_t certificates = 0;
    for (const netbox_ssl::PemBlock& block : netbox_ssl::split_pem(text)) {
        if (block.kind != netbox_ssl::PemKind::Certificate) return "issuer_chain may hold only PEM CERTIFICATE blocks";
        out.add_der(block.der);
        ++certificates;
    }
    if (certificates == 0) return "issuer_chain holds no PEM CERTIFICATE block";
    return {};
}

// The per-call intermediates of a certificate: its issuer_chain (when it
// can be used; otherwise `chain_problem` says why and none of it is used),
// then the issuer candidates. Inside run_core only.
void decode_intermediates(Bytes chain, Bytes candidates, Size chain_limit, Intermediates& out) {
    // A chain that cannot be used (too large, a private key, a block that
    // is not a certificate or does not decode) is a verdict about this
    // certificate, not an error: ssl_validate_all goes on with the next.
    if (chain.len > chain_limit) {
        out.chain_problem = "it is larger than netbox_ssl.max_input_bytes";
    } else {
        try {
            out.chain_problem = chain_rule_problem(std::string_view(chain.data, chain.len), out.certs);
        } catch (const netbox_ssl::Error& e) {
            if (e.kind() == netbox_ssl::ErrorKind::Internal) throw;
            out.chain_problem = e.kind() == netbox_ssl::ErrorKind::PrivateKey || e.kind() == netbox_ssl::ErrorKind::Pkcs12
                                    ? std::string("it holds a private key")
                                    : std::string(e.what());
        }
    }
    if (!out.chain_problem.empty()) out.certs = netbox_ssl::CertificateSet();
    // Issuer candidates found by the caller (by name and key identifier)
    // are per-call intermediates after the issuer_chain.
    out.certs.add_pem(std::string_view(candidates.data, candidates.len));
}

// decode_intermediates, from the run's cache when a run is active (else
// into `scratch`). Inside run_core only.
const Intermediates& intermediates_for(Bytes chain, Bytes candidates, Size chain_limit, Intermediates& scratch) {
    if (run_cache == nullptr || !run_cache->active) {
        decode_intermediates(chain, candidates, chain_limit, scratch);
        return scratch;
    }
    std::string key = std::to_string(chain.len);
    key.push_back(':');
    key.append(chain.data, chain.len);
    key.append(candidates.data, candidates.len);
    auto found = run_cache->entries.find(key);
    if (found != run_cache->entries.end()) return *found->second;
    auto entry = std::make_unique<Intermediates>();
    decode_intermediates(chain, candidates, chain_limit, *entry);
    if (run_cache->bytes + key.size() > kRunCacheBytes) {
        run_cache->entries.clear();
        run_cache->bytes = 0;
    }
    run_cache->bytes += key.size();
    return *run_cache->entries.emplace(std::move(key), std::move(entry)).first->second;
}

}  // namespace

// ssl_chain_verify(leaf text, chain text, pool text[], anchors bytea[],
//                  at timestamptz, hostname text
//                  [, candidates text [, max_depth int, revocation text]],
//                  OUT status text, OUT depth int, OUT message text, OUT chain text[])
// 1.4 passes six arguments, 1.5 seven (the issuer candidates), 1.6 nine:
// a schema not yet updated keeps working with the 1.6 library, without
// revocation checking (as before 1.6).
NETBOX_SSL_ENTRY(ssl_chain_verify) {
    require_arg(fcinfo, 0, "the certificate to validate");
    require_arg(fcinfo, 4, "the validation time");
    const TimestampTz at = PG_GETARG_TIMESTAMPTZ(4);
    if (TIMESTAMP_NOT_FINITE(at)) {
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("the validation time must be finite"), errhidestmt(true)));
    }
    int max_depth = 32;  // ChainOptions' default: the most intermediates a path may hold
    netbox_ssl::RevocationMode revocation = netbox_ssl::RevocationMode::None;
    if (PG_NARGS() > 8) {
        if (!PG_ARGISNULL(7)) {
            max_depth = PG_GETARG_INT32(7);
            if (max_depth < 0) {
                ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("max_depth must not be negative"),
                                errhint("Pass the most intermediates a path may hold, or NULL for the default of 32."),
                                errhidestmt(true)));
            }
        }
        require_arg(fcinfo, 8, "revocation");
        char* mode = text_to_cstring(PG_GETARG_TEXT_PP(8));
        if (strcmp(mode, "none") == 0) {
            revocation = netbox_ssl::RevocationMode::None;
        } else if (strcmp(mode, "if_available") == 0) {
            revocation = netbox_ssl::RevocationMode::IfAvailable;
        } else if (strcmp(mode, "required") == 0) {
            revocation = netbox_ssl::RevocationMode::Required;
        } else {
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("revocation must be 'none', 'if_available' or 'required'"), errhidestmt(true)));
        }
    }
    const Bytes leaf = read_text_arg(fcinfo, 0);
    const Bytes chain = read_text_arg(fcinfo, 1);
    // 1.5 passes the issuer candidates as a seventh argument; the pool then
    // is empty, so the cached store holds the anchors only.
    const Bytes candidates = PG_NARGS() > 6 ? read_text_arg(fcinfo, 6) : Bytes{"", 0};
    const ByteList pool = read_array(fcinfo, 2, TEXTOID);
    const ByteList anchors = read_array(fcinfo, 3, BYTEAOID);
    char* hostname = PG_ARGISNULL(5) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(5));
    if (hostname != nullptr && hostname[0] == '\0') {
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("the host name must not be empty"),
                        errhint("Pass NULL to validate without a host name."), errhidestmt(true)));
    }

    TupleDesc desc = composite_result_desc(fcinfo);

    const char* status = nullptr;
    int depth = 0;
    text* message = nullptr;
    int nchain = 0;
    text** chain_items = nullptr;

    // A stored issuer_chain larger than the input limit (only possible in
    // rows written before 1.5) is not parsed at all.
    const Size chain_limit = static_cast<Size>(netbox_ssl_max_input_bytes);

    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        const netbox_ssl::ChainValidator& validator = validator_for(anchors, pool);
        netbox_ssl::CertificateSet leaf_set;
        leaf_set.add_pem(std::string_view(leaf.data, leaf.len));
        Intermediates scratch;
        const Intermediates& extra = intermediates_for(chain, candidates, chain_limit, scratch);
        const std::string& chain_problem = extra.chain_problem;
        netbox_ssl::ChainOptions options;
        options.at = unix_seconds(at);
        options.max_depth = max_depth;
        if (hostname != nullptr) options.hostname = std::string(hostname);
        std::unique_ptr<netbox_ssl::RevocationSource> source;
        if (revocation != netbox_ssl::RevocationMode::None) {
            source = stored_revocation_source();
            options.revocation = revocation;
            options.revocation_source = source.get();
        }
        if (run_cache != nullptr && run_cache->active) options.signature_cache = &run_cache->signatures;
        netbox_ssl::ChainResult r = validator.validate(leaf_set, extra.certs, options);
        if (!chain_problem.empty()) {
            r.status = netbox_ssl::ChainStatus::Invalid;
            r.depth = 0;
            r.message = "Certificate at depth 0 has an issuer_chain that cannot be used: " + chain_problem + ".";
        }
        status = netbox_ssl::chain_status_name(r.status);  // static storage
        depth = r.depth;
        message = core_text(r.message);
        chain_items = static_cast<text**>(core_alloc(sizeof(text*) * (r.chain.size() + 1)));
        for (const std::string& fp : r.chain) chain_items[nchain++] = core_text(fp);
    });
    if (!ok) raise_core_error(&failure, InputForm::Text, CoreErrorStyle::Chain);

    Datum values[4] = {CStringGetTextDatum(status), Int32GetDatum(depth), PointerGetDatum(message),
                       text_array_datum(chain_items, nchain)};
    bool nulls[4] = {false, false, false, false};
    PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}

// ssl_chain_run(started boolean) RETURNS void: true starts a validation run
// of ssl_validate_all (the issuer candidates are then decoded once per
// distinct text), false ends it. A run also ends with its transaction.
NETBOX_SSL_ENTRY(ssl_chain_run) {
    require_arg(fcinfo, 0, "started");
    const bool started = PG_GETARG_BOOL(0);
    static bool callback_registered = false;
    if (!callback_registered) {
        RegisterXactCallback(end_run_at_xact_end, nullptr);
        callback_registered = true;
    }
    end_run();
    if (started) {
        CoreFailure failure;
        const bool ok = run_core(&failure, [&] {
            if (run_cache == nullptr) run_cache = new RunCache();
            run_cache->active = true;
        });
        if (!ok) raise_core_error(&failure, InputForm::Text, CoreErrorStyle::Chain);
    }
    PG_RETURN_VOID();
}

// ssl_chain_split_pem(pem text) RETURNS bytea[]: every CERTIFICATE block of
// a PEM text as DER, in order. A private key anywhere refuses the whole
// input (22023), as every other entry point does.
NETBOX_SSL_ENTRY(ssl_chain_split_pem) {
    require_arg(fcinfo, 0, "the PEM bundle");
    // A CA bundle is far larger than one certificate: Debian's is about
    // 200 kB. The limit is the single-certificate limit times 64.
    refuse_oversized("the PEM bundle", arg_raw_size(fcinfo, 0), static_cast<Size>(netbox_ssl_max_input_bytes) * 64,
                     "Raise netbox_ssl.max_input_bytes (the bundle limit is 64 times it), or load the bundle in parts.");
    const Bytes pem = read_text_arg(fcinfo, 0);

    int count = 0;
    bytea** items = nullptr;
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        netbox_ssl::CertificateSet set;  // decodes each block: bad DER is refused here
        const std::vector<netbox_ssl::PemBlock> blocks = netbox_ssl::split_pem(std::string_view(pem.data, pem.len));
        items = static_cast<bytea**>(core_alloc(sizeof(bytea*) * (blocks.size() + 1)));
        for (const netbox_ssl::PemBlock& block : blocks) {
            if (block.kind != netbox_ssl::PemKind::Certificate) continue;
            set.add_der(block.der);
            items[count++] = core_text(block.der);
        }
    });
    if (!ok) raise_core_error(&failure, InputForm::Text, CoreErrorStyle::Chain);

    Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * (count + 1)));
    for (int i = 0; i < count; ++i) datums[i] = PointerGetDatum(items[i]);
    PG_RETURN_ARRAYTYPE_P(construct_array(datums, count, BYTEAOID, -1, false, TYPALIGN_INT));
}

// ssl_issuer_chain_check(chain text, raise_error boolean) RETURNS text: the
// rules for ssl_certificate.issuer_chain (security item 7). '' is "no
// chain". Anything else must be at most netbox_ssl.max_input_bytes (54000),
// hold no private key (22023) and consist of PEM CERTIFICATE blocks that
// decode, at least one (22P02); text between blocks is ignored, as in every
// PEM input. With raise_error the problem is raised with its SQLSTATE (the
// statement hidden from the log); without, it is returned as one sentence,
// NULL when the chain is acceptable.
// Answers of ssl_issuer_chain_check(chain, false) already given in this
// query, by call site (fn_extra, freed with the query): ssl_check_compliance
// asks about every certificate, and most share one of a few chains, so each
// distinct chain is decoded once per query (1.6, issue "Speed", item 5).
struct ChainCheckMemo {
    static constexpr int kEntries = 64;
    int count;
    Size limit;
    struct Entry {
        uint32 hash;
        Size len;
        char* data;
        text* answer;  // NULL: the chain is acceptable
    } entries[kEntries];
};

ChainCheckMemo* chain_check_memo(FunctionCallInfo fcinfo, Size limit) {
    auto* memo = static_cast<ChainCheckMemo*>(fcinfo->flinfo->fn_extra);
    if (memo == nullptr) {
        memo = static_cast<ChainCheckMemo*>(MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ChainCheckMemo)));
        fcinfo->flinfo->fn_extra = memo;
    }
    if (memo->limit != limit) {  // the setting changed: forget every answer
        memo->count = 0;
        memo->limit = limit;
    }
    return memo;
}

NETBOX_SSL_ENTRY(ssl_issuer_chain_check) {
    if (PG_ARGISNULL(0)) PG_RETURN_NULL();
    const bool raise_error = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
    const Size raw_size = arg_raw_size(fcinfo, 0);
    const Size limit = static_cast<Size>(netbox_ssl_max_input_bytes);
    if (raw_size > limit && !raise_error) {
        PG_RETURN_TEXT_P(cstring_to_text("The issuer chain is larger than netbox_ssl.max_input_bytes."));
    }
    refuse_oversized("issuer_chain", raw_size, limit, "Store only the intermediate certificates of the chain.");
    const Bytes chain = read_text_arg(fcinfo, 0);

    ChainCheckMemo* memo = nullptr;
    uint32 hash = 0;
    if (!raise_error) {
        memo = chain_check_memo(fcinfo, limit);
        hash = hash_bytes(reinterpret_cast<const unsigned char*>(chain.data), static_cast<int>(chain.len));
        for (int i = 0; i < memo->count; ++i) {
            const ChainCheckMemo::Entry& e = memo->entries[i];
            if (e.hash == hash && e.len == chain.len && memcmp(e.data, chain.data, chain.len) == 0) {
                if (e.answer == nullptr) PG_RETURN_NULL();
                PG_RETURN_TEXT_P(e.answer);
            }
        }
    }

    char problem_text[128] = {};
    CoreFailure failure;
    const bool ok = run_core(&failure, [&] {
        netbox_ssl::CertificateSet set;  // decodes each block: bad DER is refused here
        const std::string problem = chain_rule_problem(std::string_view(chain.data, chain.len), set);
        snprintf(problem_text, sizeof problem_text, "%s", problem.c_str());
    });
    text* answer = nullptr;
    if (!ok) {
        if (!raise_error && !failure.out_of_memory && failure.kind != netbox_ssl::ErrorKind::Internal) {
            const bool key = failure.kind == netbox_ssl::ErrorKind::PrivateKey || failure.kind == netbox_ssl::ErrorKind::Pkcs12;
            answer = cstring_to_text(key ? "The issuer chain holds a private key."
                                         : psprintf("The issuer chain is malformed: %s.", failure.message));
        } else {
            raise_core_error(&failure, InputForm::Text, CoreErrorStyle::Chain);
        }
    } else if (problem_text[0] != '\0') {
        if (raise_error) {
            ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION), errmsg("%s", problem_text),
                            errhint("Store the intermediate certificates as PEM CERTIFICATE blocks, or '' for none."),
                            errhidestmt(true)));
        }
        answer = cstring_to_text(psprintf("The issuer chain is malformed: %s.", problem_text));
    }
    if (memo != nullptr && memo->count < ChainCheckMemo::kEntries) {
        ChainCheckMemo::Entry& e = memo->entries[memo->count++];
        e.hash = hash;
        e.len = chain.len;
        e.data = static_cast<char*>(MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, chain.len + 1));
        memcpy(e.data, chain.data, chain.len);
        e.answer = nullptr;
        if (answer != nullptr) {
            e.answer = static_cast<text*>(MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE(answer)));
            memcpy(e.answer, answer, VARSIZE(answer));
        }
    }
    if (answer == nullptr) PG_RETURN_NULL();
    PG_RETURN_TEXT_P(answer);
}
