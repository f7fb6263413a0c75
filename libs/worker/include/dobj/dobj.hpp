#pragma once

// Everything an object class and its worker need:
//   dobj::Object, dobj::Context (storage, sql, alarm, events, now), dobj::ClassRegistry,
//   dobj::Error/ErrorCode, dobj::run_worker, and the client SDK (dobj::Client) to call objects.
// Unit tests add <dobj/testing.hpp>.
#include "dobj/client/client.hpp"
#include "dobj/core/error.hpp"
#include "dobj/core/value.hpp"
#include "dobj/runtime/class_registry.hpp"
#include "dobj/runtime/context.hpp"
#include "dobj/runtime/object.hpp"
#include "dobj/runtime/storage.hpp"
#include "dobj/worker/run_worker.hpp"
