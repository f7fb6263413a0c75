#include "alarm_wheel.hpp"

namespace dobj {

std::string AlarmWheel::object_key(const store::ClaimedAlarm& alarm) {
  return alarm.class_name + '\0' + alarm.object_id;
}

void AlarmWheel::hold(const store::ClaimedAlarm& alarm) {
  auto key = object_key(alarm);
  if (auto it = by_object_.find(key); it != by_object_.end()) {
    by_time_.erase(it->second);
    by_object_.erase(it);
  }
  by_object_[key] = by_time_.emplace(alarm.fire_at, alarm);
}

std::optional<store::EpochMicros> AlarmWheel::next_fire_at() const {
  if (by_time_.empty()) return std::nullopt;
  return by_time_.begin()->first;
}

std::vector<store::ClaimedAlarm> AlarmWheel::take_due(store::EpochMicros now) {
  std::vector<store::ClaimedAlarm> due;
  while (!by_time_.empty() && by_time_.begin()->first <= now) {
    due.push_back(by_time_.begin()->second);
    by_object_.erase(object_key(due.back()));
    by_time_.erase(by_time_.begin());
  }
  return due;
}

void AlarmWheel::keys(std::vector<store::AlarmKey>& out) const {
  for (const auto& [at, alarm] : by_time_) out.push_back({alarm.class_name, alarm.object_id});
}

void AlarmWheel::clear() {
  by_time_.clear();
  by_object_.clear();
}

}  // namespace dobj
