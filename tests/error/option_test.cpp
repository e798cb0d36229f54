// Error catalogue: numeric options out of range. Every number on the command
// line has a range: negative, not-a-number, infinite, fractional counts and
// values beyond what nmc can use are usage errors (exit 2) naming the option,
// the value and the range, before anything is read or written.
#include <doctest/doctest.h>

#include <filesystem>

#include "common/run_nmc.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

TEST_CASE("error: numeric options out of range are usage errors naming the option, the value and the range") {
  const temp_dir tmp;
  const std::string report = (tmp / "r.json").string();
  const std::string model = std::string(NMC_SOURCE_DIR) + "/models/fmnist_small.onnx";
  struct bad {
    std::string args, option, range;
  };
  const bad cases[] = {
      {"simulate x.nmc --threads 100000", "--threads", "from 0 to 1024"},
      {"simulate x.nmc --frames -5", "--frames", "'-5' is not a whole number"},
      {"simulate x.nmc --frames 1.5", "--frames", "'1.5'"},
      {"simulate x.nmc --tick-ms nan", "--tick-ms", "'nan' is not a number"},
      {"simulate x.nmc --tick-ms inf", "--tick-ms", "'inf'"},
      {"simulate x.nmc --tick-ms -1", "--tick-ms", "from 0 to"},
      {"simulate x.nmc --ticks-per-frame 2147483649", "--ticks-per-frame", "from 0 to 1000000"},
      {"simulate x.nmc --max-memory 0", "--max-memory", "from 1 to"},
      {"simulate x.nmc --steps -1", "--steps", "'-1'"},
      {"eval " + model + " --frames -1", "--frames", "'-1'"},
      {"eval " + model + " --threads 5000", "--threads", "from 0 to 1024"},
      {"compile " + model + " -o x.nmc --chips -1", "--chips", "from 0 to 1024"},
      {"compile " + model + " -o x.nmc --chips 100000", "--chips", "from 0 to 1024"},
      {"compile " + model + " -o x.nmc --seed -3", "--seed", "'-3'"},
      {"compile " + model + " -o x.nmc --place-effort nan", "--place-effort", "'nan'"},
      {"compile " + model + " -o x.nmc --route-seconds inf", "--route-seconds", "'inf'"},
      {"run " + model + " --report " + report + " --threads -2", "--threads", "'-2'"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.args);
    const auto r = run_nmc(c.args);
    CHECK(r.code == 2);
    CHECK(r.out.find(c.option) != std::string::npos);
    CHECK(r.out.find(c.range) != std::string::npos);
    CHECK(r.out.find("--help") != std::string::npos);  // the way to the ranges
  }
  CHECK_FALSE(std::filesystem::exists(report));
  CHECK(std::filesystem::is_empty(tmp.path));
}

TEST_CASE("error: in-range numbers still parse: a leading +, 0 meaning all or the default") {
  const auto r = run_nmc("simulate missing.nmc --frames +20 --threads 0 --tick-ms 0 --ticks-per-frame 0");
  CHECK(r.code == 1);  // past the options, to the missing file
  CHECK(r.out.find("missing.nmc") != std::string::npos);
}
