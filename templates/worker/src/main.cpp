// guestbook-worker: a dobj worker hosting this project's classes. --help lists its flags;
// DOBJ_NATS_URL and DOBJ_DATABASE_URL say where NATS and PostgreSQL are.
#include <dobj/dobj.hpp>

#include "guestbook.hpp"

int main(int argc, char** argv) {
  return dobj::run_worker(argc, argv, guestbook::register_classes);
}
