#pragma once
// Turns run-time flags into compile-time ones: dispatch_flags(f, a, b) calls
// f(std::bool_constant<a>{}, std::bool_constant<b>{}), so a kernel's inner loop
// is compiled once per combination and carries no branch on the flags.
#include <type_traits>

namespace keel::kernels::detail {

template <class F>
decltype(auto) dispatch_flags(F&& f) {
  return f();
}

template <class F, class... Flags>
decltype(auto) dispatch_flags(F&& f, bool flag, Flags... flags) {
  auto with = [&](auto constant) {
    return dispatch_flags([&](auto... rest) { return f(constant, rest...); }, flags...);
  };
  return flag ? with(std::true_type{}) : with(std::false_type{});
}

}  // namespace keel::kernels::detail
