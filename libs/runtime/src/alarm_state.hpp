#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "dobj/store/object_store.hpp"

namespace dobj {

// Alarm times are µs since the Unix epoch where they are stored (exact both ways) and wall-clock
// time points in the handler API.
inline store::EpochMicros to_epoch_micros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}
inline std::chrono::system_clock::time_point from_epoch_micros(store::EpochMicros us) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(us)));
}

// An object's alarm as turns see it: the committed time, and the net operation of the turns
// since the last commit (pending) and of the current turn, layered as KvState's writes are.
class AlarmState {
 public:
  using Micros = store::EpochMicros;
  // What a commit does to the alarm row; `trace` is the traceparent of the turn that set it.
  struct Op {
    store::AlarmOp op = store::AlarmOp::kKeep;
    Micros at = 0;
    std::string trace{};
  };

  explicit AlarmState(std::optional<Micros> committed) : committed_(committed) {}

  // The turn's traceparent, kept with an alarm it sets: the alarm's own turn continues that
  // trace. It must outlive the turn (the shard's RequestInfo does).
  void begin_turn(std::string_view trace) { turn_trace_ = trace; }
  std::optional<Micros> get() const { return apply(apply(committed_, pending_), turn_); }
  void set(Micros at) { turn_ = Op{store::AlarmOp::kSet, at, std::string(turn_trace_)}; }
  void del() { turn_ = Op{store::AlarmOp::kDelete, 0}; }
  // The alarm turn: the alarm that fired is gone unless the turn sets another.
  void delete_if_due(Micros due) { turn_ = merge(turn_, Op{store::AlarmOp::kDeleteIfDue, due}); }

  void end_turn(bool succeeded) {
    if (succeeded && turn_) pending_ = merge(pending_, *turn_);
    turn_.reset();
    turn_trace_ = {};
  }
  bool has_pending() const { return pending_.has_value(); }
  Op pending_op() const { return pending_ ? *pending_ : Op{}; }
  void mark_committed() {
    committed_ = apply(committed_, pending_);
    pending_.reset();
  }

 private:
  static std::optional<Micros> apply(std::optional<Micros> base, const std::optional<Op>& op) {
    if (!op) return base;
    switch (op->op) {
      case store::AlarmOp::kSet:
        return op->at;
      case store::AlarmOp::kDelete:
        return std::nullopt;
      case store::AlarmOp::kDeleteIfDue:
        return base == op->at ? std::nullopt : base;
      case store::AlarmOp::kKeep:
        break;
    }
    return base;
  }
  // One operation with the effect of `first` then `second`.
  static std::optional<Op> merge(const std::optional<Op>& first, const Op& second) {
    if (second.op != store::AlarmOp::kDeleteIfDue || !first) return second;
    if (first->op == store::AlarmOp::kSet) {
      return first->at == second.at ? Op{store::AlarmOp::kDelete, 0} : *first;
    }
    return first;  // kDelete stays a delete; a repeated kDeleteIfDue stays itself
  }

  std::optional<Micros> committed_;
  std::optional<Op> pending_;
  std::optional<Op> turn_;
  std::string_view turn_trace_;
};

}  // namespace dobj
