#pragma once

#include <atomic>
#include <chrono>

namespace dobj {

// Monotonic time, injectable so that every background loop can be tested with a virtual clock.
class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;

  static Clock& system();
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that only moves when a test says so.
class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return TimePoint(Duration(ticks_.load())); }
  void advance(Duration d) { ticks_ += d.count(); }

 private:
  std::atomic<Duration::rep> ticks_{Duration(std::chrono::hours(1)).count()};
};

// Wall time (alarms, expiries), injectable like Clock, so that a class's behaviour over hours can
// be tested in a moment (ObjectHarness).
class WallClock {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  virtual ~WallClock() = default;
  virtual TimePoint now() const = 0;

  static const WallClock& system();
};

class SystemWallClock final : public WallClock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// Wall time that only moves when a test says so; starts at `start`.
class ManualWallClock final : public WallClock {
 public:
  explicit ManualWallClock(TimePoint start = TimePoint(std::chrono::hours(24 * 365 * 56)))
      : ticks_(start.time_since_epoch().count()) {}
  TimePoint now() const override { return TimePoint(TimePoint::duration(ticks_.load())); }
  void advance(std::chrono::system_clock::duration d) { ticks_ += d.count(); }

 private:
  std::atomic<TimePoint::rep> ticks_;
};

}  // namespace dobj
