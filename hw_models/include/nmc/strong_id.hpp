#pragma once
// Small strong id types (layer_id, core_id, axon_id, ...): an index that cannot
// be mixed up with another kind of index, and that prints via fmt.

#include <compare>
#include <cstdint>
#include <functional>

#include <fmt/format.h>

namespace nmc {

template <class Tag, class Rep = std::uint32_t>
struct strong_id {
  using rep = Rep;
  Rep value{};

  constexpr strong_id() = default;
  constexpr explicit strong_id(Rep v) : value(v) {}
  constexpr auto operator<=>(const strong_id&) const = default;
  constexpr std::size_t index() const { return static_cast<std::size_t>(value); }
};

}  // namespace nmc

template <class Tag, class Rep>
struct fmt::formatter<nmc::strong_id<Tag, Rep>> : fmt::formatter<Rep> {
  auto format(const nmc::strong_id<Tag, Rep>& id, fmt::format_context& ctx) const {
    return fmt::formatter<Rep>::format(id.value, ctx);
  }
};

template <class Tag, class Rep>
struct std::hash<nmc::strong_id<Tag, Rep>> {
  std::size_t operator()(const nmc::strong_id<Tag, Rep>& id) const noexcept {
    return std::hash<Rep>{}(id.value);
  }
};
