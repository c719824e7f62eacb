// Errors: every failure is a dl::Error whose message starts with the op that rejected its input.
#pragma once
#include <stdexcept>
#include <string>

namespace dl {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// DL_CHECK(cond, op, message...) throws "op: message" when cond is false. The message is built
// with operator+ on std::string, so only pay for it on failure.
#define DL_CHECK(cond, op, msg)                                   \
  do {                                                            \
    if (!(cond)) throw ::dl::Error(std::string(op) + ": " + (msg)); \
  } while (0)

}  // namespace dl
