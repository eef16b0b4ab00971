// The production matcher::Store: the matcher's states, indexes and timers,
// the outbox, input offsets and the pipeline's meta records in one RocksDB
// instance, changed only by Commit(), which writes everything pending as one
// atomic WriteBatch. After a crash the store is exactly at the boundary of
// the last committed batch. Key layout: state/README.md.
// Not thread-safe: one matcher task uses one RocksStore.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "matcher/store.h"
#include "state/records.h"

namespace rocksdb {
class Cache;
class DB;
class WriteBatch;
class WriteBatchWithIndex;
class WriteBufferManager;
}  // namespace rocksdb

namespace closeloop::state {

struct Options {
  // The store's directory. Required.
  std::string dir;
  // LRU cache of data, index and filter blocks. Default: 64 MiB.
  size_t block_cache_bytes = size_t{64} << 20;
  // Memtable budget: all memtables together stay under this (two of half
  // the size each, capped by a write buffer manager). Default: 32 MiB.
  size_t write_buffer_bytes = size_t{32} << 20;
  // Table files kept open. Default: 256.
  int max_open_files = 256;
  // The write-ahead log is always on, so a committed batch survives a
  // process kill. true also fsyncs it on every Commit, so a committed batch
  // survives power loss too. Default: false.
  bool sync_writes = false;
  // Creates the directory and an empty store when there is none. Default: true.
  bool create_if_missing = true;
  // Reads every block of every table file at Open and refuses the store when
  // a checksum fails. Costs a full read of the store. Default: false (Open
  // checks the manifest, table file sizes and footers only; a bad block is
  // found when read).
  bool verify_checksums_on_open = false;
  // Decoded subject states (deals, orders, invoices) kept in memory. A state
  // is decoded on first use and the matcher changes it in place; each one
  // handed out is encoded once, at Commit, and written when its bytes
  // changed. States handed out stay until Commit whatever this says; after a
  // Commit, when the cache holds more states than this, the least recently
  // used are dropped down to three quarters of it. Discard empties it.
  // Default: 100000 (on the sample company about 1 KB each).
  size_t state_cache_entries = 100000;
  // RocksDB's own diagnostic log (LOG in the directory) starts a new file
  // past this size; the four before it are kept, older ones deleted. It
  // grows with every flush, compaction, periodic statistics dump and Stats()
  // call, for as long as the process runs. Default: 8 MiB.
  size_t info_log_file_bytes = size_t{8} << 20;
};

// Figures for metrics. Approximate: RocksDB estimates them.
struct StoreStats {
  uint64_t sst_bytes = 0;          // live table files on disk
  uint64_t wal_bytes = 0;          // write-ahead log files on disk
  uint64_t memtable_bytes = 0;     // memtables in memory
  uint64_t block_cache_bytes = 0;  // block cache in use
  uint64_t estimated_keys = 0;
  uint64_t pending_bytes = 0;  // the uncommitted batch
  uint64_t disk_bytes() const { return sst_bytes + wal_bytes; }
};

class RocksStore final : public matcher::Store {
 public:
  // The version of the key layout and record formats this code writes, kept
  // in a format record written when the store is created. 2: a document's
  // versions sent again unchanged are kept as times (repeats_ms), which a
  // closeloop of version 1 would drop unseen. 3: a deal version sent without
  // close_time is marked so (close_time_inferred) and re-dated by a late
  // version before it, which a closeloop of version 2 would not know. 4: a
  // fuzzy link's second look (looking_again) and the time a link made then
  // holds from (linked_at), which a closeloop of version 3 would drop, taking
  // the link as held from the document's time. A store of an earlier version
  // this code still reads (kOldestFormatVersion on) is stamped with this one
  // when opened.
  static constexpr int kFormatVersion = 4;
  static constexpr int kOldestFormatVersion = 1;

