// The processes a data-parallel program runs as: its rank among them and their number.
//
// The distributed layer sits beside the core library, not in it: autograd, ops, nn and models
// never include mpi.h, and only the programs that train data-parallel link build/libdist.a and
// libmpi. Nor does this header include mpi.h, so a program that uses it compiles without MPI's
// flags; only world.cpp and reducer.cpp do.
//
// MPI is initialised only when the program was started by mpirun (OpenMPI sets
// OMPI_COMM_WORLD_SIZE in every process it launches). Run as a plain program it is a world of one
// process and makes no MPI call at all, so the test suite, the sanitizers and valgrind never
// meet MPI in an ordinary run. Every MPI call returns its error (MPI_ERRORS_RETURN) and a failure
// becomes a dl::Error naming the call, like any other bad input.
#pragma once
#include <cstdint>
#include <vector>

namespace dl::dist {

class World {
 public:
  // The one world of this process, set up on first use.
  static World& get();
  ~World();  // MPI_Finalize, when MPI was initialised
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  static constexpr int root = 0;  // the rank that prints, writes, and broadcasts the parameters
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == root; }
  bool uses_mpi() const { return uses_mpi_; }

  // bytes at data, from rank `from` to every rank (blocking).
  void broadcast(void* data, int64_t bytes, int from) const;
  // Rank root receives every rank's values, in rank order; the others get an empty vector.
  std::vector<double> gather(const std::vector<double>& mine) const;
  // Whether every rank passed the same value (e.g. a hash of the configuration).
  bool same_everywhere(uint64_t value) const;
  // The exit code of a program body: on a failure with several ranks, MPI_Abort ends every rank
  // with it (the others may be waiting on this one, and would otherwise hang); else `code`.
  int finish(int code) const;

 private:
  World();
  int rank_ = 0, size_ = 1;
  bool uses_mpi_ = false;
};

// Throws a dl::Error "<call>: <MPI's message>" unless code is MPI_SUCCESS (for world.cpp and
// reducer.cpp, which include mpi.h).
void check_mpi(int code, const char* call);

}  // namespace dl::dist
