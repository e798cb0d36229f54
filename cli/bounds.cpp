#include "bounds.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

namespace nmc::cli {

CLI::Validator whole_in(std::uint64_t lo, std::uint64_t hi) {
  auto check = [lo, hi](std::string& text) -> std::string {
    std::string_view s = text;
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    const bool whole = !s.empty() && ec == std::errc() && end == s.data() + s.size();
    if (whole && v >= lo && v <= hi) return {};
    return fmt::format("'{}' is not a whole number from {} to {}", text, lo, hi);
  };
  return {check, fmt::format("INT in [{} - {}]", lo, hi)};
}

CLI::Validator real_in(double lo, double hi) {
  auto check = [lo, hi](std::string& text) -> std::string {
    double v = 0;
    const char* b = text.data();
    const auto [end, ec] = std::from_chars(b + (!text.empty() && text[0] == '+'), b + text.size(), v);
    if (!text.empty() && ec == std::errc() && end == b + text.size() && std::isfinite(v) && v >= lo && v <= hi) return {};
    return fmt::format("'{}' is not a number from {:g} to {:g}", text, lo, hi);
  };
  return {check, fmt::format("NUMBER in [{:g} - {:g}]", lo, hi)};
}

}  // namespace nmc::cli
