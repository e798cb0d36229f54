// Error catalogue: program files that are corrupt, truncated, of another
// format version or not programs at all. Loading one is an error naming the
// file and what is wrong, never a crash; simulate and inspect both check.
#include <doctest/doctest.h>

#include <nmc/files.hpp>
#include <nmc/hw/tn_program.hpp>

#include "common/compile.hpp"
#include "common/expect_error.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

namespace {

std::string program_bytes() {
  const std::string yaml =
      "format: nmc-model/1\nname: p\nlayers:\n"
      "  - {name: in, type: input, shape: [1, 4, 4], levels: [100]}\n"
      "  - {name: c, type: conv2d, out_channels: 4, kernel: 3, padding: 1, weights: \"" + weights(36) + "\"}\n"
      "  - {name: a, type: threshold, threshold: [1, 0, 2, -1], sign: [1, -1, 1, 1]}\n"
      "  - {name: out, type: output, classes: 4}\n";
  return nmc::hw::serialize(compile_yaml(yaml).state.program);
}

// Both commands that load a program give the same error.
void expect_program_error(const std::string& path, std::initializer_list<std::string> fragments,
                          const std::string& hint) {
  for (const std::string& cmd : {"simulate " + q(path) + " --frames 1", "inspect " + q(path)}) {
    const auto r = expect_error(cmd, "model error", fragments);
    expect_hint(r, hint);
  }
}

}  // namespace

TEST_CASE("error: a truncated program gives the declared and the actual size") {
  temp_dir dir;
  const auto bytes = program_bytes();
  const auto path = (dir / "cut.nmc").string();
  nmc::atomic_write(path, bytes.substr(0, bytes.size() - 100));
  expect_program_error(path,
                       {path + ": truncated program: the header declares " + std::to_string(bytes.size() - 28) +
                        " bytes of payload, the file holds " + std::to_string(bytes.size() - 128)},
                       "recompile the model with 'nmc compile'");
  nmc::atomic_write(path, bytes.substr(0, 12));
  expect_program_error(path, {path + ": truncated program: 12 bytes, the header alone is 28"}, "nmc compile");
}

TEST_CASE("error: a corrupt program fails its checksum") {
  temp_dir dir;
  auto bytes = program_bytes();
  bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x20);
  const auto path = (dir / "flip.nmc").string();
  nmc::atomic_write(path, bytes);
  expect_program_error(path, {path + ": corrupt program: checksum mismatch"}, "recompile the model");
}

TEST_CASE("error: a program of another format version names both versions") {
  temp_dir dir;
  auto bytes = program_bytes();
  bytes[8] = 7;  // the version field follows the 8-byte magic
  const auto path = (dir / "v7.nmc").string();
  nmc::atomic_write(path, bytes);
  expect_program_error(path, {path + ": program format version 7, this nmc reads version 1"}, "nmc compile");
}

TEST_CASE("error: simulate given a file that is not a program") {
  temp_dir dir;
  const auto path = (dir / "model.nmc").string();
  nmc::atomic_write(path, "format: nmc-model/1\n");
  const auto r = expect_error("simulate " + q(path), "model error", {path + ": not an nmc TrueNorth program (bad magic)"});
  expect_hint(r, "nmc compile");
}
