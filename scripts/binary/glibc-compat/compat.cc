/*
 * The libstdc++ functions the addons reference that are newer than GCC 8's libstdc++ (GLIBCXX_3.4.25,
 * what RHEL 8 and Debian 10 ship). Inline code in this machine's GCC 12 headers calls them; the
 * addons' references are sent here with `-Wl,--wrap=MANGLED_NAME` (scripts/binary/linux-natives.ts).
 * Each body is libstdc++'s own (gcc/libstdc++-v3/src/c++11/functexcept.cc, shared_ptr.cc).
 */
#include <cstring>
#include <memory>
#include <new>
#include <typeinfo>

#define HIDDEN __attribute__((visibility("hidden")))

// std::__throw_bad_array_new_length() (GLIBCXX_3.4.29, GCC 11): `new T[n]` with an n too large.
extern "C" HIDDEN [[noreturn]] void __wrap__ZSt28__throw_bad_array_new_lengthv() { throw std::bad_array_new_length(); }

// std::_Sp_make_shared_tag::_S_eq(const type_info&) (GLIBCXX_3.4.26, GCC 9): whether a shared_ptr
// made by make_shared is asked for its own tag type.
extern "C" HIDDEN bool __wrap__ZNSt19_Sp_make_shared_tag5_S_eqERKSt9type_info(const std::type_info &ti) noexcept {
  return ti == typeid(std::_Sp_make_shared_tag);
}
