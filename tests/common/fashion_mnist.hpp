#pragma once
// Tests that read Fashion-MNIST skip themselves when Debian's package is absent.

#include <filesystem>

namespace nmc::test {

inline bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
}

}  // namespace nmc::test