  // Opens the store in options.dir, creating it when absent and
  // create_if_missing is set. Refuses, naming the directory and the problem,
  // and changing nothing on disk:
  //   InvalidArgument     dir is empty;
  //   NotFound            no store there and create_if_missing is false;
  //   FailedPrecondition  dir holds other files but no RocksDB; a RocksDB
  //                       without closeloop's format record (written by
  //                       something else); a format version this code
  //                       does not read (a later one); the store is
  //                       locked by another process;
  //   DataLoss            RocksDB reports corruption (CURRENT, MANIFEST,
  //                       table files; every block with
  //                       verify_checksums_on_open);
  //   Unavailable         an I/O error.
  // A RocksDB with no keys at all (a creation that stopped before its format
  // record) is treated as new, and so is a directory holding only the files
  // RocksDB writes before CURRENT while creating one (a creation killed
  // then; state/README.md "Refusals").
  static absl::StatusOr<std::unique_ptr<RocksStore>> Open(const Options& options);
  // Drops pending writes and closes the database.
  ~RocksStore() override;
  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  // matcher::Store. Reads see the committed state plus this batch's pending
  // writes. A read that fails (I/O error, corruption, a record that does not
  // decode) fails the store (see status()); a state that does not decode is
  // handed out empty. Every state handed out is written at the next Commit.
  matcher::DealState& Deal(const matcher::TenantId& tenant, const matcher::DealId& id) override;
  matcher::OrderState& Order(const matcher::TenantId& tenant, const matcher::OrderId& id) override;
  matcher::InvoiceState& Invoice(const matcher::TenantId& tenant,
                                 const matcher::InvoiceId& id) override;
  void EndCall() override;
  std::optional<matcher::InvoiceId> GetPaymentInvoice(const matcher::TenantId& tenant,
                                                      const matcher::PaymentId& payment) override;
  void PutPaymentInvoice(const matcher::TenantId& tenant, const matcher::PaymentId& payment,
                         const matcher::InvoiceId& invoice) override;
  std::vector<matcher::DealId> DealsOfCustomer(const matcher::TenantId& tenant,
                                               const matcher::CustomerId& customer) override;
  void AddDealOfCustomer(const matcher::TenantId& tenant, const matcher::CustomerId& customer,
                         const matcher::DealId& deal) override;
  // Committed subjects only: states handed out are written at Commit.
  std::vector<std::string> SubjectIds(matcher::SubjectType type, const matcher::TenantId& tenant,
                                      const std::optional<std::string>& after,
                                      size_t limit) override;
  // Every tenant with a committed subject (deal, order or invoice), in order.
  std::vector<matcher::TenantId> Tenants();
  void AddTimer(const matcher::TimerRef& timer) override;
  void RemoveTimer(const matcher::TimerRef& timer) override;
  using matcher::Store::DueTimers;
  std::vector<matcher::Timer> DueTimers(matcher::Slot slot, matcher::EventTime upto,
                                        const std::optional<matcher::Timer>& after,
                                        size_t limit) override;

  // Input offsets: the next offset to read from a partition of an input topic.
  absl::StatusOr<std::optional<int64_t>> GetOffset(std::string_view topic, int32_t partition);
  void SetOffset(std::string_view topic, int32_t partition, int64_t next_offset);
  // Every stored offset, by (topic, partition).
  absl::StatusOr<std::vector<InputOffset>> Offsets();

  // Outbox. AddOutbox returns the record's sequence: 1, 2, ... increasing
  // across commits and restarts, never reused (also after RemoveOutbox and
  // Discard of a later batch: Discard gives back only the uncommitted ones).
  uint64_t AddOutbox(const OutboxRecord& record);
  // Up to `max` records (committed and pending) in sequence order.
  absl::StatusOr<std::vector<std::pair<uint64_t, OutboxRecord>>> Outbox(size_t max);
  // Removes every record with sequence <= upto (in the pending batch).
  absl::Status RemoveOutbox(uint64_t upto);

