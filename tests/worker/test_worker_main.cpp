// dobj-test-worker: dobj-worker plus the test classes (Scratch, Ledger), for tests, benchmarks
// and the chaos suite only. Never installed: the test classes run what a request says.
#include "dobj/examples/register_examples.hpp"
#include "dobj/worker/run_worker.hpp"
#include "test_classes.hpp"

int main(int argc, char** argv) {
  return dobj::run_worker(argc, argv, [](dobj::ClassRegistry& registry) {
    dobj::examples::register_examples(registry);
    dobj::examples::register_test_classes(registry);
  });
}
