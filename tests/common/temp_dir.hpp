#pragma once
// A temporary directory removed at the end of a test.

#include <filesystem>
#include <random>
#include <string>

#include <fmt/format.h>

namespace nmc::test {

struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / fmt::format("nmc-test-{:08x}{:08x}", rd(), rd());
    std::filesystem::create_directories(path);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

}  // namespace nmc::test
