#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dobj/store/alarm_store.hpp"

namespace dobj {

// The alarms a timer holds in memory, by the time they fire (µs since the Unix epoch). At most
// one per object: holding an object's alarm again replaces the one held (the object set another
// time). Pure: the timer passes the time in, tests pass any.
class AlarmWheel {
 public:
  void hold(const store::ClaimedAlarm& alarm);
  // The earliest fire time held.
  std::optional<store::EpochMicros> next_fire_at() const;
  // Takes every alarm due at `now`, earliest first.
  std::vector<store::ClaimedAlarm> take_due(store::EpochMicros now);
  // Appends the objects of every alarm held.
  void keys(std::vector<store::AlarmKey>& out) const;
  std::size_t size() const { return by_time_.size(); }
  bool empty() const { return by_time_.empty(); }
  void clear();

 private:
  using ByTime = std::multimap<store::EpochMicros, store::ClaimedAlarm>;
  static std::string object_key(const store::ClaimedAlarm& alarm);

  ByTime by_time_;
  std::map<std::string, ByTime::iterator> by_object_;
};

}  // namespace dobj
