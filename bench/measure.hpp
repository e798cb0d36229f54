#pragma once
// What the whole-run benchmarks share: wall time, memory of this process and
// list options ("1,2").

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include <fmt/format.h>

#include <nmc/error.hpp>

namespace nmc::bench {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The largest resident set this process has had, MiB.
inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

// The resident set now, MiB.
inline double rss_mib() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

// "5,10,20" -> {5, 10, 20}; a usage_error naming the option otherwise.
inline std::vector<double> parse_list(const std::string& s, const char* what) {
  std::vector<double> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      std::size_t used = 0;
      out.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw nmc::usage_error(fmt::format("{} '{}': expected a comma-separated list of numbers", what, s));
    }
  }
  if (out.empty()) throw nmc::usage_error(fmt::format("{}: empty list", what));
  return out;
}

}  // namespace nmc::bench
