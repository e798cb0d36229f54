#pragma once
// Cycle-accurate simulator of a TrueNorth-style program (docs/HARDWARE.md 1.2).
//
// One tick, in this order (the order the chip uses):
//   1. input: spikes of the frames due this tick are written into the axon
//      schedulers (input bits with tick offset o carry frame t - o);
//   2. update, in parallel over cores: take the scheduler slot of tick t (and
//      clear it), integrate the crossbar, apply leak, compare with the
//      threshold, reset, and write the spikes into the worker's buffer;
//   3. exchange: every buffered spike sets its destination axon in slot
//      t + delay of the destination core's scheduler (through the
//      spike_exchange seam, tn_exchange.hpp), and the output spikes are
//      handed over through the same seam and counted for their frame.
// Acyclic programs may instead run in epochs of many ticks (see advance()).
// Setting scheduler bits commutes and every axon has exactly one source, so
// the result does not depend on which worker ran which core: identical for any
// thread count. The loop does not allocate, lock, throw or print.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nmc/hw/tn_program.hpp>
#include <nmc/runtime/tn_exchange.hpp>

namespace nmc::runtime {

struct dataset;

// Event counts for the energy model, per layer of the program.
struct event_counts {
  std::int64_t synaptic_events = 0;  // crossbar synapses reached by an active axon
  std::int64_t neuron_updates = 0;   // neurons with a destination, every tick
  std::int64_t spikes = 0;           // neuron firings (to a core or off chip)
  std::int64_t hops = 0;             // mesh hops travelled by core-to-core spikes
  std::int64_t chip_crossings = 0;   // chip boundaries crossed by spikes
  std::int64_t offchip_spikes = 0;   // output spikes leaving the chip

  event_counts& operator+=(const event_counts& o);
  event_counts& operator-=(const event_counts& o);
  bool operator==(const event_counts&) const = default;
};

// How run_frames uses several threads: `cores` splits each tick's cores
// among them (one simulator); `frames` gives each thread a contiguous share
// of the frames with a simulator of its own (as MPI frames mode does with
// ranks: exact, for stateless acyclic programs, at the memory of one
// simulator per thread); `automatic` takes frames where it is exact, fits
// in memory and each thread has enough frames to repay its warm-up.
enum class thread_mode { automatic, cores, frames };

struct sim_options {
  int threads = 1;
  thread_mode threading = thread_mode::automatic;
  int ticks_per_frame = 0;     // 0: the program's (1 for Eedn programs)
  bool record_spikes = false;  // keep every firing (core, neuron) of the last tick: fired()
  bool plain_kernels = false;  // use only the scalar reference kernels (tests compare the two)
  bool epoch_kernel = true;    // stateless Eedn cores run an epoch at once, bit-sliced (false: tick by tick)
  bool avx512_kernels = true;  // false: the AVX2 kernels even where AVX-512 runs (tests cover both)
  std::size_t memory_limit_bytes = 0;  // refuse beyond this (0: the machine's available memory)
  // Distributed runs (nmc/runtime/distributed.hpp): the cores this process
  // updates (nullptr: all of them) and the exchange that carries spikes to
  // the cores' owners (nullptr: the local exchange). Borrowed: both must
  // outlive the simulator.
  const tn_partition* partition = nullptr;
  spike_exchange* exchange = nullptr;
};

struct fired_neuron {
  std::uint32_t core;
  std::uint16_t neuron;
  auto operator<=>(const fired_neuron&) const = default;
};

class tn_simulator {
public:
  tn_simulator(const hw::tn_program& program, const sim_options& opts);
  ~tn_simulator();
  tn_simulator(const tn_simulator&) = delete;
  tn_simulator& operator=(const tn_simulator&) = delete;

  // Schedules a spike on (core, axon) for tick now + delay (delay 0..15).
  void inject(std::uint32_t core, std::uint16_t axon, int delay = 0);
  // Schedules spikes for this tick on targets already checked against the
  // program (run_frames checks the input map once, then calls this per tick).
  void inject_now(std::span<const hw::tn_input_target> targets);
  // Advances one tick. Every output spike fired in this tick is reported as
  // on_output(port, arrival tick) (arrival = tick + the neuron's delay).
  void step(const output_fn& on_output = {});

  // Epochs: an acyclic program (no recording) can run up to epoch_ticks()
  // ticks per call, with the same result as that many step()s but far fewer
  // trips through memory. Inputs for those ticks are scheduled first with
  // inject_ahead (0 = this tick). epoch_ticks() is 1 for recurrent programs
  // and with record_spikes. Output spikes are reported in no particular order.
  int epoch_ticks() const;
  void inject_ahead(std::span<const hw::tn_input_target> targets, int ticks_ahead);
  // The same for targets prepared once (run_frames does, for its input map):
  // each becomes its word in the schedulers and its bit, so scheduling it is
  // one OR.
  std::vector<std::uint64_t> prepare_inputs(std::span<const hw::tn_input_target> targets) const;
  void inject_prepared(std::span<const std::uint64_t> prepared, int ticks_ahead);
  // The same targets at every tick of this epoch whose bit is set in `ticks`
  // (bit k of word b: 64 b + k ticks ahead, below epoch_ticks()): a few ORs
  // per target when the schedulers are axon rings.
  void inject_epoch(std::span<const std::uint64_t> prepared, std::span<const std::uint64_t, 4> ticks);
  void advance(int ticks, const output_fn& on_output = {});

