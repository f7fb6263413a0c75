#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <zmq.hpp>

#include "shard_command.hpp"

namespace dobj {

// The typed pipe from the dispatcher to one shard: commands go in and come out as
// unique_ptr<ShardCommand>, and ownership passes with them. Underneath, a ZeroMQ inproc
// PUSH/PULL pair whose messages are the commands' addresses; nothing else touches the raw
// pointers. Every producer goes through the one sender, so that a stop queues behind every
// message dispatched before it.
class ShardMailbox {
 public:
  // The shard's end. Used by the shard's thread and, under its own lock, by abandon().
  class Receiver {
   public:
    Receiver(zmq::context_t& zmq, std::string endpoint);
    ~Receiver();  // frees what was never taken
    const std::string& endpoint() const { return endpoint_; }
    // Waits at most `timeout` for something to take.
    void wait(std::chrono::milliseconds timeout);
    // The next command, or nullptr when none is queued.
    std::unique_ptr<ShardCommand> take();
    // Whether a command is queued (without taking it).
    bool has_waiting();

   private:
    std::string endpoint_;
    zmq::socket_t socket_;
  };

  // The dispatcher's end: thread-safe.
  class Sender {
   public:
    Sender(zmq::context_t& zmq, const std::string& endpoint, int high_water_mark);
    // A message: false (and the command stays with the caller) when the mailbox is closed or
    // full.
    bool try_send(std::unique_ptr<ShardCommand>& command);
    // A control command: never lost to a full queue, it waits for room. `close` refuses every
    // later try_send (a stop, or a shard given up).
    void send(std::unique_ptr<ShardCommand> command, bool close);
    void close();
    bool closed() const;
    void shut_down();  // before the ZeroMQ context ends

   private:
    mutable std::mutex mutex_;
    zmq::socket_t socket_;
    bool closed_ = false;
  };
};

}  // namespace dobj
