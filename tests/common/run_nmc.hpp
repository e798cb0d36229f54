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
inline run_result run_nmc(const std::string& args, const std::string& prelude = {}) {
  const std::string cmd = prelude + (prelude.empty() ? "" : "exec ") + std::string(NMC_BINARY) + " " + args + " 2>&1";
  run_result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (const auto n = fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace nmc::test
