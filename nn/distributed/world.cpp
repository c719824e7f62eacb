#include "nn/distributed/world.h"

#include <mpi.h>

#include <cstdlib>
#include <string>
#include "autograd/error.h"

namespace dl::dist {

void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw Error(std::string(call) + ": " + std::string(message, static_cast<size_t>(length)));
}

World& World::get() {
  static World world;
  return world;
}

World::World() {
  if (!std::getenv("OMPI_COMM_WORLD_SIZE")) return;  // not started by mpirun: one process, no MPI
  check_mpi(MPI_Init(nullptr, nullptr), "MPI_Init");
  uses_mpi_ = true;
  check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

World::~World() {
  if (uses_mpi_) MPI_Finalize();
}

void World::broadcast(void* data, int64_t bytes, int from) const {
  if (size_ == 1) return;
  DL_CHECK(bytes <= INT32_MAX, "World::broadcast", std::to_string(bytes) + " bytes in one message");
  check_mpi(MPI_Bcast(data, static_cast<int>(bytes), MPI_BYTE, from, MPI_COMM_WORLD), "MPI_Bcast");
}

std::vector<double> World::gather(const std::vector<double>& mine) const {
  if (size_ == 1) return mine;
  const int count = static_cast<int>(mine.size());
  std::vector<int> counts(is_root() ? size_ : 0), offsets(counts.size());
  check_mpi(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Gather");
  int total = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    offsets[r] = total;
    total += counts[r];
  }
  std::vector<double> all(static_cast<size_t>(total));
  check_mpi(MPI_Gatherv(mine.data(), count, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE,
                        root, MPI_COMM_WORLD),
            "MPI_Gatherv");
  return all;
}

bool World::same_everywhere(uint64_t value) const {
  if (size_ == 1) return true;
  uint64_t lo = value, hi = value;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
  return lo == hi;
}

int World::finish(int code) const {
  if (code != 0 && size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
  return code;
}

}  // namespace dl::dist
