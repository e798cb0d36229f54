#pragma once
// A Fashion-MNIST stand-in for tests that must not depend on Debian's
// package: IDX files (gzip) of a few synthetic 28x28 frames in a temporary
// folder, and a guard that points NMC_FASHION_MNIST_DIR at it (children
// started by run_nmc inherit it).

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include <zlib.h>

namespace nmc::test {

inline std::string idx_be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

inline void write_gzip(const std::filesystem::path& p, const std::string& data) {
  gzFile f = gzopen(p.c_str(), "wb");
  if (!f || gzwrite(f, data.data(), static_cast<unsigned>(data.size())) != static_cast<int>(data.size())) {
    throw std::runtime_error("write_gzip: cannot write " + p.string());
  }
  gzclose(f);
}

// `frames` test-split frames (t10k-*) of striped 28x28 images with labels
// 0..9 in turn. A frame lights a different set of pixels so outputs vary.
inline void write_fake_fashion_mnist(const std::filesystem::path& dir, std::uint32_t frames) {
  std::string images = std::string("\0\0\x08\x03", 4) + idx_be32(frames) + idx_be32(28) + idx_be32(28);
  std::string labels = std::string("\0\0\x08\x01", 4) + idx_be32(frames);
  for (std::uint32_t f = 0; f < frames; ++f) {
    for (std::uint32_t i = 0; i < 28 * 28; ++i) images += static_cast<char>((i * 7 + f * 13) % 256 > 100 ? 255 : 0);
    labels += static_cast<char>(f % 10);
  }
  write_gzip(dir / "t10k-images-idx3-ubyte.gz", images);
  write_gzip(dir / "t10k-labels-idx1-ubyte.gz", labels);
}

// Sets an environment variable for the guard's lifetime.
struct env_guard {
  std::string name;
  env_guard(std::string n, const std::string& value) : name(std::move(n)) { setenv(name.c_str(), value.c_str(), 1); }
  ~env_guard() { unsetenv(name.c_str()); }
  env_guard(const env_guard&) = delete;
  env_guard& operator=(const env_guard&) = delete;
};

}  // namespace nmc::test
