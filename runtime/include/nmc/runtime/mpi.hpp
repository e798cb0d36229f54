#pragma once
// The MPI communicator of distributed runs (distributed.hpp). nmc joins an
// MPI job only when an MPI launcher started it (mpirun, mpiexec, srun): a
// plain `nmc simulate` never initialises MPI.

#include <memory>

#include <nmc/runtime/distributed.hpp>

namespace nmc::runtime {

// Whether this build has MPI (the CMake option NMC_MPI).
bool mpi_built();

// Whether an MPI launcher started this process, and the ranks it says the
// job has (1 without a launcher).
bool launched_by_mpi();
int launched_ranks();

// MPI_COMM_WORLD when an MPI launcher started this process, initialised on
// first use and finalised when the returned object goes; nullptr without a
// launcher. Throws usage_error when launched on several ranks by a build
// without MPI (every rank would otherwise simulate everything).
std::unique_ptr<communicator> mpi_world(int& argc, char**& argv);

}  // namespace nmc::runtime
