// Inputs the fuzzers once crashed on (tests/fuzz/regressions/TARGET/): each
// must now give a result or an nmc::error, and nothing else.
#include <doctest/doctest.h>

#include <filesystem>

#include <nmc/convert/onnx_import.hpp>
#include <nmc/convert/yaml_model.hpp>
#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/tn_program.hpp>

namespace {
template <class F> int run_all(const std::string& target, F&& parse) {
  int n = 0;
  const auto dir = std::filesystem::path(NMC_SOURCE_DIR) / "tests/fuzz/regressions" / target;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().front() == '.') continue;
    CAPTURE(entry.path().string());
    const auto bytes = nmc::read_file(entry.path());
    try {
      parse(bytes);
    } catch (const nmc::error&) {
      // the expected outcome for a broken input
    } catch (const std::exception& e) {
      FAIL_CHECK("not an nmc::error: " << e.what());
    }
    ++n;
  }
  return n;
}
}  // namespace

TEST_CASE("fuzz: crash inputs of the YAML reader, ONNX importer and program loader are clean errors") {
  CHECK(run_all("yaml_model", [](const std::string& b) { nmc::convert::parse_yaml_model(b, "fuzz.yaml"); }) >= 1);
  CHECK(run_all("onnx", [](const std::string& b) { nmc::convert::parse_onnx(b, "fuzz.onnx"); }) >= 1);
  CHECK(run_all("program", [](const std::string& b) { nmc::hw::deserialize(b, "fuzz.nmc"); }) >= 1);
}
