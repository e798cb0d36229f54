#pragma once
// The seam between the TrueNorth tick loop and spike delivery (the
// "communicator" of simulators such as Arbor): which process updates which
// core (tn_partition, plain data made by a separate function), and how the
// spikes a tick emits reach their cores (spike_exchange). The loop calls the
// exchange once per tick (once per level of an epoch, see tn_sim.hpp) and
// knows nothing of where the cores live; a process-local exchange, a loopback
// one in the tests and the MPI one (nmc/runtime/distributed.hpp) plug in here.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace nmc::runtime {

class worker_team;

// A spike on its way to an axon: core, axon, and the scheduler slot it lands in.
struct spike {
  std::uint32_t core;
  std::uint16_t axon;
  std::uint16_t slot;
};

// A spike leaving the chip: output port and arrival tick.
struct output_spike {
  std::uint32_t port;
  std::int64_t tick;
};

// Which process updates each core. Empty `owner`: this process has them all.
struct tn_partition {
  std::vector<std::uint32_t> owner;  // per core: the rank that updates it
  std::uint32_t rank = 0;            // this process
  bool owns(std::uint32_t core) const { return owner.empty() || owner[core] == rank; }
};

// Writes spikes into this process's axon schedulers: sets each spike's axon
// bit in slot `slot` of its core. Setting bits commutes, so the order (and the
// thread) of delivery cannot change the result. Made by the simulator and
// handed to the exchange on every call.
class spike_delivery {
public:
  spike_delivery(std::uint64_t* sched, std::size_t axon_words, std::size_t slots, worker_team* team, int parts)
      : sched_(sched), axon_words_(axon_words), slots_(slots), team_(team), parts_(static_cast<std::size_t>(parts)) {}
  // Spikes for cores of this process, in any order.
  void deliver(std::span<const spike> spikes) const {
    for (const spike& s : spikes) word(s) |= std::uint64_t{1} << (s.axon % 64);
  }
  // The loop's buffers as they come (see spike_exchange::exchange), every
  // spike for a core of this process: one task per delivery partition, each
  // the only writer of its cores' schedulers, so no atomics are needed.
  void deliver_buffers(std::span<const std::span<const spike>> buffers) const;
  std::size_t parts() const { return parts_; }

private:
  std::uint64_t& word(const spike& s) const {
    return sched_[(static_cast<std::size_t>(s.core) * slots_ + s.slot) * axon_words_ + s.axon / 64];
  }
  std::uint64_t* sched_;
  std::size_t axon_words_, slots_;
  worker_team* team_;
  std::size_t parts_;
};

using output_fn = std::function<void(std::uint32_t port, std::int64_t tick)>;

class spike_exchange {
public:
  virtual ~spike_exchange() = default;
  // Called by the tick loop on its own thread once per tick (per level of an
  // epoch) with every worker's core-bound spikes: buffers[worker * P + k]
  // holds the spikes for cores c with (c / 16) % P == k (P =
  // local.parts(), min(threads, 64)). Every spike must reach its core's
  // owner; those of this process go to `local`. Every process of a
  // distributed run calls this the same number of times.
  virtual void exchange(std::span<const std::span<const spike>> buffers, const spike_delivery& local) = 0;
  // Whether spikes between cores of this process may skip the exchange: the
  // core that fires them then sets their axon bits itself (direct delivery),
  // and `buffers` holds only the others. An exchange that must see every
  // spike keeps the default.
  virtual bool local_spikes_direct() const { return false; }
  // The output spikes (to off-chip ports) of a tick or an epoch, per worker:
  // the exchange passes on to `on_output` those this process reports. The
  // default reports them all here (a distributed run adds up each process's
  // class counts once, at the end).
  virtual void outputs(std::span<const std::vector<output_spike>> per_worker, const output_fn& on_output) {
    if (!on_output) return;
    for (const auto& b : per_worker)
      for (const auto& o : b) on_output(o.port, o.tick);
  }
};

// The exchange of a single process: every spike is for a core of this
// process and goes straight into its scheduler.
class local_exchange final : public spike_exchange {
public:
  void exchange(std::span<const std::span<const spike>> buffers, const spike_delivery& local) override {
    local.deliver_buffers(buffers);
  }
  bool local_spikes_direct() const override { return true; }
};

}  // namespace nmc::runtime
