#pragma once
// A progress bar on stderr, shown only when stderr is a terminal.

#include <chrono>
#include <cstddef>
#include <string>

namespace nmc::cli {

class progress_bar {
public:
  progress_bar(std::string label, std::size_t total);
  ~progress_bar();
  void update(std::size_t done);
  void finish();

private:
  std::string label_;
  std::size_t total_;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace nmc::cli