  // Meta records for the pipeline (watermark tracker state, report totals,
  // ...): opaque bytes under a name the caller chooses.
  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view name);
  void PutMeta(std::string_view name, std::string_view bytes);
  void DeleteMeta(std::string_view name);
  // Every record whose name starts with `prefix`, in name (byte) order.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ScanMeta(
      std::string_view prefix);

  // Writes the pending batch as one atomic RocksDB write (fsynced when
  // sync_writes), then starts an empty one. An empty batch writes nothing.
  // On failure nothing of the batch is stored, the batch is dropped and the
  // store fails. When the store has failed, returns that error and writes
  // nothing.
  absl::Status Commit();
  // Commits, then compacts every table file into the bottom level, as a store
  // that has lived long is: for tools and benches that bulk-load a store
  // (a service never needs it; RocksDB compacts in the background).
  absl::Status CommitAndCompact();
  // Drops the pending writes.
  void Discard();
  // OK, or the first failure: a failed read or commit. A failed store never
  // writes again; close it and reopen to continue from the last commit.
  absl::Status status() const { return failure_; }
  // Number of pending writes (puts and deletes) in the batch, states put
  // since the last commit included.
  size_t pending_writes() const;

  StoreStats Stats();
  const std::string& dir() const { return options_.dir; }
  // A random id written when the store was created (32 hex digits), so that
  // what this store's outbox published (its sequences start at 1 in every
  // store) is told from what another store's did under the same
  // transactional id. Empty for a store created before it was kept.
  const std::string& instance_id() const { return instance_id_; }

 private:
  struct Parts;
  RocksStore(const Options& options, std::unique_ptr<Parts> parts);

  // Reads `key` through the batch; nullopt when absent or on failure.
  std::optional<std::string> Read(const std::string& key);
  absl::Status ReadStatus(const std::string& key, std::optional<std::string>& value);
  // Calls fn(key, value) for every key starting with `prefix` (from `from`
  // when given) in key order, through the batch, while fn returns true.
  template <class Fn>
  absl::Status Scan(const std::string& prefix, const std::string& from, Fn&& fn);
  // The one escaped string after `prefix` in each key that starts with it, in
  // key order from `from` (when given), at most `limit`; a key with anything
  // else after the prefix fails the store (`what` names the keys).
  std::vector<std::string> LastParts(const std::string& prefix, const std::string& from,
                                     size_t limit, std::string_view what);
  void Write(const std::string& key, std::string_view value);
  void Erase(const std::string& key);
  void Fail(absl::Status status);
  // The subject state under `key` through the cache (decoded on first use,
  // created empty when not stored), marked to be written at Commit.
  template <class State, class Map, class Decode>
  State& TouchState(Map& cache, std::string key, const matcher::TenantId& tenant,
                    const std::string& id, Decode decode);
  // Adds the states handed out (those whose bytes changed) and the timers
  // changed since the last commit to `batch`; CleanStates then marks them
  // written.
  absl::Status StageStates(rocksdb::WriteBatch& batch);
  void CleanStates();
  // Drops the least recently used clean states beyond state_cache_entries.
  void EvictStates();
  void SetTimer(std::string key, bool present);
  // Whether the committed store holds the timer key (true when unsure).
  bool StoredTimer(const std::string& key);
  void ForgetTimerBounds();

  Options options_;
  std::unique_ptr<Parts> parts_;
  uint64_t next_sequence_ = 1;            // the next AddOutbox, pending included
  uint64_t committed_next_sequence_ = 1;  // as of the last commit
  // Where outbox scans start: below it every record was removed. RocksDB
  // keeps removed keys until compaction, and a scan from the first key walked
  // over every one of them (10% of `closeloop run` at 100k deals).
  uint64_t outbox_from_ = 0;            // pending removals included
  uint64_t committed_outbox_from_ = 0;  // as of the last commit
  std::string instance_id_;
  absl::Status failure_;
};

}  // namespace closeloop::state
