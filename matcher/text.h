// Text: an immutable string value in 16 bytes, for the ids and text of the
// matcher's documents and states. Up to 15 bytes live inside it; longer text
// goes to the heap. A std::string takes 32 bytes for the same 15 inside, and
// a deal version carries eleven of them: at 50k deals in state the matcher
// waits on memory, and fewer bytes per state are fewer cache lines to miss
// (bench/README.md, "Compact text"). Copies of a longer text share its heap
// buffer, which counts its owners as std::shared_ptr does (atomically): a
// document's text is copied into its stored version and into every record
// about it, and copying meant an allocation each (bench/README.md, "Shared
// text"). Standard library only; immutable, so copies in several threads
// are safe.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <cstring>
#include <new>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace closeloop::matcher {

// The `Word` at `p`, unaligned: a fixed-size memcpy, which compiles to one
// load (one of variable length is a call).
template <class Word>
Word Load(const char* p) {
  Word w;
  std::memcpy(&w, p, sizeof w);
  return w;
}

// Whether two strings are equal, compared in machine words, the last word
// first: ids of one kind mostly have the same length and differ at the end.
// Every lookup that hits compares its whole id; a byte loop over it cost 11%
// of the matcher's instructions (bench/README.md, "Reasons in one
// allocation"). GCC keeps it out of line; forced inline at every caller it
// cost 7% more.
inline bool SameText(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n != b.size()) return false;
  // Overlapping loads: the last `Word` bytes and the first, which together
  // cover up to 2 * sizeof(Word) bytes.
  auto same = [&]<class Word>(Word) {
    return Load<Word>(a.data() + n - sizeof(Word)) == Load<Word>(b.data() + n - sizeof(Word)) &&
           Load<Word>(a.data()) == Load<Word>(b.data());
  };
  if (n >= 8) {
    if (n <= 16) return same(uint64_t{});
    return same(uint64_t{}) && std::memcmp(a.data() + 8, b.data() + 8, n - 16) == 0;
  }
  if (n >= 4) return same(uint32_t{});
  for (size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

class Text {
 public:
  Text() noexcept { Clear(); }
  Text(std::string_view s) { Init(s.data(), s.size()); }     // NOLINT: implicit, as std::string
  Text(const char* s) : Text(std::string_view(s)) {}         // NOLINT
  Text(const std::string& s) : Text(std::string_view(s)) {}  // NOLINT
  Text(const Text& other) noexcept {
    std::memcpy(bytes_, other.bytes_, kBytes);
    if (OnHeap()) Owners().fetch_add(1, std::memory_order_relaxed);
  }
  Text(Text&& other) noexcept {
    std::memcpy(bytes_, other.bytes_, kBytes);
    other.Clear();
  }
  Text& operator=(const Text& other) noexcept {
    Text copy(other);
    return *this = std::move(copy);
  }
  Text& operator=(Text&& other) noexcept {
    if (this != &other) {
      Release();
      std::memcpy(bytes_, other.bytes_, kBytes);
      other.Clear();
    }
    return *this;
  }
  ~Text() { Release(); }

  // NUL-terminated, like std::string's.
  const char* data() const { return OnHeap() ? HeapData() : bytes_; }
  const char* c_str() const { return data(); }
  size_t size() const { return OnHeap() ? HeapSize() : kInline - Tag(); }
  bool empty() const { return size() == 0; }
  const char* begin() const { return data(); }
  const char* end() const { return data() + size(); }
  operator std::string_view() const { return {data(), size()}; }  // NOLINT: implicit
  std::string str() const { return std::string(data(), size()); }
  // Implicit, as the std::string it replaced was: protobuf setters and maps
  // keyed by std::string take a Text as they took the string.
  operator std::string() const { return str(); }  // NOLINT: implicit
  friend std::ostream& operator<<(std::ostream& os, const Text& t) {
    return os << std::string_view(t);
  }

  // Two inline texts are equal exactly when all their bytes are: the bytes
  // after the text are zero.
  [[gnu::always_inline]] friend bool operator==(const Text& a, const Text& b) {
    if (!a.OnHeap() && !b.OnHeap()) {
      uint64_t differ = 0;
      for (size_t i = 0; i < kBytes; i += 8) {
        differ |= Load<uint64_t>(a.bytes_ + i) ^ Load<uint64_t>(b.bytes_ + i);
      }
      return differ == 0;
    }
    return SameText(a, b);
  }
  friend bool operator==(const Text& a, std::string_view b) { return SameText(a, b); }
  friend bool operator==(const Text& a, const std::string& b) { return SameText(a, b); }
  friend bool operator==(const Text& a, const char* b) { return std::string_view(a) == b; }
  // Concatenation into a std::string, as std::string's own operator+.
  friend std::string operator+(std::string a, const Text& b) {
    return a.append(b.data(), b.size());
  }
  friend std::string operator+(const char* a, const Text& b) { return std::string(a) + b; }
  friend std::string operator+(const Text& a, std::string_view b) { return a.str().append(b); }
  friend std::strong_ordering operator<=>(const Text& a, const Text& b) {
    return std::string_view(a) <=> std::string_view(b);
  }
  friend std::strong_ordering operator<=>(const Text& a, std::string_view b) {
    return std::string_view(a) <=> b;
  }
  friend std::strong_ordering operator<=>(const Text& a, const std::string& b) {
    return std::string_view(a) <=> std::string_view(b);
  }
  friend std::strong_ordering operator<=>(const Text& a, const char* b) {
    return std::string_view(a) <=> std::string_view(b);
  }

 private:
  static constexpr size_t kBytes = 16;
  static constexpr size_t kInline = kBytes - 1;  // the last byte is the tag
  // The last byte: kInline - size for inline text (so a 15-byte text ends in
  // the NUL), kHeap for text on the heap, whose pointer and 4-byte size are
  // the first 12 bytes. The pointer is to the text; the count of the Texts
  // sharing it is the four bytes before.
  static constexpr unsigned char kHeap = 0x80;
  using Count = std::atomic<uint32_t>;
  static constexpr size_t kCountBytes = sizeof(Count);
  static_assert(kCountBytes == 4 && alignof(Count) <= kCountBytes);

  unsigned char Tag() const { return static_cast<unsigned char>(bytes_[kInline]); }
  bool OnHeap() const { return Tag() == kHeap; }
  const char* HeapData() const { return Load<const char*>(bytes_); }
  size_t HeapSize() const { return Load<uint32_t>(bytes_ + 8); }
  Count& Owners() const {
    return *std::launder(reinterpret_cast<Count*>(const_cast<char*>(HeapData()) - kCountBytes));
  }
  void Clear() {
    std::memset(bytes_, 0, kBytes);
    bytes_[kInline] = static_cast<char>(kInline);
  }
  void Init(const char* p, size_t n) {
    if (n <= kInline) {
      std::memset(bytes_, 0, kBytes);
      if (n > 0) std::memcpy(bytes_, p, n);
      bytes_[kInline] = static_cast<char>(kInline - n);
      return;
    }
    if (n > UINT32_MAX) throw std::length_error("closeloop::matcher::Text longer than 4 GiB");
    char* block = static_cast<char*>(::operator new(kCountBytes + n + 1));
    new (block) Count(1);
    char* heap = block + kCountBytes;
    std::memcpy(heap, p, n);
    heap[n] = '\0';
    const uint32_t size = static_cast<uint32_t>(n);
    std::memcpy(bytes_, &heap, sizeof heap);
    std::memcpy(bytes_ + 8, &size, sizeof size);
    bytes_[kInline] = static_cast<char>(kHeap);
  }
  void Release() {
    if (!OnHeap() || Owners().fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    Owners().~Count();
    ::operator delete(const_cast<char*>(HeapData()) - kCountBytes);
  }

  alignas(8) char bytes_[kBytes];
};

static_assert(sizeof(Text) == 16);

}  // namespace closeloop::matcher
