#pragma once

#include <functional>

#include "dobj/runtime/class_registry.hpp"

namespace dobj {

// Runs a worker process hosting the classes `register_classes` adds: parses the flags (--help
// lists them), serves until SIGTERM/SIGINT or a drain, and returns the exit code. Call it first
// thing in main(): it blocks the stop signals before any thread starts.
int run_worker(int argc, char** argv, std::function<void(ClassRegistry&)> register_classes);

}  // namespace dobj
