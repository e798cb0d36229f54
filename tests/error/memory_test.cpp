// Error catalogue: a program that would not fit in memory. The simulator
// estimates its memory before allocating anything and refuses with both
// numbers and a way out; --max-memory lowers the limit (it also lets this test
// run on any machine).
#include <doctest/doctest.h>

#include <nmc/error.hpp>
#include <nmc/files.hpp>
#include <nmc/hw/tn_program.hpp>
#include <nmc/runtime/tn_sim.hpp>

#include "common/expect_error.hpp"
#include "common/fake_dataset.hpp"
#include "common/temp_dir.hpp"

using namespace nmc::test;

TEST_CASE("error: memory refusal gives needed and allowed memory and a way out, before loading data") {
  temp_dir dir, empty;
  const auto program = (dir / "tiny.nmc").string();
  REQUIRE(run_nmc("compile " + q(source_path("examples/tiny_fmnist.yaml")) + " -o " + q(program)).code == 0);
  const auto p = nmc::hw::read_program(program);
  const auto need2 = nmc::runtime::estimate_memory_bytes(p, 2);
  const auto need1 = nmc::runtime::estimate_memory_bytes(p, 1);
  REQUIRE(need2 > need1);
  const auto mib = [](std::size_t b) { return fmt::format("{:.1f} MiB", static_cast<double>(b) / (1024.0 * 1024.0)); };
  // No dataset: the check comes before the data is read.
  const env_guard env("NMC_FASHION_MNIST_DIR", empty.path.string());

  // A limit between the 1-thread and the 2-thread need: --threads 1 is the way out.
  const std::size_t between = (need1 + need2) / 2 / (1024 * 1024);
  REQUIRE(between * 1024 * 1024 >= need1);
  auto r = expect_error("simulate " + q(program) + " --threads 2 --max-memory " + std::to_string(between), "fit error",
                        {"simulating " + std::to_string(p.cores.size()) + " cores on 2 threads needs about " + mib(need2),
                         "but only " + mib(between * 1024 * 1024) + " is allowed by --max-memory"});
  expect_hint(r, "use --threads 1 (about " + mib(need1) + ")");

  // Far below either: the hint says to raise the limit or use a smaller model.
  r = expect_error("simulate " + q(program) + " --threads 1 --max-memory 1", "fit error",
                   {"on 1 thread needs about " + mib(need1), "but only 1.0 MiB is allowed by --max-memory"});
  expect_hint(r, "raise --max-memory");
  expect_hint(r, "fewer cores");
  CHECK(r.out.find("--threads 1 (") == std::string::npos);

  // Above the estimate the check passes (and then the missing dataset is the error).
  expect_error("simulate " + q(program) + " --threads 1 --max-memory " + std::to_string(need1 / (1024 * 1024) + 1),
               "data error", {"not found"});

  // nmc run checks too, after compiling and before simulating.
  write_fake_fashion_mnist(empty.path, 10);
  r = expect_error("run " + q(source_path("examples/tiny_fmnist.yaml")) + " --threads 1 --max-memory 1",
                   "fit error", {"needs about " + mib(need1)});
  CHECK(r.out.find("accuracy") == std::string::npos);
}

TEST_CASE("error: the machine's available memory is the default limit") {
  temp_dir dir;
  const auto program = (dir / "tiny.nmc").string();
  REQUIRE(run_nmc("compile " + q(source_path("examples/tiny_fmnist.yaml")) + " -o " + q(program)).code == 0);
  const auto p = nmc::hw::read_program(program);
  nmc::runtime::sim_options o;
  o.threads = 1;
  CHECK_NOTHROW(nmc::runtime::check_memory(p, o));  // a few MiB fit anywhere
  const auto available = nmc::runtime::available_memory_bytes();
  REQUIRE(available > 0);
  // A limit above what the machine has does not raise the machine's limit.
  o.memory_limit_bytes = available * 4;
  CHECK_NOTHROW(nmc::runtime::check_memory(p, o));
  CHECK_THROWS_WITH_AS(nmc::runtime::check_memory(p, 1, 1024, "of memory is available"),
                       doctest::Contains("but only 1.0 KiB of memory is available"), nmc::fit_error);
}
