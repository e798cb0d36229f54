#pragma once
// The `nmc` subcommands. main.cpp parses the command line into these option
// structs; each command writes its human or JSON output to `out`.

#include <cstddef>
#include <iosfwd>
#include <string>

namespace nmc::cli {

struct inspect_options {
  std::string path;
  bool json = false;
};

struct eval_options {
  std::string model;
  std::string dataset = "fashion-mnist:test";
  std::size_t frames = 0;  // 0: all
  int threads = 0;         // 0: all hardware threads
  bool json = false;
  std::string counts_path;  // optional CSV of per-frame class counts
};

int run_inspect(const inspect_options& opts, std::ostream& out);
int run_eval(const eval_options& opts, std::ostream& out);

}  // namespace nmc::cli
