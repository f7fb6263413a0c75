#pragma once

#include <optional>
#include <string>

#include "dobj/core/error.hpp"
#include "dobj/core/text.hpp"
#include "dobj/runtime/sql.hpp"
#include "dobj/store/object_store.hpp"
#include "statement_guard.hpp"

namespace dobj {

// ctx.sql() of one turn. The object's first statement of a batch enters it into the batch
// transaction (fencing UPDATE first); a fenced object's turn ends without a reply.
class TurnSql final : public Sql {
 public:
  // Thrown through the handler when the object turns out to be fenced; the runtime looks at
  // fenced() afterwards, so a handler that swallows it changes nothing.
  struct Fenced {};

  TurnSql(store::ObjectStore* store, const std::string& class_name, const std::string& object_id,
          store::ObjectLease& lease, bool& entered)
      : store_(store),
        class_name_(class_name),
        object_id_(object_id),
        lease_(lease),
        entered_(entered) {}

  SqlResult exec_values(const std::string& query, const std::vector<Value>& params) override {
    if (failure_) {
      throw SqlError("an earlier SQL statement of this turn failed: " + *failure_, "25P02");
    }
    check_text(query, params);
    if (auto refused = refused_statement(query)) {
      failure_ = *refused;
      throw SqlError(*refused, "42501");  // insufficient_privilege, as PostgreSQL would say
    }
    if (!store_) throw Error(ErrorCode::kStorageError, "no database connection");
    if (!entered_) {
      if (!store_->enter(class_name_, object_id_, lease_)) {
        fenced_ = true;
        throw Fenced{};
      }
      entered_ = true;
    }
    try {
      return store_->exec_sql(lease_, query, params);
    } catch (const SqlError& e) {
      failure_ = e.what();
      throw;
    }
  }

  bool fenced() const { return fenced_; }
  // The failed statement's message, if one failed.
  const std::optional<std::string>& failure() const { return failure_; }

 private:
  // Text reaches PostgreSQL as C strings: a NUL would cut it short silently, bad UTF-8 would fail
  // the whole batch transaction. Either is this request's own error.
  static void check_text(const std::string& query, const std::vector<Value>& params) {
    if (!is_text(query)) {
      throw Error(ErrorCode::kBadRequest, "SQL text must be valid UTF-8 without NUL");
    }
    for (const auto& p : params) {
      if (p.is_string() && !is_text(p.get_ref<const std::string&>())) {
        throw Error(ErrorCode::kBadRequest,
                    "SQL text parameters must be valid UTF-8 without NUL (bytes go as binary)");
      }
    }
  }

  store::ObjectStore* store_;
  const std::string& class_name_;
  const std::string& object_id_;
  store::ObjectLease& lease_;
  bool& entered_;
  bool fenced_ = false;
  std::optional<std::string> failure_;
};

}  // namespace dobj
