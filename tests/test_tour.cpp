// The guided tour (examples/tour.cpp) runs to the end, and what it prints is checked: its
// finite-difference line agrees with the backward, every value it recomputes with plain loops
// agrees with the op, and its tape is a Graphviz graph.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include "tests/programs.h"
#include "tests/testing.h"

using dl::testing::run_program;

TEST_CASE("the tour runs, its finite-difference check agrees, it writes the tape", "[tour][programs]") {
  dl::testing::TempDir dir;
  const auto run = run_program("tour", "--out " + dir.path, dir.path);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK(run.output.find("DISAGREE") == std::string::npos);
  CHECK(run.output.find("every value recomputed by hand agrees with the library's ops") != std::string::npos);

  // "finite difference: dL/dQ[1][0] = ... = <fd>, backward <bw>, relative error <e>: agree"
  const size_t at = run.output.find("finite difference: dL/dQ[1][0]");
  REQUIRE(at != std::string::npos);
  const std::string line = run.output.substr(at, run.output.find('\n', at) - at);
  INFO(line);
  const size_t eq = line.find("2h = "), bw = line.find("backward ");
  REQUIRE((eq != std::string::npos && bw != std::string::npos));
  const double fd = std::atof(line.c_str() + eq + 5), backward = std::atof(line.c_str() + bw + 9);
  CHECK(backward != 0);
  CHECK(std::abs(fd - backward) <= 1e-6 * std::abs(backward));
  CHECK(line.substr(line.size() - 5) == "agree");

  std::ifstream dot(dir.path + "/tour_tape.dot");
  REQUIRE(dot.good());
  std::stringstream text;
  text << dot.rdbuf();
  CHECK(text.str().rfind("digraph tape {", 0) == 0);
  CHECK(text.str().find("scaled_dot_product_attention") != std::string::npos);
}

TEST_CASE("the tour names an unknown argument", "[tour][programs]") {
  const auto run = run_program("tour", "--no-such-flag");
  CHECK(run.exit_code == 2);
  CHECK(run.output.find("unknown argument '--no-such-flag'") != std::string::npos);
}
