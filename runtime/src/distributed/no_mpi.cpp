// A build without MPI (NMC_MPI off): no MPI job can be joined.

#include <fmt/format.h>

#include <nmc/error.hpp>
#include <nmc/runtime/mpi.hpp>

namespace nmc::runtime {

bool mpi_built() { return false; }

std::unique_ptr<communicator> mpi_world(int&, char**&) {
  if (const int ranks = launched_ranks(); ranks > 1) {
    throw usage_error(fmt::format("nmc was started on {} MPI ranks, but this build has no MPI", ranks),
                      "install OpenMPI (scripts/setup.sh) and rebuild with -DNMC_MPI=ON, or run nmc without mpirun");
  }
  return nullptr;
}

}  // namespace nmc::runtime
