// A fixed-size pool of std::threads with a blocking parallel_for.
//
// The calling thread takes part in the work, so a pool of size N starts N-1 workers, and a
// parallel_for called from inside a task (nesting) cannot deadlock.  Several threads may call
// parallel_for on one pool at once.  The first exception thrown by a task is re-thrown in the caller.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace imgen {

class ThreadPool {
 public:
  // The most threads a pool may have.  A fixed number, so that a setting behaves the same on every
  // machine; above the hardware threads of today's largest servers (2 x 192 cores x 2 SMT = 768),
  // so it limits no real machine; and each worker reserves a stack (8 MiB of address space by
  // default), so 1024 workers already take 8 GiB of it.  Threads beyond the cores only add
  // oversubscription.
  static constexpr int kMaxThreads = 1024;

  // num_threads <= 0 means "all available cores" (at most kMaxThreads).  Throws
  // std::invalid_argument above kMaxThreads, and std::runtime_error naming the count when the
  // threads cannot all be started (the ones that were are stopped and joined first).
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Calls fn(begin, end) over disjoint chunks covering [0, n), each at least `grain` long
  // (except possibly the last), and returns when all are done.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  static int available_cores();

 private:
  struct Job;
  void worker_loop();
  void stop_workers();
  static bool run_one_chunk(Job& job);

  int size_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> jobs_;
  bool stopping_ = false;
};

// pool->parallel_for(n, grain, fn), or fn(0, n) on the calling thread when pool is null or the
// range is a single grain.
void run_rows(ThreadPool* pool, int64_t n, int64_t grain,
              const std::function<void(int64_t, int64_t)>& fn);

}  // namespace imgen
