#include "libs/queue/publish_batcher.h"

#include <optional>

#include "libs/core/thread_name.h"

namespace hookrelay::queue {

absl::Status PublishBatcherOptions::Validate() const {
  if (flushers < 1 || flushers > 64) {
    return absl::InvalidArgumentError("publish_flushers: must be in [1, 64]");
  }
  if (max_batch < 1 || max_batch > 10000) {
    return absl::InvalidArgumentError("publish_batch: must be in [1, 10000]");
  }
  return absl::OkStatus();
}

PublishBatcher::PublishBatcher(Publisher& publisher, PublishBatcherOptions options)
    : publisher_(publisher), options_(options) {
  threads_.reserve(options_.flushers);
  for (int i = 0; i < options_.flushers; ++i) {
    threads_.emplace_back([this] {
      core::NameThisThread("hr-publish");
      Flush();
    });
  }
}

PublishBatcher::~PublishBatcher() { Stop(); }

void PublishBatcher::Submit(v1::PublishEventRequest req, Done done) {
  Enqueue(Item{std::move(req), std::move(done)}, queue_);
}

void PublishBatcher::SubmitBatch(v1::PublishEventsRequest req, BatchDone done) {
  Enqueue(BatchItem{std::move(req), std::move(done)}, batches_);
}

template <typename T>
void PublishBatcher::Enqueue(T item, std::deque<T>& queue) {
  enum class Route { kQueued, kInline, kRefused } route;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      route = Route::kRefused;
    } else if (busy_ == 0 && queue_.empty() && batches_.empty()) {
      route = Route::kInline;
      ++busy_;
    } else {
      route = Route::kQueued;
      queue.push_back(std::move(item));
      cv_.notify_one();
    }
  }
  switch (route) {
    case Route::kQueued:
      return;
    case Route::kInline: {
      PublishAndAnswer(item);
      std::lock_guard<std::mutex> lock(mu_);
      --busy_;
      if (!queue_.empty() || !batches_.empty()) cv_.notify_one();
      return;
    }
    case Route::kRefused:
      item.done(absl::UnavailableError("registry: shutting down"));
      return;
  }
}

void PublishBatcher::PublishAndAnswer(Item& item) {
  PublishAndAnswer(absl::MakeSpan(&item, 1));  // no vector for a lone call
}

void PublishBatcher::PublishAndAnswer(absl::Span<Item> batch) {
  std::vector<const v1::PublishEventRequest*> reqs;
  reqs.reserve(batch.size());
  for (const Item& item : batch) reqs.push_back(&item.req);
  std::vector<absl::StatusOr<v1::PublishEventResponse>> results = publisher_.PublishEach(reqs);
  flushes_.fetch_add(1, std::memory_order_relaxed);
  published_.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_relaxed);
  for (size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

void PublishBatcher::PublishAndAnswer(BatchItem& item) {
  auto results = publisher_.PublishBatch(item.req.events());
  flushes_.fetch_add(1, std::memory_order_relaxed);
  if (results.ok()) {
    published_.fetch_add(static_cast<int64_t>(results->size()), std::memory_order_relaxed);
  }
  item.done(std::move(results));
}

void PublishBatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void PublishBatcher::Flush() {
  std::vector<Item> batch;
  std::optional<BatchItem> theirs;
  bool batch_turn = false;  // alternate when both queues wait, so neither starves
  while (true) {
    batch.clear();
    theirs.reset();
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !batches_.empty(); });
      // Stopping, and everything queued is published.
      if (queue_.empty() && batches_.empty()) return;
      if (!batches_.empty() && (queue_.empty() || batch_turn)) {
        theirs.emplace(std::move(batches_.front()));
        batches_.pop_front();
      }
      while (!theirs && !queue_.empty() && static_cast<int>(batch.size()) < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      batch_turn = !theirs;
      ++busy_;
    }
    if (theirs) {
      PublishAndAnswer(*theirs);
    } else {
      PublishAndAnswer(absl::MakeSpan(batch));
    }
    std::lock_guard<std::mutex> lock(mu_);
    --busy_;
  }
}

}  // namespace hookrelay::queue
