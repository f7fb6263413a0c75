// dobj-worker: hosts the example classes (examples/). Flags: worker_main.cpp.
#include "dobj/examples/register_examples.hpp"
#include "dobj/worker/run_worker.hpp"

int main(int argc, char** argv) {
  return dobj::run_worker(argc, argv, dobj::examples::register_examples);
}
