#include "dobj/store/connection_url.hpp"

namespace dobj::store {

ConnectionUrl::ConnectionUrl(std::string url) : state_(std::make_shared<State>()) {
  state_->url = std::move(url);
}

std::string ConnectionUrl::get() const {
  std::lock_guard lock(state_->mutex);
  return state_->url;
}

bool ConnectionUrl::set(std::string url) {
  std::lock_guard lock(state_->mutex);
  if (url == state_->url) return false;
  state_->url = std::move(url);
  ++state_->version;
  return true;
}

}  // namespace dobj::store
