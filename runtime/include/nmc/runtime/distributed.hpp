#pragma once
// Distributed simulation of a TrueNorth-style program over several processes
// (ranks), with results identical to one process in every count, for any
// number of ranks and threads.
//
// Two modes:
//   cores   every rank updates a share of the cores (partition_cores) and the
//           spikes that cross ranks are exchanged once per tick, or once per
//           level of an epoch (distributed_exchange, through the simulator's
//           spike_exchange seam); each rank counts the events of its cores
//           and the output spikes of its output neurons, added up at the end.
//   frames  for stateless, acyclic programs (every Eedn program): every rank
//           runs the whole program over a contiguous slice of the frames,
//           starting early enough that every spike of its slice is exact
//           (run_frames with a frame_slice), and counts the events of its own
//           ticks; slices and ticks tile the single run exactly.
// The ranks talk through `communicator`: MPI in the nmc executable
// (nmc/runtime/mpi.hpp, when built with MPI), threads of one process in the
// tests (thread_ranks), so the distribution logic is tested without mpirun.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nmc/error.hpp>
#include <nmc/hw/tn_program.hpp>
#include <nmc/runtime/tn_exchange.hpp>
#include <nmc/runtime/tn_sim.hpp>

namespace nmc::runtime {

struct dataset;

// The collective operations a distributed run needs. Every rank calls each
// operation in the same order (as MPI requires); results come back on every
// rank.
class communicator {
public:
  virtual ~communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // send_counts[r]: bytes this rank sends to rank r; recv_counts[r] gets the
  // bytes rank r sends to this one (the synchronisation point of an
  // exchange). Both spans have size() elements; nothing is allocated, so the
  // tick loop can call it every tick.
  virtual void exchange_counts(std::span<const std::size_t> send_counts, std::span<std::size_t> recv_counts) = 0;
  // The blocks themselves: `send` holds the blocks for ranks 0..R-1 back to
  // back; `recv` (sized to the sum of recv_counts) gets those from ranks
  // 0..R-1 in rank order.
  virtual void exchange_data(std::span<const std::byte> send, std::span<const std::size_t> send_counts,
                             std::span<std::byte> recv, std::span<const std::size_t> recv_counts) = 0;
  // Element-wise sum and maximum over ranks, in place.
  virtual void sum(std::span<std::int64_t> values) = 0;
  virtual void max(std::span<double> values) = 0;
  // Every rank's bytes, in rank order.
  virtual std::vector<std::string> gather(const std::string& mine) = 0;
};

// Ranks as threads of one process: make(R) gives R communicators, one per
// thread, that meet at barriers. For tests and for checking the distributed
// code paths without MPI.
std::vector<std::unique_ptr<communicator>> thread_ranks(int ranks);

enum class distribution_mode { cores, frames };
const char* to_string(distribution_mode m);

// Whether frames mode reproduces the single run exactly: an acyclic core graph
// and neurons (those with a destination) that keep no state from one tick to
// the next and draw no random numbers. Empty if so, else the reason.
std::string frame_sharding_obstacle(const hw::tn_program& p);

// The cores of each rank: each level of the core graph (the whole program if
// it has cycles) is split into `ranks` contiguous runs of equal estimated
// activity (synapses plus neurons with a destination), cores in placement
// order (chip, row, column), so each rank has work at every level of an
// epoch and a rank's cores are neighbours on the mesh (whole chips where a
// level spans several).
tn_partition partition_cores(const hw::tn_program& p, int ranks, int rank);

// The spike_exchange of cores mode: spikes for this rank's cores are
// delivered here; the others are sent to their owners through the
// communicator (exchange_counts, then exchange_data), and what arrives is
// delivered. Setting axon bits commutes, so the result does not depend on
// the order of arrival.
class distributed_exchange final : public spike_exchange {
public:
  distributed_exchange(communicator& comm, const tn_partition& partition);
  void exchange(std::span<const std::span<const spike>> buffers, const spike_delivery& local) override;
  bool local_spikes_direct() const override { return true; }  // it moves only the spikes between ranks

  std::int64_t spikes_sent = 0, spikes_received = 0, exchanges = 0;
  double wait_s = 0;      // in exchange_counts: waiting for the slowest rank
  double exchange_s = 0;  // packing, sending, receiving and delivering

private:
  communicator& comm_;
  const tn_partition& partition_;
  std::vector<std::vector<spike>> to_rank_;
  std::vector<std::byte> send_, recv_;
  std::vector<std::size_t> send_counts_, recv_counts_;
};

// One rank's share of the work, for the report (imbalance shows here).
struct rank_figures {
  int rank = 0;
  std::size_t cores = 0;                    // cores this rank updates
  std::size_t frame_begin = 0, frame_end = 0;  // frames mode: its slice
  std::int64_t ticks = 0;                   // ticks it ran
  double compute_s = 0, exchange_s = 0, wait_s = 0;
  std::int64_t spikes_sent = 0, spikes_received = 0;
};

struct distributed_results {
  frame_results results;            // the same on every rank, as one process would give
  std::vector<rank_figures> ranks;  // every rank's, in rank order
  distribution_mode mode = distribution_mode::cores;
};

// The frames [begin, end) of a dataset of `frames`, for rank `rank` of
// `ranks`: contiguous slices whose sizes differ by at most one.
std::pair<std::size_t, std::size_t> frame_share(std::size_t frames, int ranks, int rank);

// Runs the program over every frame of `data` on all ranks of `comm` (every
// rank calls it with the same arguments). Frames mode needs
// frame_sharding_obstacle(p) empty. `on_progress(done)` sees this rank's
// completed frames (frames mode) or all frames (cores mode).
distributed_results run_distributed(const hw::tn_program& p, const dataset& data, const sim_options& opts,
                                    communicator& comm, distribution_mode mode,
                                    const std::function<void(std::size_t)>& on_progress = {});

// Runs `step` on every rank and agrees on the outcome: if it threw an
// nmc::error on any rank, every rank throws the error of the lowest such
// rank (same kind, message, hint and exit code), so no rank is left waiting
// in a collective and the message can be printed once.
void agree(communicator& comm, const std::function<void()>& step);

// The error agree() rethrows on ranks other than the one that raised it.
class forwarded_error : public error {
public:
  forwarded_error(const std::string& what, const std::string& hint, std::string kind, exit_code code)
      : error(what, hint), kind_(std::move(kind)), code_(code) {}
  exit_code code() const noexcept override { return code_; }
  const char* kind() const noexcept override { return kind_.c_str(); }

private:
  std::string kind_;
  exit_code code_;
};

}  // namespace nmc::runtime
