// The reference pass against PyTorch's integer forward pass (the oracle files
// next to the example models, written by convert/python/oracle.py): every
// class count of every Fashion-MNIST test frame must be equal.
#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>

#include <zlib.h>

#include <nmc/convert/load.hpp>
#include <nmc/runtime/dataset.hpp>

#include "evaluate.hpp"
#include "common/fashion_mnist.hpp"

using nmc::test::have_fashion_mnist;

namespace {

std::string gunzip(const std::filesystem::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f);
  std::string out;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  gzclose(f);
  return out;
}

// `model` and `counts` relative to the source tree.
void check_against_oracle(const std::string& model, const std::string& counts) {
  const std::filesystem::path dir = NMC_SOURCE_DIR;
  const auto net = nmc::convert::load_model(dir / model);
  const auto data = nmc::runtime::load_dataset("fashion-mnist:test");
  const auto ev = nmc::cli::evaluate_reference(net, data, 2);
  std::istringstream oracle(gunzip(dir / counts));
  std::string line;
  std::getline(oracle, line);  // header
  std::size_t frame = 0, mismatches = 0;
  const auto classes = static_cast<std::size_t>(ev.classes);
  while (std::getline(oracle, line)) {
    std::istringstream row(line);
    std::string cell;
    std::vector<long> v;
    while (std::getline(row, cell, ',')) v.push_back(std::stol(cell));
    REQUIRE(v.size() == 3 + classes);
    REQUIRE(static_cast<std::size_t>(v[0]) == frame);
    CHECK(v[1] == data.labels[frame]);
    bool same = v[2] == ev.predicted[frame];
    for (std::size_t k = 0; k < classes; ++k) same &= v[3 + k] == ev.counts[frame * classes + k];
    if (!same && mismatches++ < 5) FAIL_CHECK("frame " << frame << " differs from the oracle: " << line);
    ++frame;
  }
  CHECK(frame == 10000);
  CHECK(mismatches == 0);
}

}  // namespace

TEST_CASE("golden: tiny_fmnist matches PyTorch on all 10,000 test frames" * doctest::skip(!have_fashion_mnist())) {
  check_against_oracle("examples/tiny_fmnist.yaml", "examples/tiny_fmnist.counts.csv.gz");
}

TEST_CASE("golden: all_layers matches PyTorch on all 10,000 test frames" * doctest::skip(!have_fashion_mnist())) {
  check_against_oracle("examples/all_layers.yaml", "examples/all_layers.counts.csv.gz");
}

TEST_CASE("golden: models/fmnist_small.onnx matches PyTorch running the ONNX graph on all 10,000 test frames" *
          doctest::skip(!have_fashion_mnist())) {
  check_against_oracle("models/fmnist_small.onnx", "models/fmnist_small.counts.csv.gz");
}

TEST_CASE("golden: models/fmnist_1chip.onnx matches PyTorch's integer forward pass on all 10,000 test frames" *
          doctest::skip(!have_fashion_mnist())) {
  check_against_oracle("models/fmnist_1chip.onnx", "models/fmnist_1chip.counts.csv.gz");
}
