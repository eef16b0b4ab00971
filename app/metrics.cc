#include "app/metrics.h"

#include "app/report.h"
#include "matcher/money.h"
#include "prometheus/text_serializer.h"

namespace closeloop::app {
namespace {

using matcher::EventTime;
using matcher::kMinTime;

constexpr std::array<const char*, matcher::kSourceCount> kSourceNames = {"crm", "erp", "billing",
                                                                         "payments"};

prometheus::Histogram::BucketBoundaries DayBuckets() {
  prometheus::Histogram::BucketBoundaries b;
  for (double days : {1, 3, 7, 14, 30, 60, 90, 180}) b.push_back(days * 86400.0);
  return b;
}

}  // namespace

double MajorAmount(int64_t minor, const std::string& currency) {
  double scale = 1;
  for (int i = 0; i < matcher::MinorDigits(currency); ++i) scale *= 10;
  return static_cast<double>(minor) / scale;
}

void Metrics::SyncedCounter::Set(const Labels& labels, double total) {
  double& done = exported[labels];
  prometheus::Counter& c = family->Add(labels);
  // A total that shrinks (recovered money given back) cannot lower a counter.
  if (total > done) {
    c.Increment(total - done);
    done = total;
  }
}

void Metrics::SyncedGauge::Replace(const std::map<Labels, double>& values) {
  for (auto it = series.begin(); it != series.end();) {
    if (values.contains(it->first)) {
      ++it;
    } else {
      family->Remove(it->second);
      it = series.erase(it);
    }
  }
  for (const auto& [labels, v] : values) {
    prometheus::Gauge*& g = series[labels];
    if (g == nullptr) g = &family->Add(labels);
    g->Set(v);
  }
}

Metrics::Metrics(Options options)
    : options_(std::move(options)), registry_(std::make_unique<prometheus::Registry>()) {
  auto counter = [&](const char* name, const char* help) {
    declared_.push_back({name, help, "counter"});
    return SyncedCounter{&prometheus::BuildCounter().Name(name).Help(help).Register(*registry_),
                         {}};
  };
  auto gauge = [&](const char* name, const char* help) {
    declared_.push_back({name, help, "gauge"});
    return SyncedGauge{&prometheus::BuildGauge().Name(name).Help(help).Register(*registry_), {}};
  };
  auto histogram = [&](const char* name, const char* help,
                       const prometheus::Histogram::BucketBoundaries& buckets) {
    return &prometheus::BuildHistogram()
                .Name(name)
                .Help(help)
                .Register(*registry_)
                .Add({}, buckets);
  };
  consumed_ =
      counter("closeloop_events_consumed_total", "Valid input records consumed, by topic and type");
  dlq_ = counter("closeloop_dlq_records_total", "Records sent to the dead-letter topic, by reason");
  for (const std::string& reason : options_.dlq_reasons) dlq_.Set({{"reason", reason}}, 0);
  decode_failures_ =
      counter("closeloop_decode_failures_total",
              "Input records that could not be decoded or broke the contract, by topic and reason");
  opened_ = counter("closeloop_exceptions_opened_total", "Exceptions opened, by kind");
  resolved_ =
      counter("closeloop_exceptions_resolved_total", "Exceptions resolved, by kind and resolution");
  recovered_ = counter("closeloop_recovered_amount_total",
                       "Money recovered by exceptions, in major currency units");
  declared_.push_back({"closeloop_exception_records_published_total",
                       "Exception lifecycle records published, by kind and state", "counter"});
  published_ = &prometheus::BuildCounter()
                    .Name("closeloop_exception_records_published_total")
                    .Help("Exception lifecycle records published, by kind and state")
                    .Register(*registry_);
  open_ = gauge("closeloop_open_exceptions", "Open exceptions");
  at_risk_ = gauge("closeloop_amount_at_risk",
                   "Amount at risk of open exceptions, in major currency units");
  by_age_ = gauge("closeloop_open_exceptions_by_age", "Open exceptions by age in days");
  booked_ = gauge("closeloop_booked_amount", "Booked money of all deals, major currency units");
  billed_ = gauge("closeloop_billed_amount", "Billed money of all deals, major currency units");
  collected_ =
      gauge("closeloop_collected_amount", "Collected money of all deals, major currency units");
  realization_ = gauge("closeloop_realization_ratio",
                       "Collected / booked over deals closed in the trailing period");
  period_booked_ = gauge("closeloop_period_booked_amount",
                         "Booked amount of the deals closed in the trailing period, in major "
                         "currency units (realization's denominator)");
  period_collected_ = gauge("closeloop_period_collected_amount",
                            "Collected amount of the deals closed in the trailing period, in "
                            "major currency units (realization's numerator)");
  stream_lag_ = gauge("closeloop_stream_time_lag_seconds",
                      "Wall clock minus the source's event-time watermark");
  stalled_ = gauge("closeloop_source_stalled", "1 while the source is stalled");
  consumer_lag_ = gauge("closeloop_consumer_lag_records",
                        "High watermark minus position, summed over assigned partitions");
  store_bytes_ = gauge("closeloop_state_store_bytes", "Size of the state store");
  ready_ = gauge("closeloop_ready", "1 when /readyz answers 200");
  parked_ = gauge("closeloop_commands_parked",
                  "Commands kept until the watermarks reach them (read before their exception)");
  close_to_invoice_ =
      histogram("closeloop_close_to_invoice_seconds",
                "Event time from a deal's close to its first invoice", DayBuckets());
  invoice_to_payment_ =
      histogram("closeloop_invoice_to_payment_seconds",
                "Event time from a deal's first invoice to its first payment", DayBuckets());
  processing_ = histogram("closeloop_processing_latency_seconds", "Wall time to process a batch",
                          {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
}

Metrics::~Metrics() = default;

std::string Metrics::TenantLabel(const std::string& tenant) const {
  return options_.tenants.contains(tenant) ? tenant : "other";
}

void Metrics::OnBatch(const std::vector<matcher::ExceptionRecord>& published,
                      const Latencies& latencies, double processing_seconds) {
  for (const matcher::ExceptionRecord& r : published) {
    published_->Add({{"kind", matcher::KindName(r.kind)}, {"state", matcher::StateName(r.state)}})
        .Increment();
  }
  for (double s : latencies.close_to_invoice_seconds) close_to_invoice_->Observe(s);
  for (double s : latencies.invoice_to_payment_seconds) invoice_to_payment_->Observe(s);
  processing_->Observe(processing_seconds);
}

void Metrics::Refresh(const PipelineStats& stats, const Books& books, const PipelineProbe& probe) {
  for (const auto& [key, n] : stats.consumed) {
    consumed_.Set({{"topic", key.first}, {"type", key.second}}, static_cast<double>(n));
  }
  for (const auto& [reason, n] : stats.dead_letters) {
    dlq_.Set({{"reason", reason}}, static_cast<double>(n));
  }
  for (const auto& [key, n] : stats.decode_failures) {
    decode_failures_.Set({{"topic", key.first}, {"reason", key.second}}, static_cast<double>(n));
  }

  // Every series a counter can have starts at 0: increase() cannot count
  // the step from no series to its first value, so a first event (the first
  // recovery of a kind, say) would go unseen on the dashboard.
  std::map<Labels, double> opened, resolved, recovered;
  for (int k = 0; k <= static_cast<int>(matcher::ExceptionKind::kOrphanInvoice); ++k) {
    const std::string kind = matcher::KindName(static_cast<matcher::ExceptionKind>(k));
    opened[{{"kind", kind}}] = 0;
    for (auto resolution : {matcher::Resolution::kRecovered, matcher::Resolution::kSuperseded,
                            matcher::Resolution::kWithdrawn, matcher::Resolution::kDismissed}) {
      resolved[{{"kind", kind}, {"resolution", matcher::ResolutionName(resolution)}}] = 0;
    }
  }
  std::map<Labels, double> open, at_risk, by_age;
  for (const auto& [id, p] : books.open()) {
    const matcher::ExceptionRecord& r = *p;
    const std::string tenant = TenantLabel(r.tenant.value);
    const std::string kind = matcher::KindName(r.kind);
    open[{{"tenant", tenant}, {"kind", kind}, {"team", r.team}}] += 1;
    at_risk[{{"tenant", tenant}, {"kind", kind}, {"team", r.team}, {"currency", r.currency}}] +=
        MajorAmount(r.amount_at_risk_minor, r.currency);
    by_age[{{"kind", kind}, {"age_bucket", AgeBucket(AgeDays(r, probe.now))}}] += 1;
    // Recovered money by tenant, kind and currency: from the first exception
    // open with those (a currency is known only once something names it).
    recovered[{{"tenant", tenant}, {"kind", kind}, {"currency", r.currency}}] += 0;
  }
  for (const auto& [key, c] : books.counts()) {
    const std::string kind = matcher::KindName(key.kind);
    opened[{{"kind", kind}}] += static_cast<double>(c.opened);
    for (const auto& [resolution, n] : c.resolved) {
      resolved[{{"kind", kind}, {"resolution", matcher::ResolutionName(resolution)}}] +=
          static_cast<double>(n);
    }
  }
  for (const auto& [key, minor] : books.recovered_highest()) {
    recovered[{{"tenant", TenantLabel(key.tenant)},
               {"kind", matcher::KindName(key.kind)},
               {"currency", key.currency}}] += MajorAmount(minor, key.currency);
  }
  for (const auto& [labels, v] : opened) opened_.Set(labels, v);
  for (const auto& [labels, v] : resolved) resolved_.Set(labels, v);
  for (const auto& [labels, v] : recovered) recovered_.Set(labels, v);
  open_.Replace(open);
  at_risk_.Replace(at_risk);
  by_age_.Replace(by_age);

  struct Sums {
    int64_t booked = 0, billed = 0, collected = 0, period_booked = 0, period_collected = 0;
  };
  std::map<std::pair<std::string, std::string>, Sums> sums;  // tenant label, currency
  const int64_t period_start = DayOf(probe.now - options_.trailing_period);
  for (const auto& [key, t] : books.days()) {
    Sums& s = sums[{TenantLabel(key.tenant), key.currency}];
    s.booked += t.booked_minor;
    s.billed += t.billed_minor;
    s.collected += t.collected_minor;
    if (key.day != kNoCloseDay && key.day >= period_start) {
      s.period_booked += t.booked_minor;
      s.period_collected += t.collected_minor;
    }
  }
  // The period's sums as well as their ratio: a deployment split over
  // processes adds the sums, where ratios cannot be added.
  std::map<Labels, double> booked, billed, collected, realization, period_booked, period_collected;
  for (const auto& [key, s] : sums) {
    const Labels labels{{"tenant", key.first}, {"currency", key.second}};
    booked[labels] = MajorAmount(s.booked, key.second);
    billed[labels] = MajorAmount(s.billed, key.second);
    collected[labels] = MajorAmount(s.collected, key.second);
    period_booked[labels] = MajorAmount(s.period_booked, key.second);
    period_collected[labels] = MajorAmount(s.period_collected, key.second);
    if (s.period_booked > 0) {
      realization[labels] =
          static_cast<double>(s.period_collected) / static_cast<double>(s.period_booked);
    }
  }
  booked_.Replace(booked);
  billed_.Replace(billed);
  collected_.Replace(collected);
  realization_.Replace(realization);
  period_booked_.Replace(period_booked);
  period_collected_.Replace(period_collected);

  std::map<Labels, double> lag, stalled;
  for (int i = 0; i < matcher::kSourceCount; ++i) {
    const Labels labels{{"source", kSourceNames[i]}};
    stalled[labels] = probe.stalled[i] ? 1 : 0;
    if (probe.watermarks[i] > kMinTime) {
      lag[labels] = std::chrono::duration<double>(probe.now - probe.watermarks[i]).count();
    }
  }
  stream_lag_.Replace(lag);
  stalled_.Replace(stalled);
  std::map<Labels, double> consumer_lag;
  for (const auto& [topic, n] : probe.consumer_lag) {
    consumer_lag[{{"topic", topic}}] = static_cast<double>(n);
  }
  consumer_lag_.Replace(consumer_lag);
  std::map<Labels, double> store;
  if (probe.state_store_bytes) store[{}] = static_cast<double>(*probe.state_store_bytes);
  store_bytes_.Replace(store);
  ready_.Replace({{{}, probe.ready ? 1.0 : 0.0}});
  parked_.Replace({{{}, static_cast<double>(stats.parked_commands)}});
}

std::string Metrics::Text() const {
  const std::vector<prometheus::MetricFamily> families = registry_->Collect();
  std::string text = prometheus::TextSerializer().Serialize(families);
  for (const Declared& d : declared_) {
    const bool present = std::any_of(families.begin(), families.end(),
                                     [&](const auto& f) { return f.name == d.name; });
    if (!present)
      text += "# HELP " + d.name + " " + d.help + "\n# TYPE " + d.name + " " + d.type + "\n";
  }
  return text;
}

}  // namespace closeloop::app
