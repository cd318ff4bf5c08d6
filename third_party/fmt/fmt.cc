// SPDX-License-Identifier: Apache-2.0
// {fmt}'s compiled part, built from Debian's libfmt-dev headers (format-inl.h holds
// the implementation) into our programs instead of linking libfmt.so: libfmt.so pulls
// in libstdc++.so, and relocating those two was most of statsctl's start-up.
#include <fmt/format-inl.h>

namespace fmt::detail {
// The locale-dependent members and helpers the headers declare but leave to the
// compiled library.
template locale_ref::locale_ref(const std::locale& loc);
template auto locale_ref::get<std::locale>() const -> std::locale;
template auto thousands_sep_impl<char>(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl<char>(locale_ref) -> char;
}  // namespace fmt::detail
