#include "state/keys.h"

#include "state/codec.h"

namespace closeloop::state::keys {

void AppendString(std::string& key, std::string_view s) {
  for (char c : s) {
    key.push_back(c);
    if (c == '\0') key.push_back('\xff');
  }
  key.push_back('\0');
  key.push_back('\x01');
}

bool ReadString(std::string_view& in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '\0') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 1 >= in.size()) return false;
    if (in[i + 1] == '\x01') {
      in.remove_prefix(i + 2);
      return true;
    }
    if (in[i + 1] != '\xff') return false;
    out.push_back('\0');
    ++i;
  }
  return false;
}

void AppendUint64(std::string& key, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(v >> shift));
}

bool ReadUint64(std::string_view& in, uint64_t& out) {
  if (in.size() < 8) return false;
  out = 0;
  for (int i = 0; i < 8; ++i) out = (out << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(8);
  return true;
}

void AppendInt64(std::string& key, int64_t v) {
  AppendUint64(key, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}

bool ReadInt64(std::string_view& in, int64_t& out) {
  uint64_t u;
  if (!ReadUint64(in, u)) return false;
  out = static_cast<int64_t>(u ^ (uint64_t{1} << 63));
  return true;
}

void AppendInt32(std::string& key, int32_t v) {
  const uint32_t u = static_cast<uint32_t>(v) ^ (uint32_t{1} << 31);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>(u >> shift));
}

bool ReadInt32(std::string_view& in, int32_t& out) {
  if (in.size() < 4) return false;
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i) u = (u << 8) | static_cast<uint8_t>(in[i]);
  in.remove_prefix(4);
  out = static_cast<int32_t>(u ^ (uint32_t{1} << 31));
  return true;
}

std::string Key(Type type, std::string_view a) {
  std::string key(1, static_cast<char>(type));
  AppendString(key, a);
  return key;
}
std::string Key(Type type, std::string_view a, std::string_view b) {
  std::string key = Key(type, a);
  AppendString(key, b);
  return key;
}
std::string Key(Type type, std::string_view a, std::string_view b, std::string_view c) {
  std::string key = Key(type, a, b);
  AppendString(key, c);
  return key;
}

std::string FormatKey() { return Key(kSystem, "format"); }
std::string InstanceKey() { return Key(kSystem, "instance"); }
std::string OutboxNextKey() { return Key(kSystem, "outbox_next"); }

std::string TimerSlotPrefix(matcher::Slot slot) {
  std::string key(1, static_cast<char>(kTimer));
  key.push_back(static_cast<char>(SlotCode(slot)));
  return key;
}

std::string TimerKey(const matcher::TimerRef& timer) {
  std::string key = TimerSlotPrefix(timer.slot);
  AppendInt64(key, timer.due.time_since_epoch().count());
  AppendString(key, timer.tenant);
  AppendString(key, timer.id);
  return key;
}

bool ParseTimerKey(std::string_view key, matcher::Timer& timer) {
  if (key.size() < 2 || static_cast<uint8_t>(key[0]) != kTimer) return false;
  auto slot = SlotFromCode(static_cast<uint8_t>(key[1]));
  if (!slot.ok()) return false;
  key.remove_prefix(2);
  int64_t due;
  std::string tenant;
  if (!ReadInt64(key, due) || !ReadString(key, tenant) || !ReadString(key, timer.id) ||
      !key.empty()) {
    return false;
  }
  timer.tenant.value = tenant;
  timer.slot = *slot;
  timer.due = matcher::EventTime(matcher::Duration(due));
  return true;
}

std::string OffsetKey(std::string_view topic, int32_t partition) {
  std::string key = Key(kOffset, topic);
  AppendInt32(key, partition);
  return key;
}

bool ParseOffsetKey(std::string_view key, std::string& topic, int32_t& partition) {
  if (key.empty() || static_cast<uint8_t>(key[0]) != kOffset) return false;
  key.remove_prefix(1);
  return ReadString(key, topic) && ReadInt32(key, partition) && key.empty();
}

std::string OutboxKey(uint64_t sequence) {
  std::string key(1, static_cast<char>(kOutbox));
  AppendUint64(key, sequence);
  return key;
}

bool ParseOutboxKey(std::string_view key, uint64_t& sequence) {
  if (key.empty() || static_cast<uint8_t>(key[0]) != kOutbox) return false;
  key.remove_prefix(1);
  return ReadUint64(key, sequence) && key.empty();
}

std::string MetaKey(std::string_view name) {
  std::string key(1, static_cast<char>(kMeta));
  key.append(name);
  return key;
}

}  // namespace closeloop::state::keys
