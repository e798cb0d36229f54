// The program file: round trip, and every way a file can be bad.
#include <doctest/doctest.h>

#include <nmc/error.hpp>
#include <nmc/hw/tn_program.hpp>

#include "common/compile.hpp"
#include "common/temp_dir.hpp"

using namespace nmc;

namespace {
std::string program_bytes() {
  const std::string yaml =
      "format: nmc-model/1\nname: p\nlayers:\n"
      "  - {name: in, type: input, shape: [1, 4, 4], levels: [100]}\n"
      "  - {name: c, type: conv2d, out_channels: 4, kernel: 3, padding: 1, weights: \"" + test::weights(36) + "\"}\n"
      "  - {name: a, type: threshold, threshold: [1, 0, 2, -1], sign: [1, -1, 1, 1]}\n"
      "  - {name: out, type: output, classes: 4}\n";
  return hw::serialize(test::compile_yaml(yaml).state.program);
}

std::string load_error(const std::string& bytes) {
  try {
    hw::deserialize(bytes, "p.nmc");
  } catch (const model_error& e) {
    return e.what();
  }
  FAIL("no error");
  return {};
}
}  // namespace

TEST_CASE("program: write, read and compare equal; written atomically") {
  test::temp_dir dir;
  const auto bytes = program_bytes();
  const auto p = hw::deserialize(bytes, "mem");
  hw::write_program(dir / "p.nmc", p);
  const auto q = hw::read_program(dir / "p.nmc");
  CHECK(hw::serialize(p) == hw::serialize(q));
  CHECK(p.cores == q.cores);
  CHECK(q.model_text.find("name: p") != std::string::npos);
  CHECK(q.cores.size() > 0);
  CHECK(q.cores[0].neurons.size() == 256);
  // a failing write leaves the old file untouched
  CHECK_THROWS_AS(nmc::atomic_write(dir / "p.nmc", [](std::ostream&) { throw io_error("midway"); }), io_error);
  CHECK(hw::serialize(hw::read_program(dir / "p.nmc")) == hw::serialize(q));
}

TEST_CASE("program: bad magic, truncation, wrong version and corruption are clear errors") {
  const auto bytes = program_bytes();
  CHECK(load_error("hello world, not a program").find("not an nmc TrueNorth program") != std::string::npos);
  CHECK(load_error(bytes.substr(0, 20)).find("truncated program") != std::string::npos);
  CHECK(load_error(bytes.substr(0, bytes.size() - 7)).find("truncated program: the header declares") != std::string::npos);
  std::string v = bytes;
  v[8] = 9;  // version field
  CHECK(load_error(v).find("program format version 9, this nmc reads version 1") != std::string::npos);
  std::string c = bytes;
  c[c.size() / 2] = static_cast<char>(c[c.size() / 2] ^ 0x5a);
  CHECK(load_error(c).find("checksum mismatch") != std::string::npos);
}
