// What an MPI launcher tells a process through its environment (mpi.hpp).

#include <algorithm>
#include <cstdlib>
#include <string>

#include <nmc/runtime/mpi.hpp>

namespace nmc::runtime {

int launched_ranks() {
  // OpenMPI's mpirun, PMIx launchers (srun, prterun), and PMI-1/2 (MPICH, Slurm).
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(var)) {
      try {
        return std::max(1, std::stoi(v));
      } catch (const std::exception&) {
        return 1;
      }
    }
  }
  return 1;
}

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(var)) return true;
  return false;
}

}  // namespace nmc::runtime
