#pragma once

#include <cstdint>
#include <string>

#include "dobj/core/value.hpp"

namespace dobj {

// Where an awaited call's continuation resumes and answers (Context::call): stored with the
// call in dobj.outbox (msgpack), handed back by the courier in $result. The reply fields are
// those of the request that made the call, or, for a call a continuation makes, handed on from
// its own route: however long the chain, the first request gets the last continuation's answer.
struct CallRoute {
  std::string then;              // the continuation
  Value carry;                   // what the calling turn handed on
  std::string reply_to;          // "" for none
  std::string reply_type;        // the request's Content-Type header value
  std::string reply_key;         // its idempotency key, "" for none
  std::string chain;             // the Dobj-Call-Chain the request came with ("" from a client)
  std::int64_t deadline_us = 0;  // wall clock: the courier answers `timeout` after it

  Value to_value() const;
  // Error(kBadRequest) when `v` is not a route.
  static CallRoute from_value(const Value& v);
};

// How many objects a Dobj-Call-Chain holds waiting.
int call_depth(const std::string& chain);

}  // namespace dobj
