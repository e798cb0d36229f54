#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <functional>

#include <zlib.h>

#include <nmc/error.hpp>
#include <nmc/runtime/dataset.hpp>

#include "common/fashion_mnist.hpp"
#include "common/temp_dir.hpp"

using namespace nmc;
using namespace nmc::runtime;

namespace {

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

std::string idx_images(std::uint32_t n, std::uint32_t rows, std::uint32_t cols) {
  std::string s = std::string("\0\0\x08\x03", 4) + be32(n) + be32(rows) + be32(cols);
  for (std::uint32_t i = 0; i < n * rows * cols; ++i) s += static_cast<char>(i % 251);
  return s;
}

std::string idx_labels(std::uint32_t n) {
  std::string s = std::string("\0\0\x08\x01", 4) + be32(n);
  for (std::uint32_t i = 0; i < n; ++i) s += static_cast<char>(i % 10);
  return s;
}

void write_gz(const std::filesystem::path& p, const std::string& data) {
  gzFile f = gzopen(p.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, data.data(), static_cast<unsigned>(data.size())) == static_cast<int>(data.size()));
  gzclose(f);
}

void write_raw(const std::filesystem::path& p, const std::string& data) {
  std::ofstream(p, std::ios::binary) << data;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const data_error& e) {
    return e.what();
  }
  FAIL("no data_error thrown");
  return {};
}

}  // namespace

TEST_CASE("idx: reads gzip and plain files, pixels and labels in order") {
  test::temp_dir dir;
  write_gz(dir / "img.gz", idx_images(3, 2, 4));
  write_raw(dir / "lab", idx_labels(3));
  const auto d = read_idx(dir / "img.gz", dir / "lab", "tiny");
  CHECK(d.frames == 3);
  CHECK(d.height == 2);
  CHECK(d.width == 4);
  CHECK(d.pixels.size() == 24);
  CHECK(d.frame(2)[0] == 16);
  CHECK(d.labels == std::vector<std::uint8_t>{0, 1, 2});
}

TEST_CASE("idx: a truncated file names the declared and actual sizes") {
  test::temp_dir dir;
  auto img = idx_images(3, 2, 4);
  img.resize(img.size() - 5);
  write_gz(dir / "img.gz", img);
  write_gz(dir / "lab.gz", idx_labels(3));
  const auto msg = message_of([&] { read_idx(dir / "img.gz", dir / "lab.gz", "t"); });
  CHECK(msg.find("truncated") != std::string::npos);
  CHECK(msg.find("24 bytes") != std::string::npos);
  CHECK(msg.find("holds 19") != std::string::npos);
}

TEST_CASE("idx: a gzip stream cut short is an error, not a short dataset") {
  test::temp_dir dir;
  write_gz(dir / "img.gz", idx_images(50, 28, 28));
  write_gz(dir / "lab.gz", idx_labels(50));
  const auto size = std::filesystem::file_size(dir / "img.gz");
  std::filesystem::resize_file(dir / "img.gz", size / 2);
  const auto msg = message_of([&] { read_idx(dir / "img.gz", dir / "lab.gz", "t"); });
  CHECK(msg.find("img.gz") != std::string::npos);
  CHECK(msg.find("truncated") != std::string::npos);
}

TEST_CASE("idx: bad magic, mismatched counts, missing file") {
  test::temp_dir dir;
  write_raw(dir / "img", idx_images(3, 2, 2));
  write_raw(dir / "lab", idx_labels(4));
  write_raw(dir / "text", "hello, this is not an idx file");
  CHECK(message_of([&] { read_idx(dir / "text", dir / "lab", "t"); }).find("not an IDX file") !=
        std::string::npos);
  CHECK(message_of([&] { read_idx(dir / "img", dir / "lab", "t"); }).find("3 images but") !=
        std::string::npos);
  CHECK(message_of([&] { read_idx(dir / "nope", dir / "lab", "t"); }).find("no such file") !=
        std::string::npos);
}

TEST_CASE("dataset: missing Fashion-MNIST names the package to install") {
  test::temp_dir dir;
  setenv("NMC_FASHION_MNIST_DIR", dir.path.c_str(), 1);
  try {
    load_dataset("fashion-mnist:test");
    FAIL("no error");
  } catch (const data_error& e) {
    CHECK(std::string(e.what()).find("t10k-images-idx3-ubyte.gz") != std::string::npos);
    CHECK(e.hint().find("apt-get install dataset-fashion-mnist") != std::string::npos);
  }
  unsetenv("NMC_FASHION_MNIST_DIR");
  CHECK_THROWS_AS(load_dataset("mnist:test"), usage_error);
  CHECK_THROWS_AS(load_dataset("fashion-mnist:validation"), usage_error);
}

TEST_CASE("dataset: Fashion-MNIST test split from the Debian package" *
          doctest::skip(!nmc::test::have_fashion_mnist())) {
  auto d = load_dataset("fashion-mnist:test");
  CHECK(d.frames == 10000);
  CHECK(d.height == 28);
  CHECK(d.width == 28);
  std::array<int, 10> per_class{};
  for (auto l : d.labels) ++per_class.at(l);
  for (int n : per_class) CHECK(n == 1000);
  limit_frames(d, 100);
  CHECK(d.frames == 100);
  CHECK(d.pixels.size() == 100 * 784);
  CHECK_THROWS_WITH_AS(limit_frames(d, 101), doctest::Contains("only 100 frames"), data_error);
}
