// Error catalogue: two outputs of one command naming the same file (run -o
// and --report, simulate --report and --spikes, ...). The later output would
// replace the earlier one and the run would still say it wrote both, so it is
// a usage error naming both options, given before anything is read or
// written. Paths are compared as files, not as strings.
#include <doctest/doctest.h>

#include <nmc/files.hpp>

#include "common/expect_error.hpp"
#include "common/fake_dataset.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;
namespace fs = std::filesystem;

TEST_CASE("error: two outputs naming one file are a usage error naming both options") {
  temp_dir dir, data;
  write_fake_fashion_mnist(data.path, 20);
  const env_guard env("NMC_FASHION_MNIST_DIR", data.path.string());
  const auto model = (dir / "small.yaml").string(), program = (dir / "small.nmc").string();
  nmc::atomic_write(model, small_fmnist_yaml());
  REQUIRE(run_nmc("compile " + q(model) + " -o " + q(program)).code == 0);
  const auto old_program = nmc::read_file(program);
  const auto same = (dir / "same").string();
  fs::create_symlink("small.nmc", dir / "link.nmc");

  struct row {
    std::string args, message, hint;
  };
  const std::vector<row> rows = {
      {"run " + q(model) + " -o " + q(same) + " --report " + q(same), "-o and --report both name " + same,
       "give -o and --report different files"},
      {"run " + q(model) + " -o " + q(same) + " --spikes " + q(same), "-o and --spikes both name " + same,
       "give -o and --spikes different files"},
      {"run " + q(model) + " --report " + q(same) + " --spikes " + q(same), "--report and --spikes both name " + same,
       "give --report and --spikes different files"},
      {"simulate " + q(program) + " --report " + q(same) + " --spikes " + q(same),
       "--report and --spikes both name " + same, "give --report and --spikes different files"},
      // The same file by another spelling, and through a symlink (onto the program file, which must survive).
      {"simulate " + q(program) + " --report " + q(dir.path.string() + "/./sub/../same") + " --spikes " + q(same),
       "--report " + dir.path.string() + "/./sub/../same and --spikes " + same + " are the same file",
       "different files"},
      {"run " + q(model) + " -o " + q(program) + " --report " + q((dir / "link.nmc").string()),
       "-o " + program + " and --report " + (dir / "link.nmc").string() + " are the same file", "different files"},
  };
  for (const auto& r : rows) {
    const auto res = expect_error(r.args, "usage error", {r.message, "one output would replace the other"}, 2);
    expect_hint(res, r.hint);
    CHECK(res.out.find("compiled") == std::string::npos);
    CHECK(!fs::exists(same));
    CHECK(nmc::read_file(program) == old_program);
  }
  // Relative spellings from the working directory: a.json and ./a.json.
  const auto res = run_nmc("run " + q(model) + " -o a.json --report ./a.json", "cd " + q(dir.path.string()) + "; ");
  INFO(res.out);
  CHECK(res.code == 2);
  CHECK(res.out.find("nmc: usage error: -o a.json and --report ./a.json are the same file") != std::string::npos);
  CHECK(!fs::exists(dir / "a.json"));
  // Different files stay fine.
  CHECK(run_nmc("simulate " + q(program) + " --report " + q((dir / "r.json").string()) + " --spikes " +
                q((dir / "s.csv").string()))
            .code == 0);
}
