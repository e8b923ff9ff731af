#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "hookrelay/v1/registry.pb.h"
#include "libs/queue/publisher.h"

namespace hookrelay::queue {

struct PublishBatcherOptions {
  int flushers = 2;     // threads writing batches; one fills while another waits on Redis
  int max_batch = 256;  // requests per pipelined round trip
  absl::Status Validate() const;
};

// Group commit for single-event publishes: concurrent callers' requests queue up, and each
// flusher thread takes everything queued (up to max_batch) and publishes it with
// Publisher::PublishEach, one pipelined Redis round trip for the lot. Nothing waits for a
// batch to fill: batches grow only while Redis is busy with the previous ones. When nothing
// is being published at all, Submit() publishes its request on the caller's thread, so a
// lone call pays no thread hand-off (two wakeups cost more than the Redis round trip).
// A caller's own batch (SubmitBatch, PublishEvents) takes the same route but is published
// alone, all or nothing, with Publisher::PublishBatch; flushers alternate between the two
// queues. So a gRPC callback thread blocks on Redis only for an idle registry's publish.
// Thread-safe; completions run on a flusher or the submitting thread and must be quick
// (finishing a gRPC reactor is).
class PublishBatcher {
 public:
  using Done = std::function<void(absl::StatusOr<v1::PublishEventResponse>)>;
  using BatchDone = std::function<void(absl::StatusOr<std::vector<v1::PublishEventResponse>>)>;

  PublishBatcher(Publisher& publisher, PublishBatcherOptions options);
  ~PublishBatcher();  // Stop()

  // `req` must be validated. `done` runs exactly once: UNAVAILABLE after Stop().
  void Submit(v1::PublishEventRequest req, Done done);
  // `req`'s events must be validated; published together or not at all. `done` as above.
  void SubmitBatch(v1::PublishEventsRequest req, BatchDone done);
  // Publishes what is queued, then joins the flushers.
  void Stop();
  // Round trips made so far (each one publishes a batch) and the requests they carried.
  int64_t flushes() const { return flushes_.load(std::memory_order_relaxed); }
  int64_t published() const { return published_.load(std::memory_order_relaxed); }

 private:
  struct Item {
    v1::PublishEventRequest req;
    Done done;
  };
  struct BatchItem {
    v1::PublishEventsRequest req;
    BatchDone done;
  };
  // Queues `item`, publishes it inline when nothing else is publishing, or refuses it after
  // Stop().
  template <typename T>
  void Enqueue(T item, std::deque<T>& queue);
  void Flush();
  // One Publisher::PublishEach round trip for `batch`, then each caller's `done`.
  void PublishAndAnswer(absl::Span<Item> batch);
  void PublishAndAnswer(Item& item);  // a batch of one (an idle registry's inline publish)
  // One Publisher::PublishBatch round trip for a caller's batch, then its `done`.
  void PublishAndAnswer(BatchItem& item);

  Publisher& publisher_;
  const PublishBatcherOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::deque<BatchItem> batches_;
  int busy_ = 0;  // publishes in progress, on flushers or inline
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<int64_t> flushes_{0};
  std::atomic<int64_t> published_{0};
};

}  // namespace hookrelay::queue
