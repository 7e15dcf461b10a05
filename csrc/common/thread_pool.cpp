#include "common/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <stdexcept>
#include <string>

#if defined(__linux__)
#include <sched.h>
#endif

namespace imgen {

struct ThreadPool::Job {
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0;
  int64_t chunk = 1;
  int64_t num_chunks = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  std::mutex mutex;  // guards error and the completion wait
  std::condition_variable finished;
  std::exception_ptr error;
};

int ThreadPool::available_cores() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

ThreadPool::ThreadPool(int num_threads)
    : size_(num_threads > 0 ? num_threads : std::min(available_cores(), kMaxThreads)) {
  if (size_ > kMaxThreads)
    throw std::invalid_argument("number of threads must be at most " +
                                std::to_string(kMaxThreads) + ", got " + std::to_string(size_));
  workers_.reserve(static_cast<size_t>(size_ - 1));
  try {
    for (int i = 1; i < size_; ++i) workers_.emplace_back([this] { worker_loop(); });
  } catch (const std::exception& e) {
    // A constructor that throws runs no destructor: the workers already started wait on wake_,
    // which is about to be destroyed (and joinable std::threads may not be destroyed either).
    // Stop and join them first.
    const size_t started = workers_.size();
    stop_workers();
    throw std::runtime_error("could not start " + std::to_string(size_) +
                             " kernel threads (only " + std::to_string(started + 1) +
                             " could be, the caller's included): " + e.what());
  }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

// Claims and runs one chunk of `job`; false when no chunk was left to claim.
bool ThreadPool::run_one_chunk(Job& job) {
  const int64_t i = job.next.fetch_add(1, std::memory_order_relaxed);
  if (i >= job.num_chunks) return false;
  const int64_t begin = i * job.chunk;
  const int64_t end = std::min(job.n, begin + job.chunk);
  bool failed;
  {
    std::lock_guard<std::mutex> lock(job.mutex);
    failed = static_cast<bool>(job.error);
  }
  if (!failed) {
    try {
      (*job.fn)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(job.mutex);
      if (!job.error) job.error = std::current_exception();
    }
  }
  if (job.done.fetch_add(1, std::memory_order_acq_rel) + 1 == job.num_chunks) {
    std::lock_guard<std::mutex> lock(job.mutex);
    job.finished.notify_all();
  }
  return true;
}

void ThreadPool::worker_loop() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_ && jobs_.empty()) return;
      job = jobs_.front();
      if (job->next.load(std::memory_order_relaxed) >= job->num_chunks) {
        jobs_.pop_front();
        continue;
      }
    }
    while (run_one_chunk(*job)) {
    }
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = std::max<int64_t>(1, n / grain);
  // A few chunks per thread balance uneven work without much overhead.
  const int64_t num_chunks = std::min<int64_t>(max_chunks, int64_t{size_} * 4);
  if (size_ == 1 || num_chunks == 1) {
    fn(0, n);
    return;
  }
  auto job = std::make_shared<Job>();
  job->fn = &fn;
  job->n = n;
  job->chunk = (n + num_chunks - 1) / num_chunks;
  job->num_chunks = (n + job->chunk - 1) / job->chunk;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(job);
  }
  wake_.notify_all();
  while (run_one_chunk(*job)) {
  }
  {
    std::unique_lock<std::mutex> lock(job->mutex);
    job->finished.wait(lock, [&] { return job->done.load() == job->num_chunks; });
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = std::find(jobs_.begin(), jobs_.end(), job);
    if (it != jobs_.end()) jobs_.erase(it);
  }
  if (job->error) std::rethrow_exception(job->error);
}

void run_rows(ThreadPool* pool, int64_t n, int64_t grain,
              const std::function<void(int64_t, int64_t)>& fn) {
  if (pool && n > grain)
    pool->parallel_for(n, grain, fn);
  else if (n > 0)
    fn(0, n);
}

}  // namespace imgen
