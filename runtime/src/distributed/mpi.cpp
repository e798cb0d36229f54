// The MPI communicator (mpi.hpp): MPI_COMM_WORLD, collectives only. The tick
// loop's thread is the only one that calls MPI (MPI_THREAD_FUNNELED); TBB
// workers never do.

#include <climits>
#include <numeric>

#include <mpi.h>

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/runtime/mpi.hpp>

namespace nmc::runtime {

namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw internal_error(fmt::format("{} failed: {}", what, std::string(text, static_cast<std::size_t>(len))));
}

int as_int(std::size_t n, const char* what) {
  if (n > static_cast<std::size_t>(INT_MAX))
    throw fit_error(fmt::format("{}: {} bytes in one MPI message, beyond MPI's {}", what, n, INT_MAX),
                    "use more ranks or fewer threads per rank");
  return static_cast<int>(n);
}

class mpi_world_comm final : public communicator {
public:
  mpi_world_comm() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~mpi_world_comm() override { MPI_Finalize(); }
  mpi_world_comm(const mpi_world_comm&) = delete;
  mpi_world_comm& operator=(const mpi_world_comm&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void exchange_counts(std::span<const std::size_t> send_counts, std::span<std::size_t> recv_counts) override {
    static_assert(sizeof(std::size_t) == sizeof(unsigned long long));
    check(MPI_Alltoall(send_counts.data(), 1, MPI_UNSIGNED_LONG_LONG, recv_counts.data(), 1, MPI_UNSIGNED_LONG_LONG,
                       MPI_COMM_WORLD),
          "MPI_Alltoall");
  }

  void exchange_data(std::span<const std::byte> send, std::span<const std::size_t> send_counts,
                     std::span<std::byte> recv, std::span<const std::size_t> recv_counts) override {
    const auto n = static_cast<std::size_t>(size_);
    sc_.resize(n), sd_.resize(n), rc_.resize(n), rd_.resize(n);
    std::size_t s = 0, r = 0;
    for (std::size_t k = 0; k < n; ++k) {
      sc_[k] = as_int(send_counts[k], "spike exchange"), sd_[k] = as_int(s, "spike exchange");
      rc_[k] = as_int(recv_counts[k], "spike exchange"), rd_[k] = as_int(r, "spike exchange");
      s += send_counts[k], r += recv_counts[k];
    }
    check(MPI_Alltoallv(send.data(), sc_.data(), sd_.data(), MPI_BYTE, recv.data(), rc_.data(), rd_.data(), MPI_BYTE,
                        MPI_COMM_WORLD),
          "MPI_Alltoallv");
  }

  void sum(std::span<std::int64_t> values) override {
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), as_int(values.size(), "sum"), MPI_INT64_T, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
  }
  void max(std::span<double> values) override {
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), as_int(values.size(), "max"), MPI_DOUBLE, MPI_MAX,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
  }

  std::vector<std::string> gather(const std::string& mine) override {
    const auto n = static_cast<std::size_t>(size_);
    int len = as_int(mine.size(), "gather");
    std::vector<int> lens(n), displs(n);
    check(MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD), "MPI_Allgather");
    std::size_t total = 0;
    for (std::size_t k = 0; k < n; ++k) displs[k] = as_int(total, "gather"), total += static_cast<std::size_t>(lens[k]);
    std::string all(total, '\0');
    check(MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR, MPI_COMM_WORLD),
          "MPI_Allgatherv");
    std::vector<std::string> out;
    for (std::size_t k = 0; k < n; ++k)
      out.push_back(all.substr(static_cast<std::size_t>(displs[k]), static_cast<std::size_t>(lens[k])));
    return out;
  }

private:
  int rank_ = 0, size_ = 1;
  std::vector<int> sc_, sd_, rc_, rd_;
};

}  // namespace

bool mpi_built() { return true; }

std::unique_ptr<communicator> mpi_world(int& argc, char**& argv) {
  if (!launched_by_mpi()) return nullptr;
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  return std::make_unique<mpi_world_comm>();
}

}  // namespace nmc::runtime
