#pragma once
// Validators for nmc's numeric options: every number on the command line has
// a range, so a value that is negative, not a number, infinite, fractional
// where a count is meant, or beyond what nmc can use is a usage error (exit
// 2) naming the option, the value and the range, never a wrapped or silent
// value.

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace nmc::cli {

// A whole number in [lo, hi] (digits only, an optional leading '+').
CLI::Validator whole_in(std::uint64_t lo, std::uint64_t hi);
// A finite real number in [lo, hi].
CLI::Validator real_in(double lo, double hi);

// The largest values nmc takes, one place for all options.
inline constexpr std::uint64_t max_threads = 1024;
inline constexpr std::uint64_t max_frames = 1'000'000'000;
inline constexpr std::uint64_t max_chips = 1024;
inline constexpr std::uint64_t max_ticks_per_frame = 1'000'000;

}  // namespace nmc::cli
