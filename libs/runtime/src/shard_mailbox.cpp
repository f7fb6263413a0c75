#include "shard_mailbox.hpp"

namespace dobj {
namespace {

zmq::message_t wrap(std::unique_ptr<ShardCommand>& command) {
  ShardCommand* raw = command.get();
  return zmq::message_t(&raw, sizeof raw);
}

}  // namespace

ShardMailbox::Receiver::Receiver(zmq::context_t& zmq, std::string endpoint)
    : endpoint_(std::move(endpoint)), socket_(zmq, zmq::socket_type::pull) {
  socket_.set(zmq::sockopt::rcvhwm, 0);
  socket_.bind(endpoint_);
}

ShardMailbox::Receiver::~Receiver() {
  while (take()) {
  }
}

void ShardMailbox::Receiver::wait(std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
}

std::unique_ptr<ShardCommand> ShardMailbox::Receiver::take() {
  zmq::message_t msg;
  if (!socket_.recv(msg, zmq::recv_flags::dontwait)) return nullptr;
  return std::unique_ptr<ShardCommand>(*static_cast<ShardCommand**>(msg.data()));
}

bool ShardMailbox::Receiver::has_waiting() {
  return (socket_.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
}

ShardMailbox::Sender::Sender(zmq::context_t& zmq, const std::string& endpoint, int high_water_mark)
    : socket_(zmq, zmq::socket_type::push) {
  socket_.set(zmq::sockopt::sndhwm, high_water_mark);
  socket_.connect(endpoint);
}

bool ShardMailbox::Sender::try_send(std::unique_ptr<ShardCommand>& command) {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  auto msg = wrap(command);
  if (!socket_.send(msg, zmq::send_flags::dontwait)) return false;
  (void)command.release();  // the receiver owns it now
  return true;
}

void ShardMailbox::Sender::send(std::unique_ptr<ShardCommand> command, bool close) {
  std::lock_guard lock(mutex_);
  if (close) closed_ = true;
  auto msg = wrap(command);
  socket_.send(msg, zmq::send_flags::none);
  (void)command.release();
}

void ShardMailbox::Sender::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
}

bool ShardMailbox::Sender::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

void ShardMailbox::Sender::shut_down() {
  std::lock_guard lock(mutex_);
  socket_.close();
}

}  // namespace dobj
