#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dobj::testing {

// Waits for cond with a deadline, polling; true if it held in time.
bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds(20));

// A free TCP port on 127.0.0.1 for a test server: bound and released, picked below the kernel's
// ephemeral range (where outgoing connections never take it meanwhile), never twice in a process.
int free_port();
// The ports free_port picks from, [first, last]: below the ephemeral range; none when too few
// are there (then the kernel picks and only "never twice" holds).
std::optional<std::pair<int, int>> test_port_range();
// A TCP connection to 127.0.0.1:port (the descriptor), or -1 when nothing accepts there.
int connect_loopback(int port);
// A fresh directory under $TMPDIR (or /tmp), removed by remove_tree.
std::string make_temp_dir(const std::string& prefix);
// The same under `base`.
std::string make_temp_dir(const std::string& base, const std::string& prefix);
void remove_tree(const std::string& path);
std::string read_file(const std::string& path);

// A child process with its output in a log file. The destructor SIGKILLs and reaps it.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
          const std::string& log_path);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  void signal(int sig);
  // The exit status (as from waitpid) once it exits, nullopt if still running at the deadline.
  std::optional<int> wait(std::chrono::milliseconds deadline);
  bool running();

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> status_;
};

// A process's CPU time so far (user + system, /proc/<pid>/stat); with `reaped_children`, plus
// that of its children that have exited and been waited for (a postmaster's past backends).
double cpu_seconds(pid_t pid, bool reaped_children = false);
// The live processes whose parent is `pid`.
std::vector<pid_t> child_pids(pid_t pid);

// Runs a command to completion; returns its exit code and output.
int run_command(const std::vector<std::string>& argv, std::string* output = nullptr);

}  // namespace dobj::testing
