#include "process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>

extern char** environ;

namespace wcbroker::test {
namespace {

void close_fd(int& fd)
{
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}

std::string read_all(int fd)
{
    std::string text;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0)
            text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

} // namespace

Process::Process(Process&& other) noexcept
{
    *this = std::move(other);
}

Process& Process::operator=(Process&& other) noexcept
{
    if (this != &other) {
        this->~Process();
        pid_ = std::exchange(other.pid_, -1);
        stdin_ = std::exchange(other.stdin_, -1);
        stdout_ = std::exchange(other.stdout_, -1);
        stderr_ = std::exchange(other.stderr_, -1);
        buffer_ = std::move(other.buffer_);
        status_ = other.status_;
    }
    return *this;
}

Process::~Process()
{
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        wait(std::chrono::seconds(10));
    }
    close_fd(stdin_);
    close_fd(stdout_);
    close_fd(stderr_);
    pid_ = -1;
}

bool Process::running()
{
    return pid_ > 0 && !wait(std::chrono::milliseconds(0));
}

std::optional<std::string> Process::read_line(std::chrono::milliseconds limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        const auto newline = buffer_.find('\n');
        if (newline != std::string::npos) {
            std::string line = buffer_.substr(0, newline);
            buffer_.erase(0, newline + 1);
            return line;
        }
        if (stdout_ < 0)
            return std::nullopt;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return std::nullopt;
        struct pollfd fd {stdout_, POLLIN, 0};
        if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0)
            continue;
        char chunk[4096];
        const ssize_t n = ::read(stdout_, chunk, sizeof chunk);
        if (n <= 0) {
            close_fd(stdout_);
            if (buffer_.empty())
                return std::nullopt;
            std::string line = std::move(buffer_);
            buffer_.clear();
            return line;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

std::string Process::rest_of_output()
{
    std::string text = std::move(buffer_);
    buffer_.clear();
    if (stdout_ >= 0) {
        text += read_all(stdout_);
        close_fd(stdout_);
    }
    return text;
}

std::string Process::stderr_output()
{
    if (stderr_ < 0)
        return "";
    std::string text = read_all(stderr_);
    close_fd(stderr_);
    return text;
}

std::pair<std::string, std::string> Process::all_output()
{
    std::string out = std::move(buffer_);
    buffer_.clear();
    std::string err;
    struct pollfd fds[2] = {{stdout_, POLLIN, 0}, {stderr_, POLLIN, 0}};
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0)
                continue;
            char chunk[4096];
            const ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                fds[i].fd = -1; // poll skips negative fds
                continue;
            }
            (i == 0 ? out : err).append(chunk, static_cast<std::size_t>(n));
        }
    }
    close_fd(stdout_);
    close_fd(stderr_);
    return {std::move(out), std::move(err)};
}

void Process::send_input(const std::string& input)
{
    write_input(input);
    close_fd(stdin_);
}

void Process::write_input(const std::string& input)
{
    std::size_t written = 0;
    while (stdin_ >= 0 && written < input.size()) {
        const ssize_t n = ::write(stdin_, input.data() + written, input.size() - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        written += static_cast<std::size_t>(n);
    }
}

void Process::close_stdin()
{
    close_fd(stdin_);
}

void Process::signal(int number)
{
    if (pid_ > 0 && !status_)
        ::kill(pid_, number);
}

std::optional<int> Process::wait(std::chrono::milliseconds limit)
{
    if (status_)
        return status_;
    if (pid_ <= 0)
        return std::nullopt;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
            return status_;
        }
        if (r < 0 && errno != EINTR)
            return std::nullopt;
        if (std::chrono::steady_clock::now() >= deadline)
            return std::nullopt;
        ::usleep(2000);
    }
}

Process spawn(const std::vector<std::string>& argv, const SpawnOptions& options)
{
    int in[2] = {-1, -1}, out[2], err[2] = {-1, -1};
    if (options.stdin_pipe && ::pipe2(in, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    if (::pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    if (!options.stderr_file && ::pipe2(err, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe2 failed");
    int stderr_fd = err[1];
    if (options.stderr_file) {
        stderr_fd = ::open(options.stderr_file->c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (stderr_fd < 0)
            throw std::runtime_error("cannot open " + *options.stderr_file);
    }
    // Everything the child needs is prepared here: after fork it only makes
    // system calls, since other threads may hold locks it would deadlock on.
    std::vector<char*> args;
    for (const std::string& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    std::vector<char*> env;
    for (const std::string& entry : options.env)
        env.push_back(const_cast<char*>(entry.c_str()));
    env.push_back(nullptr);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

    const pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork failed");
    if (pid == 0) {
        ::dup2(options.stdin_pipe ? in[0] : null_fd, 0);
        ::dup2(out[1], 1);
        ::dup2(stderr_fd, 2);
        if (options.as) {
            const Credentials& c = *options.as;
            if (::setgroups(c.groups.size(), c.groups.data()) != 0 || ::setresgid(c.gid, c.gid, c.gid) != 0
                || ::setresuid(c.uid, c.uid, c.uid) != 0)
                ::_exit(126);
        }
        ::execve(args[0], args.data(), env.data());
        ::_exit(127);
    }
    ::close(null_fd);
    Process process;
    process.pid_ = pid;
    if (options.stdin_pipe) {
        ::close(in[0]);
        process.stdin_ = in[1];
    }
    ::close(out[1]);
    process.stdout_ = out[0];
    if (options.stderr_file) {
        ::close(stderr_fd);
    } else {
        ::close(err[1]);
        process.stderr_ = err[0];
    }
    return process;
}

std::vector<std::string> environment_without(const std::vector<std::string>& names, const std::vector<std::string>& extra)
{
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string text = *entry;
        const std::string name = text.substr(0, text.find('='));
        bool dropped = false;
        for (const std::string& drop : names)
            dropped = dropped || name == drop;
        for (const std::string& replaced : extra)
            dropped = dropped || replaced.substr(0, replaced.find('=')) == name;
        if (!dropped)
            env.push_back(text);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
}

} // namespace wcbroker::test
