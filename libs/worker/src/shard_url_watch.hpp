#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "dobj/core/periodic_task.hpp"
#include "dobj/store/connection_url.hpp"
#include "dobj/store/lazy_connection.hpp"

namespace spdlog {
class logger;
}

namespace dobj {

// Follows the worker's storage shard in the map (`dobj shards set-url`): once the map gives the
// shard a URL that leads to that shard (its dobj.cluster names it, its schema is current), every
// connection of the worker's to the shard moves there at its holder's next safe point
// (store::ConnectionUrl). A URL that leads elsewhere or nowhere is refused, logged once, and
// looked at again each poll: the worker stays on the URL it has.
// Lifecycle: start() → stop(); step() is one look (the test hook).
class ShardUrlWatch {
 public:
  constexpr static std::chrono::milliseconds kDefaultPoll{10'000};  // as dobj-timer's map reads

  ShardUrlWatch(std::string control_url, std::string shard, store::ConnectionUrl storage_url,
                std::chrono::milliseconds poll);
  ~ShardUrlWatch();
  void start() { task_.start(); }
  void stop() { task_.stop(); }
  void step() { task_.step_now(); }

 private:
  void look();

  store::LazyConnection control_;
  std::string shard_;
  store::ConnectionUrl storage_url_;
  std::string refused_;  // the last URL refused (logged once)
  std::shared_ptr<spdlog::logger> log_;
  PeriodicTask task_;
};

}  // namespace dobj