  std::int64_t tick() const;
  // With record_spikes: the neurons that fired in the last step, sorted.
  const std::vector<fired_neuron>& fired() const;
  std::int32_t potential(std::uint32_t core, std::uint32_t neuron) const;
  const std::vector<event_counts>& counts_per_layer() const;  // summed over workers
  event_counts totals() const;
  int threads() const;
  const hw::tn_program& program() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
  friend struct frame_runner;
};

// Results of running frames through a program, one frame per tick (pipelined).
struct frame_results {
  std::size_t frames = 0;
  int classes = 0;
  std::vector<std::int32_t> counts;     // frames x classes
  std::vector<std::int32_t> predicted;  // frames (ties: lowest class)
  std::int64_t ticks = 0;
  std::vector<event_counts> per_layer;
  event_counts totals;
  double wall_s = 0;
  bool partial = false;  // stopped early (on_progress returned false): `frames` were completed
  std::size_t stepped_elements = 0;  // grid programs: elements stepped one by one (the others ran as delay lines)

  // predicted from counts: the class with the most spikes, ties to the lowest.
  void predict_from_counts();
};

// Memory the simulator needs for `program` on `threads` threads (bytes, an
// estimate that errs high), and the check made before allocating: throws
// fit_error with the numbers when it exceeds `available_bytes` (0: no check).
// `limit_name` says where the limit comes from, for the message.
std::size_t estimate_memory_bytes(const hw::tn_program& program, int threads);
void check_memory(const hw::tn_program& program, int threads, std::size_t available_bytes,
                  const char* limit_name = "of memory is available");
// The check with the limit of `opts`: memory_limit_bytes if set, else what
// the machine has available.
void check_memory(const hw::tn_program& program, const sim_options& opts);
// MemAvailable of this machine (0 if unknown).
std::size_t available_memory_bytes();
// The limit a simulation runs under: the tighter of `requested_bytes`
// (--max-memory; 0: none) and the machine's available memory (0: unknown, no
// check), with the words an error uses for it ("... but only X <name>") and
// the way out it suggests.
struct memory_limit {
  std::size_t bytes = 0;
  const char* name = "of memory is available";
  const char* way_out = "free memory or use a machine with more";
};
memory_limit resolve_memory_limit(std::size_t requested_bytes);
// "1.5 GiB", "12.0 MiB", "3.0 KiB".
std::string human_bytes(std::size_t bytes);

// A share of a run for frames-mode distribution (distributed.hpp): the class
// counts of frames [begin, end) and the events of the ticks
// [begin x tpf, end x tpf), plus, with `drain`, those of the ticks after the
// last frame. The run starts early enough (the deepest spike path, in ticks)
// that every one of those is what the whole run would give, so the shares of
// a tiling add up to it exactly. Stateless acyclic programs only
// (frame_sharding_obstacle).
struct frame_slice {
  std::size_t begin = 0, end = 0;
  bool drain = false;
};

// Encodes each frame (the program's thermometer code) into input spikes and
// runs until every frame's class spikes have been counted. `on_progress(done)`
// is called every 64 ticks; it may return false to stop early (the results then
// hold the frames completed so far and `partial` is set).
// With opts.record_spikes, `on_spikes(tick, fired)` sees every tick's firings.
// With opts.partition, only the inputs of this process's cores are injected.
// With `slice`, only that share is counted (results.counts still has a row
// for every frame, zero outside the slice; ticks: those run).
frame_results run_frames(const hw::tn_program& program, const dataset& data, const sim_options& opts,
                         const std::function<bool(std::size_t)>& on_progress = {},
                         const std::function<void(std::int64_t, const std::vector<fired_neuron>&)>& on_spikes = {},
                         const frame_slice* slice = nullptr);

// Ticks a run must start before a tick for every spike from that tick on to
// be exact in a stateless acyclic program: the deepest path of delays from a
// core with no core inputs, plus the longest delay to an output.
std::int64_t warmup_ticks(const hw::tn_program& program);

// Energy and speed from the counted events and the target's constants.
struct energy_report {
  double tick_ms = 0;
  double seconds = 0;            // hardware time: ticks x tick period
  std::uint32_t chips_powered = 0;  // chips holding cores: the static power is theirs
  double static_uj = 0;
  double dynamic_uj = 0;
  double total_uj = 0;
  double per_frame_uj = 0;
  double power_mw = 0;
  double hardware_fps = 0;
  struct layer {
    std::string name;
    double dynamic_uj = 0;
    event_counts counts;
  };
  std::vector<layer> layers;
  std::string counted;      // what the model counts
  std::string not_counted;  // what it leaves out
};

energy_report energy(const hw::tn_program& program, const std::vector<event_counts>& per_layer,
                     std::int64_t ticks, std::size_t frames, double tick_ms = 0);

}  // namespace nmc::runtime
