// Error catalogue: datasets that are missing or damaged, and --frames beyond
// the split. The dataset folder is a temporary one (NMC_FASHION_MNIST_DIR),
// so these run without Debian's package.
#include <doctest/doctest.h>

#include <nmc/files.hpp>

#include "common/expect_error.hpp"
#include "common/fake_dataset.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

namespace {

// A compiled 28x28 program in `dir`.
std::string small_program(const temp_dir& dir) {
  const auto model = (dir / "small.yaml").string(), program = (dir / "small.nmc").string();
  nmc::atomic_write(model, small_fmnist_yaml());
  const auto r = run_nmc("compile " + q(model) + " -o " + q(program));
  INFO(r.out);
  REQUIRE(r.code == 0);
  return program;
}

}  // namespace

TEST_CASE("error: missing dataset package names the file and the package to install") {
  temp_dir dir, empty;
  const auto program = small_program(dir);
  const env_guard env("NMC_FASHION_MNIST_DIR", empty.path.string());
  const auto missing = (empty / "t10k-images-idx3-ubyte.gz").string();
  for (const std::string& cmd : {"simulate " + q(program), "eval " + q(source_path("examples/tiny_fmnist.yaml"))}) {
    const auto r = expect_error(cmd, "data error", {"fashion-mnist:test: " + missing + " not found"});
    expect_hint(r, "apt-get install dataset-fashion-mnist");
    expect_hint(r, "NMC_FASHION_MNIST_DIR");
  }
  // The training split is looked for under its own names.
  expect_error("simulate " + q(program) + " --dataset fashion-mnist:train", "data error",
               {(empty / "train-images-idx3-ubyte.gz").string() + " not found"});
}

TEST_CASE("error: a truncated dataset file is named, with what is wrong") {
  temp_dir dir, data;
  const auto program = small_program(dir);
  write_fake_fashion_mnist(data.path, 50);
  const auto images = (data / "t10k-images-idx3-ubyte.gz").string();
  const auto gz = nmc::read_file(images);
  nmc::atomic_write(images, gz.substr(0, gz.size() / 2));
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  expect_error("simulate " + q(program), "data error", {images + ": truncated gzip stream"});
  // Cut inside the data rather than the gzip stream: the sizes are named.
  std::string raw = std::string("\0\0\x08\x03", 4) + idx_be32(50) + idx_be32(28) + idx_be32(28) + std::string(1000, '\0');
  write_gzip(images, raw);
  expect_error("simulate " + q(program), "data error",
               {images + ": truncated: the header declares 39200 bytes of data (50 x 28 x 28), the file holds 1000"});
}

TEST_CASE("error: --frames larger than the split gives both numbers and the largest that works") {
  temp_dir dir, data;
  const auto program = small_program(dir);
  write_fake_fashion_mnist(data.path, 30);
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  for (const std::string& cmd : {"simulate " + q(program), "run " + q((dir / "small.yaml").string())}) {
    const auto r = expect_error(cmd + " --frames 31", "data error", {"--frames 31 but fashion-mnist:test has only 30 frames"});
    expect_hint(r, "use --frames 30 or fewer");
  }
  CHECK(run_nmc("simulate " + q(program) + " --frames 30").code == 0);  // the way out works
}
