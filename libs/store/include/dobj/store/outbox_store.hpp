#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "dobj/store/object_store.hpp"

namespace dobj::store {

// dobj.outbox as the worker that delivers it sees it (ctx.send, DESIGN.md §5): what is pending,
// what was delivered, what is retried later, what died. One instance per connection, one thread.
class OutboxStore {
 public:
  explicit OutboxStore(pqxx::connection& conn) : conn_(conn) {}

  // Up to `limit` pending messages of the senders in the partitions `worker` owns, ordered by
  // sender and sequence number (a sender's messages are always a prefix of its pending ones).
  std::vector<DurableMessage> pending(WorkerId worker, std::size_t limit);
  // One sender's pending messages with after < seq < before, in order.
  std::vector<DurableMessage> pending_of(const std::string& sender_class,
                                         const std::string& sender_id, std::int64_t after,
                                         std::int64_t before);
  // Delivered (or answered for good): the rows go.
  void delivered(const std::vector<DurableMessage>& messages);
  // Counts a failed attempt and says when the next one is due (for operators: the admin view).
  void failed_attempt(const DurableMessage& message, const std::string& error,
                      std::chrono::milliseconds retry_in);
  // Moves the message to dobj.dead_messages with the error that ended it.
  void bury(const DurableMessage& message, const std::string& error_code, const std::string& error);

 private:
  pqxx::connection& conn_;
};

}  // namespace dobj::store
