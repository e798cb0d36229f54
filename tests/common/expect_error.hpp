#pragma once
// The error catalogue's check (tests/error/): runs the nmc executable and
// asserts the exit code, the error type as the CLI prints it ("nmc: KIND: ")
// and every key fragment of the message (file, layer/node, limit, numbers,
// the hint with the way out).

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "common/run_nmc.hpp"

namespace nmc::test {

inline run_result expect_error(const std::string& args, const std::string& kind,
                               const std::vector<std::string>& fragments, int code = 1) {
  const auto r = run_nmc(args);
  INFO("nmc " << args << "\n" << r.out);
  CHECK(r.code == code);
  CHECK(r.out.find("nmc: " + kind + ": ") != std::string::npos);
  for (const auto& f : fragments) CHECK_MESSAGE(r.out.find(f) != std::string::npos, "missing: " << f);
  return r;
}

// The message must carry a way out on its own line.
inline void expect_hint(const run_result& r, const std::string& fragment) {
  INFO(r.out);
  const auto at = r.out.find("\n  hint: ");
  REQUIRE(at != std::string::npos);
  CHECK(r.out.find(fragment, at) != std::string::npos);
}

inline std::string source_path(const std::string& rel) { return std::string(NMC_SOURCE_DIR) + "/" + rel; }

// Quotes a path for the shell that run_nmc goes through.
inline std::string q(const std::string& s) { return "'" + s + "'"; }

}  // namespace nmc::test

namespace nmc::test {

// A small model for 28x28 Fashion-MNIST frames that compiles in a moment:
// 4x4 max pooling, then one dense layer of 20 neurons voting for 10 classes.
inline std::string small_fmnist_yaml() {
  std::string w;
  for (int i = 0; i < 20 * 49; ++i) w += "+0-+-0"[static_cast<std::size_t>(i * 5 % 6)];
  return "format: nmc-model/1\nname: small\nlayers:\n"
         "  - {name: in, type: input, shape: [1, 28, 28], levels: [128]}\n"
         "  - {name: pool, type: max_pool, kernel: 4, stride: 4}\n"
         "  - {name: flat, type: flatten}\n"
         "  - {name: dense, type: dense, out_features: 20, weights: \"" + w + "\"}\n"
         "  - {name: act, type: threshold, threshold: 1}\n"
         "  - {name: out, type: output, classes: 10}\n";
}

}  // namespace nmc::test
