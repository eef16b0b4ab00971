// SmallVector: a vector that keeps a single element inside itself and goes
// to the heap from the second on, in the 24 bytes of a std::vector. A deal
// has one order and one invoice, an order one invoice; their lists of ids as
// vectors cost an allocation and a cache line of their own each
// (bench/README.md, "Shared text"). Only what the matcher's id lists use: no
// erase. A value: copies are deep, == compares the elements.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <utility>
#include <variant>
#include <vector>

namespace closeloop::matcher {

template <class T>
class SmallVector {
 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  SmallVector() = default;
  SmallVector(std::initializer_list<T> items) {
    for (const T& item : items) push_back(item);
  }
  SmallVector(const SmallVector& other) { *this = other; }
  // A moved-from SmallVector is empty (a defaulted move would leave it with
  // a moved-from element or a null pointer).
  SmallVector(SmallVector&& other) noexcept : items_(std::exchange(other.items_, Items())) {}
  SmallVector& operator=(const SmallVector& other) {
    if (this == &other) return *this;
    if (other.size() <= 1) {
      items_ = other.empty() ? Items() : Items(std::in_place_index<kOne>, other[0]);
    } else {
      items_ = std::make_unique<std::vector<T>>(other.begin(), other.end());
    }
    return *this;
  }
  SmallVector& operator=(SmallVector&& other) noexcept {
    if (this != &other) items_ = std::exchange(other.items_, Items());
    return *this;
  }

  size_t size() const {
    switch (items_.index()) {
      case kOne:
        return 1;
      case kMany:
        return std::get<kMany>(items_)->size();
      default:
        return 0;
    }
  }
  bool empty() const { return items_.index() == kNone; }
  T* data() { return const_cast<T*>(std::as_const(*this).data()); }
  const T* data() const {
    switch (items_.index()) {
      case kOne:
        return &std::get<kOne>(items_);
      case kMany:
        return std::get<kMany>(items_)->data();
      default:
        return nullptr;
    }
  }
  T* begin() { return data(); }
  T* end() { return data() + size(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }

  // Inserts `value` before `pos`; returns where it went. Iterators and
  // references to elements are invalid afterwards.
  T* insert(const T* pos, const T& value) {
    const size_t at = static_cast<size_t>(pos - begin());
    if (empty()) {
      items_.template emplace<kOne>(value);
      return data();
    }
    if (items_.index() == kOne) {
      auto many = std::make_unique<std::vector<T>>();
      many->reserve(2);
      many->push_back(std::move(std::get<kOne>(items_)));
      items_ = std::move(many);
    }
    std::vector<T>& many = *std::get<kMany>(items_);
    return &*many.insert(many.begin() + static_cast<std::ptrdiff_t>(at), value);
  }
  void push_back(const T& value) { insert(end(), value); }

  friend bool operator==(const SmallVector& a, const SmallVector& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  enum : size_t { kNone, kOne, kMany };
  using Items = std::variant<std::monostate, T, std::unique_ptr<std::vector<T>>>;
  Items items_;
};

}  // namespace closeloop::matcher
