// The state store's key layout (documented in state/README.md): a one-byte
// record type, then the key's parts. Strings are escaped so that keys of
// different tenants or ids never collide and byte order equals the order of
// the parts (std::string order); integers are big-endian with the sign bit
// flipped so byte order equals numeric order. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "matcher/store.h"

namespace closeloop::state::keys {

// Record types: the first byte of every key.
enum Type : uint8_t {
  kSystem = 0x01,          // format version, instance id, outbox sequence
  kDeal = 0x10,            // tenant, deal id -> DealState
  kOrder = 0x11,           // tenant, order id -> OrderState
  kInvoice = 0x12,         // tenant, invoice id -> InvoiceState
  kPaymentInvoice = 0x20,  // tenant, payment id -> invoice id
  kCustomerDeal = 0x21,    // tenant, customer id, deal id -> empty
  kTimer = 0x30,           // slot, due, tenant, subject id -> empty
  kOffset = 0x40,          // topic, partition -> next offset
  kOutbox = 0x50,          // sequence -> OutboxRecord
  kMeta = 0x60,            // name (raw, the last part) -> bytes
};

// Appends `s` escaped: 0x00 becomes 0x00 0xFF, and 0x00 0x01 ends it.
void AppendString(std::string& key, std::string_view s);
// Reads one escaped string from the front of `in`; false when malformed.
bool ReadString(std::string_view& in, std::string& out);
// Big-endian with the sign bit flipped.
void AppendInt64(std::string& key, int64_t v);
bool ReadInt64(std::string_view& in, int64_t& out);
void AppendInt32(std::string& key, int32_t v);
bool ReadInt32(std::string_view& in, int32_t& out);
// Plain big-endian.
void AppendUint64(std::string& key, uint64_t v);
bool ReadUint64(std::string_view& in, uint64_t& out);

// A key of `type` whose parts are the given strings, escaped.
std::string Key(Type type, std::string_view a);
std::string Key(Type type, std::string_view a, std::string_view b);
std::string Key(Type type, std::string_view a, std::string_view b, std::string_view c);

// System records.
std::string FormatKey();
std::string InstanceKey();
std::string OutboxNextKey();

std::string TimerKey(const matcher::TimerRef& timer);
// Every timer key of `slot` starts with this.
std::string TimerSlotPrefix(matcher::Slot slot);
// Decodes a timer key; false when malformed.
bool ParseTimerKey(std::string_view key, matcher::Timer& timer);

std::string OffsetKey(std::string_view topic, int32_t partition);
bool ParseOffsetKey(std::string_view key, std::string& topic, int32_t& partition);

std::string OutboxKey(uint64_t sequence);
bool ParseOutboxKey(std::string_view key, uint64_t& sequence);

std::string MetaKey(std::string_view name);

}  // namespace closeloop::state::keys
