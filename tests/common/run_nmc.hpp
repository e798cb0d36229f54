#pragma once
// Runs the nmc executable of this build and captures its exit code and output.

#include <array>
#include <cstdio>
#include <string>

#include <sys/wait.h>

namespace nmc::test {

struct run_result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

// `prelude`: shell commands run first, e.g. "ulimit -f 8; " to make writes
// fail midway (the command line goes through /bin/sh).
// Runs a /bin/sh command line, capturing stdout and stderr together.
inline run_result run_shell(const std::string& cmd) {
  run_result r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (const auto n = fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline run_result run_nmc(const std::string& args, const std::string& prelude = {}) {
  return run_shell(prelude + (prelude.empty() ? "" : "exec ") + std::string(NMC_BINARY) + " " + args);
}

}  // namespace nmc::test
