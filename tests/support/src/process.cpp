#include "dobj/testing/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace dobj::testing {

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline,
                std::chrono::milliseconds poll) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(poll);
  }
}

namespace {

// Test servers listen below the kernel's ephemeral port range. A port the kernel picked from that
// range and that was released again can go to any outgoing connection of a test running beside
// this one before the server binds it (nats-server then stops with "address already in use");
// below the range, only another test's pick could take it. 10000-19999 is the local stack test's
// (tests/local_stack), whose stack holds its ports across down and up.
constexpr int kFirstTestPort = 20000;
constexpr int kMinTestPorts = 1000;  // fewer below the range: leave the choice to the kernel
constexpr int kPickAttempts = 100;

// The lowest port of the kernel's ephemeral range for outgoing connections (and for a bind to
// port 0).
int ephemeral_low() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  in >> low;
  return low;
}

// Binds 127.0.0.1:port (0: the kernel's choice) and releases it; the port, or 0 when taken.
int bind_and_release(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("free_port: socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return 0;
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A port handed out stays this process's until it exits, for every test process of the machine:
// a server a test kills and starts again on its own ports would otherwise find one taken by
// another test's pick in between (CI: a restarted NATS node's websocket port, "address already in
// use"). The reservation is a lock on /tmp/dobj-test-ports/<port>, held by a descriptor left
// open; the kernel drops it when the process ends, however it ends. False: another live process
// holds it. Without the directory (another user's, say) the bind check alone decides.
bool reserve_across_processes(int port) {
  static const std::string kDir = "/tmp/dobj-test-ports";
  auto make_dir = [] {
    if (mkdir(kDir.c_str(), 01777) == 0) chmod(kDir.c_str(), 01777);  // whatever the umask
  };
  static const bool made = (make_dir(), true);
  (void)made;
  auto path = kDir + "/" + std::to_string(port);
  int fd = open(path.c_str(), O_CREAT | O_RDONLY | O_CLOEXEC, 0666);
  if (fd < 0 && errno == ENOENT) {
    // Someone cleaned /tmp while this process ran: without the directory no port would be
    // reserved any more, silently.
    make_dir();
    fd = open(path.c_str(), O_CREAT | O_RDONLY | O_CLOEXEC, 0666);
  }
  if (fd < 0) return true;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return false;
  }
  return true;  // fd stays open: the lock lives as long as this process
}

}  // namespace

std::optional<std::pair<int, int>> test_port_range() {
  const int below = ephemeral_low();
  if (below - kFirstTestPort < kMinTestPorts) return std::nullopt;
  return std::pair{kFirstTestPort, below - 1};
}

int free_port() {
  static std::mutex mutex;
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(getpid()));
  static std::set<int> handed_out;  // this process's picks: never the same port twice
  std::lock_guard lock(mutex);
  if (auto range = test_port_range()) {
    std::uniform_int_distribution<int> pick(range->first, range->second);
    for (int attempt = 0; attempt < kPickAttempts; ++attempt) {
      int port = pick(rng);
      if (!handed_out.count(port) && bind_and_release(port) == port &&
          reserve_across_processes(port)) {
        handed_out.insert(port);
        return port;
      }
    }
  }
  for (int attempt = 0; attempt < kPickAttempts; ++attempt) {
    int port = bind_and_release(0);
    if (port == 0) throw std::runtime_error("free_port: bind failed");
    if (!handed_out.count(port) && reserve_across_processes(port)) {
      handed_out.insert(port);
      return port;
    }
  }
  throw std::runtime_error("free_port: the kernel offered only ports handed out before");
}

std::string make_temp_dir(const std::string& prefix) {
  const char* base = std::getenv("TMPDIR");
  return make_temp_dir(base && *base ? base : "/tmp", prefix);
}

std::string make_temp_dir(const std::string& base, const std::string& prefix) {
  std::string tmpl = base + "/" + prefix + "-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return tmpl;
}

void remove_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Process::Process(std::vector<std::string> argv, const std::map<std::string, std::string>& env,
                 const std::string& log_path)
    : log_path_(log_path) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto name = kv.substr(0, kv.find('='));
    if (!env.count(name)) env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    // Children must not inherit a blocked signal mask from a test thread.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(args[0], args.data(), envp.data());
    static const char kFailed[] = "exec failed: ";
    [[maybe_unused]] auto n = write(2, kFailed, sizeof kFailed - 1);
    n = write(2, args[0], strlen(args[0]));
    _exit(127);
  }
}

Process::~Process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
}

void Process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

bool Process::running() {
  if (status_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) status_ = status;
  return !status_;
}

std::optional<int> Process::wait(std::chrono::milliseconds deadline) {
  wait_until([this] { return !running(); }, deadline, std::chrono::milliseconds(5));
  return status_;
}

int run_command(const std::vector<std::string>& argv, std::string* output) {
  auto dir = make_temp_dir("dobj-cmd");
  auto log = dir + "/out";
  int code = -1;
  {
    Process p(argv, {}, log);
    auto status = p.wait(std::chrono::minutes(2));
    if (!status) {
      // SIGTERM first: a command that started helpers of its own (node → Chromium) may end
      // them on the way out, which SIGKILL (the destructor's) would not let it do.
      p.signal(SIGTERM);
      status = p.wait(std::chrono::seconds(5));
    }
    if (status && WIFEXITED(*status)) code = WEXITSTATUS(*status);
  }
  if (output) *output = read_file(log);
  remove_tree(dir);
  return code;
}

int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace dobj::testing

namespace dobj::testing {
namespace {

// The fields of /proc/<pid>/stat from the third (state) on; empty if the process is gone.
std::vector<std::string> stat_fields(pid_t pid) {
  // A process may exit between being listed and being read (a PostgreSQL backend does, often):
  // its file then fails to read (ESRCH, thrown by libstdc++'s filebuf). It has no fields then.
  std::string stat;
  try {
    std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
    stat.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  } catch (const std::exception&) {
    return {};
  }
  auto close = stat.rfind(')');  // the command may hold spaces and parentheses
  if (close == std::string::npos) return {};
  std::istringstream in(stat.substr(close + 2));
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

}  // namespace

double cpu_seconds(pid_t pid, bool reaped_children) {
  auto f = stat_fields(pid);
  // Fields 14-17 of proc(5): utime, stime, cutime, cstime.
  if (f.size() < 15) return 0;
  double ticks = std::stod(f[11]) + std::stod(f[12]);
  if (reaped_children) ticks += std::stod(f[13]) + std::stod(f[14]);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::vector<pid_t> child_pids(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto f = stat_fields(std::stoi(name));
    if (f.size() > 1 && std::stoi(f[1]) == pid) out.push_back(std::stoi(name));
  }
  return out;
}

}  // namespace dobj::testing
