// Catch2 runner. Ends with the plain line "N passed, N failed" (test cases) that CI reads.
#define CATCH_CONFIG_MAIN
// GCC 12 at -O3 warns inside libstdc++'s <regex>, which Catch2's runner uses, that a moved
// std::function may be uninitialised: a false positive in system code, silenced in this file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <catch2/catch.hpp>

#include <iostream>

struct PassFailLine : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testRunEnded(const Catch::TestRunStats& stats) override {
    std::cout << stats.totals.testCases.passed << " passed, " << stats.totals.testCases.failed
              << " failed" << std::endl;
  }
};
CATCH_REGISTER_LISTENER(PassFailLine)
