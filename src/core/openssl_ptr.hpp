// Ownership of OpenSSL objects: std::unique_ptr with the object's own free
// function, e.g. Owned<X509, X509_free>. Shared by the core, its tests and
// the benchmark programs.
#pragma once

#include <memory>

namespace netbox_ssl {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
    void operator()(T* p) const noexcept { Free(p); }
};

template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

}  // namespace netbox_ssl
