// Linked into every executable of a CLOSELOOP_TSAN build only.
//
// librdkafka starts its threads with C11 thrd_create. glibc's thrd_create
// calls its pthread_create internally, past ThreadSanitizer's interceptor, so
// TSan never sets those threads up and its runtime crashes (SEGV in the
// runtime) on their first intercepted call. This definition takes precedence
// over glibc's for librdkafka.so (the executable exports it because the
// library references it) and starts the thread through the intercepted
// pthread_create. glibc's thrd_t is a pthread_t and its thrd_join reads the
// thread's int result from the void* that pthread_join returns, which the
// trampoline below provides. The C11 mutexes and condition variables
// librdkafka synchronises with have the same problem (glibc implements them
// on its pthread functions without going through the interceptors); they
// are forwarded the same way so TSan sees that synchronisation too. glibc's
// mtx_t and cnd_t hold a pthread_mutex_t and a pthread_cond_t.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

namespace {

struct Start {
  thrd_start_t func;
  void* arg;
};

void* Trampoline(void* p) {
  const Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.func(start.arg)));
}

}  // namespace

extern "C" int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = new (std::nothrow) Start{func, arg};
  if (start == nullptr) return thrd_nomem;
  pthread_t t;
  if (int err = pthread_create(&t, nullptr, Trampoline, start); err != 0) {
    delete start;
    return err == EAGAIN ? thrd_nomem : thrd_error;
  }
  *thr = t;
  return thrd_success;
}

namespace {

int FromErrno(int err) {
  switch (err) {
    case 0:
      return thrd_success;
    case EBUSY:
      return thrd_busy;
    case ETIMEDOUT:
      return thrd_timedout;
    case ENOMEM:
      return thrd_nomem;
    default:
      return thrd_error;
  }
}

pthread_mutex_t* M(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* C(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }

static_assert(sizeof(mtx_t) >= sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) >= sizeof(pthread_cond_t));

}  // namespace

extern "C" {

int thrd_join(thrd_t thr, int* res) {
  void* out = nullptr;
  if (pthread_join(thr, &out) != 0) return thrd_error;
  if (res != nullptr) *res = static_cast<int>(reinterpret_cast<intptr_t>(out));
  return thrd_success;
}

int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int err = pthread_mutex_init(M(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return FromErrno(err);
}
int mtx_lock(mtx_t* m) { return FromErrno(pthread_mutex_lock(M(m))); }
int mtx_trylock(mtx_t* m) { return FromErrno(pthread_mutex_trylock(M(m))); }
int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict t) {
  return FromErrno(pthread_mutex_timedlock(M(m), t));
}
int mtx_unlock(mtx_t* m) { return FromErrno(pthread_mutex_unlock(M(m))); }
void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(M(m)); }

int cnd_init(cnd_t* c) { return FromErrno(pthread_cond_init(C(c), nullptr)); }
int cnd_signal(cnd_t* c) { return FromErrno(pthread_cond_signal(C(c))); }
int cnd_broadcast(cnd_t* c) { return FromErrno(pthread_cond_broadcast(C(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) { return FromErrno(pthread_cond_wait(C(c), M(m))); }
int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict t) {
  return FromErrno(pthread_cond_timedwait(C(c), M(m), t));
}
void cnd_destroy(cnd_t* c) { pthread_cond_destroy(C(c)); }

}  // extern "C"
