/* Per-frame cost of the SFrame core (sframe::Encryptor / sframe::Decryptor
 * over a KeyRing) for every cipher suite, next to raw OpenSSL EVP AES-GCM
 * doing the same AEAD work the plain way. After the runs it prints
 * "our cost / raw cost" for the GCM suites against the targets
 * (at most 1.15x at 100 B, at most 1.03x at 30 KB and above).
 *
 * Three kinds of benchmark:
 *   sframe_{encrypt,decrypt}/<suite>/<bytes>  the core API, every suite
 *   evp_{encrypt,decrypt}/AES-<n>-GCM/<bytes> the raw EVP baseline
 *   paired_{encrypt,decrypt}/<suite>/<bytes>  ours and raw in alternating
 *       short blocks; its `ratio` counter is the median of per-block
 *       ratios, which stays steady on a shared machine where separate runs
 *       drift apart.
 *   paired-params_{encrypt,decrypt}/<suite>/<bytes>  the same against a raw
 *       side that passes the tag as an OSSL_PARAM (see TagCall). A target
 *       counts as met only when both paired ratios meet it.
 *
 * Speed targets live here only; nothing in the test suite asserts timing.
 *
 *   sframe-crypto-bench --benchmark_repetitions=5 \
 *       --benchmark_enable_random_interleaving=true */

#include <gst/sframe/core/cipher.h>
#include <gst/sframe/core/keyring.h>

#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace {

using sframe::ByteView;
using sframe::CipherSuite;
using sframe::Status;

const size_t kSizes[] = {100, 1200, 30000, 200000};

const CipherSuite kSuites[] = {
  CipherSuite::aes_128_ctr_hmac_sha256_80,
  CipherSuite::aes_128_ctr_hmac_sha256_64,
  CipherSuite::aes_128_ctr_hmac_sha256_32,
  CipherSuite::aes_128_gcm_sha256_128,
  CipherSuite::aes_256_gcm_sha512_128,
};

constexpr uint64_t kKeyId = 1;

/* sframeenc starts a static key's counter at the wall clock in microseconds;
 * starting there gives the header (and so the AAD) its real length. */
constexpr uint64_t kFirstCounter = 1700000000000000;

/* Decrypt inputs cycle through a pool this big (at least kMinPoolFrames
 * frames), so both sides read ciphertexts from the same cache level and
 * the SFrame side rarely needs its replay window reset. */
constexpr size_t kPoolBytes = 2 * 1024 * 1024;
constexpr size_t kMinPoolFrames = 16;

constexpr size_t kUnlimited = std::numeric_limits<size_t>::max ();

const uint8_t kBaseKey[32] = {
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
  0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

size_t
aad_size ()
{
  return sframe::header_size ({kKeyId, kFirstCounter});
}

std::vector<uint8_t>
random_bytes (size_t n)
{
  std::mt19937 rng (12345);
  std::vector<uint8_t> v (n);
  for (auto & b : v)
    b = static_cast<uint8_t> (rng ());
  return v;
}

/* Frames laid out at a fixed stride in one buffer. */
struct FramePool {
  explicit FramePool (size_t frame_size)
    : stride ((frame_size + sframe::kMaxOverhead + 63) / 64 * 64),
      count (std::max (kMinPoolFrames, kPoolBytes / stride)),
      bytes (stride * count), lengths (count)
  {
  }

  uint8_t *slot (size_t i) { return bytes.data () + i * stride; }
  ByteView frame (size_t i) const { return {bytes.data () + i * stride, lengths[i]}; }

  size_t stride;
  size_t count;
  std::vector<uint8_t> bytes;
  std::vector<size_t> lengths;
};

Status
install_key (sframe::KeyRing & ring, CipherSuite suite)
{
  return ring.add_own_key (suite, kKeyId, {kBaseKey, sizeof kBaseKey}, kFirstCounter);
}

/* ---- Workloads: one frame per step() ----
 *
 * Each has init() (untimed set-up, checked), step() (the timed work, whose
 * result is checked every time so nothing can be skipped and no failure
 * is ever timed), available() (steps left before refill()) and refill()
 * (untimed, e.g. a fresh replay window). */

class SFrameEncrypt {
public:
  SFrameEncrypt (CipherSuite suite, size_t size)
    : suite_ (suite), size_ (size), enc_ (ring_), pt_ (random_bytes (size)),
      out_ (size + sframe::kMaxOverhead)
  {
  }

  Status init ()
  {
    Status s = install_key (ring_, suite_);
    /* The first frame builds the keyed Aead, as EVP_CipherInit_ex does
     * before the loop on the raw side. */
    return s == Status::ok ? step () : s;
  }

  Status step ()
  {
    size_t written = 0;
    Status s = enc_.encrypt (&key_id_, {}, {pt_.data (), size_}, {out_.data (), out_.size ()}, &written);
    return s == Status::ok && written != size_ + header_size_ + tag_size_ () ? Status::crypto_error : s;
  }

  size_t available () const { return kUnlimited; }
  Status refill () { return Status::ok; }

private:
  size_t tag_size_ () const { return sframe::suite_params (suite_)->tag_size; }

  const CipherSuite suite_;
  const size_t size_;
  const uint64_t key_id_ = kKeyId;
  const size_t header_size_ = aad_size ();
  sframe::KeyRing ring_;
  sframe::Encryptor enc_;
  std::vector<uint8_t> pt_;
  std::vector<uint8_t> out_;
};

/* Decrypts a pool of distinct frames made beforehand by a separate sender.
 * The replay window accepts each once; refill() installs a fresh copy of
 * the key and feeds it the primer (the frame just before the pool), so
 * the keyed Aead is rebuilt and the window reset outside the timed part. */
class SFrameDecrypt {
public:
  SFrameDecrypt (CipherSuite suite, size_t size)
    : suite_ (suite), size_ (size), dec_ (ring_), pt_ (random_bytes (size)),
      primer_ (size + sframe::kMaxOverhead), pool_ (size), out_ (size)
  {
  }

  Status init ()
  {
    sframe::KeyRing sender_ring;
    Status s = install_key (sender_ring, suite_);
    sframe::Encryptor enc (sender_ring);
    ByteView plain {pt_.data (), size_};
    if (s == Status::ok)
      s = enc.encrypt (&key_id_, {}, plain, {primer_.data (), primer_.size ()}, &primer_len_);
    for (size_t i = 0; s == Status::ok && i < pool_.count; i++)
      s = enc.encrypt (&key_id_, {}, plain, {pool_.slot (i), pool_.stride}, &pool_.lengths[i]);
    return s == Status::ok ? refill () : s;
  }

  Status step ()
  {
    size_t written = 0;
    sframe::Header header;
    Status s = dec_.decrypt (pool_.frame (next_++), {}, {out_.data (), out_.size ()}, &written, &header);
    return s == Status::ok && written != size_ ? Status::crypto_error : s;
  }

  size_t available () const { return pool_.count - next_; }

  Status refill ()
  {
    ring_.remove_key (kKeyId);
    Status s = install_key (ring_, suite_);
    size_t written = 0;
    sframe::Header header;
    if (s == Status::ok)
      s = dec_.decrypt ({primer_.data (), primer_len_}, {}, {out_.data (), out_.size ()}, &written, &header);
    if (s == Status::ok && (written != size_ || std::memcmp (out_.data (), pt_.data (), size_) != 0))
      s = Status::authentication_failed;
    next_ = 0;
    return s;
  }

private:
  const CipherSuite suite_;
  const size_t size_;
  const uint64_t key_id_ = kKeyId;
  sframe::KeyRing ring_;
  sframe::Decryptor dec_;
  std::vector<uint8_t> pt_;
  std::vector<uint8_t> primer_;
  size_t primer_len_ = 0;
  FramePool pool_;
  size_t next_ = 0;
  std::vector<uint8_t> out_;
};

struct CipherCtxDeleter {
  void operator() (EVP_CIPHER_CTX * ctx) const { EVP_CIPHER_CTX_free (ctx); }
};

/* How the raw side passes the GCM tag. `ctrl` is EVP_CIPHER_CTX_ctrl with
 * EVP_CTRL_GCM_{GET,SET}_TAG, as OpenSSL's documentation shows it; `params`
 * is EVP_CIPHER_CTX_{get,set}_params with the tag as an OSSL_PARAM, the
 * cheaper call the core itself makes (ctrl builds that parameter on every
 * call). Both baselines run, so the ratio cannot be flattered by the
 * choice. */
enum class TagCall { ctrl, params };

/* Raw EVP AES-GCM as a careful application uses it: the key set once in a
 * reused context; per frame only IV, AAD, data, final and tag. */
template <TagCall kTag>
class RawGcm {
public:
  static constexpr int kTagSize = 16;

  bool init (const std::vector<uint8_t> & key, bool encrypt)
  {
    const EVP_CIPHER *cipher = key.size () == 16 ? EVP_aes_128_gcm () : EVP_aes_256_gcm ();
    ctx_.reset (EVP_CIPHER_CTX_new ());
    return ctx_ && EVP_CipherInit_ex (ctx_.get (), cipher, nullptr, key.data (), nullptr, encrypt) == 1;
  }

  /* Writes n bytes of ciphertext then the tag. */
  bool seal (const uint8_t * iv, const uint8_t * aad, int aad_len, const uint8_t * pt, int n, uint8_t * out)
  {
    EVP_CIPHER_CTX *ctx = ctx_.get ();
    int len = 0;
    return EVP_EncryptInit_ex (ctx, nullptr, nullptr, nullptr, iv) == 1 &&
        EVP_EncryptUpdate (ctx, nullptr, &len, aad, aad_len) == 1 &&
        EVP_EncryptUpdate (ctx, out, &len, pt, n) == 1 &&
        EVP_EncryptFinal_ex (ctx, out + len, &len) == 1 && get_tag (ctx, out + n);
  }

  /* Reads n bytes of ciphertext then the tag; true only if authentic. */
  bool open (const uint8_t * iv, const uint8_t * aad, int aad_len, const uint8_t * ct, int n, uint8_t * out)
  {
    EVP_CIPHER_CTX *ctx = ctx_.get ();
    int len = 0;
    return EVP_DecryptInit_ex (ctx, nullptr, nullptr, nullptr, iv) == 1 &&
        EVP_DecryptUpdate (ctx, nullptr, &len, aad, aad_len) == 1 &&
        EVP_DecryptUpdate (ctx, out, &len, ct, n) == 1 &&
        set_tag (ctx, const_cast<uint8_t *> (ct + n)) &&
        EVP_DecryptFinal_ex (ctx, out + len, &len) == 1;
  }

private:
  static bool get_tag (EVP_CIPHER_CTX * ctx, uint8_t * tag)
  {
    if (kTag == TagCall::ctrl)
      return EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1;
    OSSL_PARAM params[] = {OSSL_PARAM_octet_string (OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagSize), OSSL_PARAM_END};
    return EVP_CIPHER_CTX_get_params (ctx, params) == 1;
  }

  static bool set_tag (EVP_CIPHER_CTX * ctx, uint8_t * tag)
  {
    if (kTag == TagCall::ctrl)
      return EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) == 1;
    OSSL_PARAM params[] = {OSSL_PARAM_octet_string (OSSL_CIPHER_PARAM_AEAD_TAG, tag, kTagSize), OSSL_PARAM_END};
    return EVP_CIPHER_CTX_set_params (ctx, params) == 1;
  }

  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx_;
};

/* A distinct 12-byte IV per frame: a fixed prefix and a 64-bit counter. */
void
make_iv (uint64_t counter, uint8_t * iv)
{
  std::memset (iv, 0x5a, 4);
  for (int i = 0; i < 8; i++)
    iv[11 - i] = static_cast<uint8_t> (counter >> (8 * i));
}

template <TagCall kTag>
class EvpEncrypt {
public:
  EvpEncrypt (size_t key_size, size_t size)
    : key_size_ (key_size), size_ (static_cast<int> (size)), pt_ (random_bytes (size)),
      aad_ (random_bytes (aad_size ())), out_ (size + RawGcm<kTag>::kTagSize)
  {
  }

  Status init () { return gcm_.init (random_bytes (key_size_), true) ? Status::ok : Status::crypto_error; }

  Status step ()
  {
    uint8_t iv[12];
    make_iv (counter_++, iv);
    return gcm_.seal (iv, aad_.data (), static_cast<int> (aad_.size ()), pt_.data (), size_, out_.data ())
        ? Status::ok : Status::crypto_error;
  }

  size_t available () const { return kUnlimited; }
  Status refill () { return Status::ok; }

private:
  const size_t key_size_;
  const int size_;
  RawGcm<kTag> gcm_;
  std::vector<uint8_t> pt_;
  std::vector<uint8_t> aad_;
  std::vector<uint8_t> out_;
  uint64_t counter_ = kFirstCounter;
};

/* Same pool geometry as SFrameDecrypt; frame i was sealed with IV i. No
 * window to reset, but refill() comes at the same cadence, so any timer
 * cost of pausing is the same on both sides. */
template <TagCall kTag>
class EvpDecrypt {
public:
  EvpDecrypt (size_t key_size, size_t size)
    : key_size_ (key_size), size_ (static_cast<int> (size)), pt_ (random_bytes (size)),
      aad_ (random_bytes (aad_size ())), pool_ (size), out_ (size)
  {
  }

  Status init ()
  {
    std::vector<uint8_t> key = random_bytes (key_size_);
    RawGcm<kTag> sealer;
    if (!sealer.init (key, true) || !gcm_.init (key, false))
      return Status::crypto_error;
    uint8_t iv[12];
    for (size_t i = 0; i < pool_.count; i++) {
      make_iv (i, iv);
      if (!sealer.seal (iv, aad_.data (), static_cast<int> (aad_.size ()), pt_.data (), size_, pool_.slot (i)))
        return Status::crypto_error;
    }
    Status s = step ();
    if (s == Status::ok && std::memcmp (out_.data (), pt_.data (), pt_.size ()) != 0)
      s = Status::authentication_failed;
    next_ = 0;
    return s;
  }

  Status step ()
  {
    uint8_t iv[12];
    make_iv (next_, iv);
    return gcm_.open (iv, aad_.data (), static_cast<int> (aad_.size ()), pool_.slot (next_++), size_, out_.data ())
        ? Status::ok : Status::authentication_failed;
  }

  size_t available () const { return pool_.count - next_; }

  Status refill ()
  {
    next_ = 0;
    return Status::ok;
  }

private:
  const size_t key_size_;
  const int size_;
  RawGcm<kTag> gcm_;
  std::vector<uint8_t> pt_;
  std::vector<uint8_t> aad_;
  FramePool pool_;
  size_t next_ = 0;
  std::vector<uint8_t> out_;
};

/* ---- Runners ---- */

void
fail (benchmark::State & state, Status s)
{
  state.SkipWithError (sframe::status_name (s));
}

/* One workload alone: Google Benchmark's own timing. */
template <typename Workload>
void
run_single (benchmark::State & state, Workload & w)
{
  Status s = w.init ();
  if (s != Status::ok) {
    fail (state, s);
    return;
  }
  for (auto _ : state) {
    if (w.available () == 0) {
      state.PauseTiming ();
      s = w.refill ();
      state.ResumeTiming ();
      if (s != Status::ok)
        break;
    }
    s = w.step ();
    if (s != Status::ok)
      break;
    benchmark::ClobberMemory ();
  }
  if (s != Status::ok)
    fail (state, s);
}

template <typename Workload, typename... Args>
void
bench_single (benchmark::State & state, size_t size, Args... args)
{
  Workload w (args..., size);
  run_single (state, w);
  state.SetBytesProcessed (static_cast<int64_t> (state.iterations () * size));
}

/* Times `frames` steps back to back, refilling first (untimed) if needed. */
template <typename Workload>
Status
time_block (Workload & w, size_t frames, double * ns)
{
  if (w.available () < frames) {
    Status s = w.refill ();
    if (s != Status::ok)
      return s;
  }
  auto start = std::chrono::steady_clock::now ();
  for (size_t i = 0; i < frames; i++) {
    Status s = w.step ();
    if (s != Status::ok)
      return s;
    benchmark::ClobberMemory ();
  }
  *ns = std::chrono::duration<double, std::nano> (std::chrono::steady_clock::now () - start).count ();
  return Status::ok;
}

double
median (std::vector<double> v)
{
  if (v.empty ())
    return 0;
  std::sort (v.begin (), v.end ());
  size_t n = v.size ();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Enough frames for a block of roughly 100 us, so the clock reads do not
 * matter and both halves of a pair see the same machine. */
size_t
block_frames (size_t size)
{
  return std::clamp<size_t> (300000 / (size + 1000), 2, 256);
}

/* Ours and raw alternately, one block each per iteration, alternating
 * which goes first. Reports per-frame medians and the median ratio. */
template <typename Ours, typename Raw>
void
run_paired (benchmark::State & state, Ours & ours, Raw & raw, size_t size)
{
  Status s = ours.init ();
  if (s == Status::ok)
    s = raw.init ();
  if (s != Status::ok) {
    fail (state, s);
    return;
  }
  const size_t frames = std::min ({block_frames (size), ours.available (), raw.available ()});
  std::vector<double> ours_ns, raw_ns, ratios;
  bool ours_first = true;
  for (auto _ : state) {
    double t_ours = 0, t_raw = 0;
    if (ours_first) {
      s = time_block (ours, frames, &t_ours);
      if (s == Status::ok)
        s = time_block (raw, frames, &t_raw);
    } else {
      s = time_block (raw, frames, &t_raw);
      if (s == Status::ok)
        s = time_block (ours, frames, &t_ours);
    }
    if (s != Status::ok)
      break;
    state.SetIterationTime ((t_ours + t_raw) * 1e-9);
    ours_ns.push_back (t_ours / frames);
    raw_ns.push_back (t_raw / frames);
    ratios.push_back (t_ours / t_raw);
    ours_first = !ours_first;
  }
  if (s != Status::ok) {
    fail (state, s);
    return;
  }
  state.counters["sframe_ns"] = median (ours_ns);
  state.counters["evp_ns"] = median (raw_ns);
  state.counters["ratio"] = median (ratios);
}

template <typename Ours, typename Raw>
void
bench_paired (benchmark::State & state, CipherSuite suite, size_t size)
{
  Ours ours (suite, size);
  Raw raw (sframe::suite_params (suite)->key_size, size);
  run_paired (state, ours, raw, size);
}

/* ---- Registration ---- */

std::string
sframe_name (const char *kind, const char *op, CipherSuite suite, size_t size)
{
  return std::string (kind) + "_" + op + "/" + sframe::suite_params (suite)->name + "/" +
      std::to_string (size);
}

std::string
raw_name (const char *op, size_t key_size, size_t size)
{
  return std::string ("evp_") + op + "/AES-" + std::to_string (key_size * 8) + "-GCM/" +
      std::to_string (size);
}

/* Paired against a raw side that sets the tag through parameters. */
constexpr char kParamsPaired[] = "paired-params";

/* Per size, ours and raw side by side, so even without random interleaving
 * the runs being compared are close together in time. */
void
register_size (CipherSuite suite, size_t size)
{
  const sframe::SuiteParams *p = sframe::suite_params (suite);
  benchmark::RegisterBenchmark (sframe_name ("sframe", "encrypt", suite, size).c_str (),
      bench_single<SFrameEncrypt, CipherSuite>, size, suite);
  benchmark::RegisterBenchmark (sframe_name ("sframe", "decrypt", suite, size).c_str (),
      bench_single<SFrameDecrypt, CipherSuite>, size, suite);
  if (!p->gcm)
    return;
  benchmark::RegisterBenchmark (raw_name ("encrypt", p->key_size, size).c_str (),
      bench_single<EvpEncrypt<TagCall::ctrl>, size_t>, size, p->key_size);
  benchmark::RegisterBenchmark (raw_name ("decrypt", p->key_size, size).c_str (),
      bench_single<EvpDecrypt<TagCall::ctrl>, size_t>, size, p->key_size);
  benchmark::RegisterBenchmark (sframe_name ("paired", "encrypt", suite, size).c_str (),
      bench_paired<SFrameEncrypt, EvpEncrypt<TagCall::ctrl>>, suite, size)->UseManualTime ();
  benchmark::RegisterBenchmark (sframe_name ("paired", "decrypt", suite, size).c_str (),
      bench_paired<SFrameDecrypt, EvpDecrypt<TagCall::ctrl>>, suite, size)->UseManualTime ();
  benchmark::RegisterBenchmark (sframe_name (kParamsPaired, "encrypt", suite, size).c_str (),
      bench_paired<SFrameEncrypt, EvpEncrypt<TagCall::params>>, suite, size)->UseManualTime ();
  benchmark::RegisterBenchmark (sframe_name (kParamsPaired, "decrypt", suite, size).c_str (),
      bench_paired<SFrameDecrypt, EvpDecrypt<TagCall::params>>, suite, size)->UseManualTime ();
}

void
register_all ()
{
  for (size_t size : kSizes) {
    for (CipherSuite suite : kSuites)
      register_size (suite, size);
  }
}

/* ---- Collecting results and the tables ---- */

/* Medians over repetitions of one benchmark. */
struct Summary {
  double cpu = 0;   /* CPU ns per frame */
  std::map<std::string, double> counters;
};

/* The console output as usual, plus every repetition's numbers, so the
 * tables can use medians over repetitions. */
class CollectingReporter : public benchmark::ConsoleReporter {
public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns (const std::vector<Run> & runs) override
  {
    for (const Run & run : runs)
      record (run);
    ConsoleReporter::ReportRuns (runs);
  }

  /* False when `name` did not run (filtered out, or it failed). */
  bool lookup (const std::string & name, Summary * out) const
  {
    auto it = samples_.find (name);
    if (it == samples_.end ())
      return false;
    const Samples & s = it->second;
    if (s.cpu.empty ()) {
      /* --benchmark_report_aggregates_only: only the median is shown. */
      if (!s.has_median)
        return false;
      *out = s.median;
      return true;
    }
    out->cpu = median (s.cpu);
    for (const auto & kv : s.counters)
      out->counters[kv.first] = median (kv.second);
    return true;
  }

private:
  struct Samples {
    std::vector<double> cpu;
    std::map<std::string, std::vector<double>> counters;
    bool has_median = false;
    Summary median;
  };

  void record (const Run & run)
  {
    if (run.error_occurred || run.time_unit != benchmark::kNanosecond)
      return;
    Samples & s = samples_[run.run_name.function_name];
    if (run.run_type == Run::RT_Iteration) {
      s.cpu.push_back (run.GetAdjustedCPUTime ());
      for (const auto & kv : run.counters)
        s.counters[kv.first].push_back (kv.second.value);
    } else if (run.aggregate_name == "median") {
      s.has_median = true;
      s.median.cpu = run.GetAdjustedCPUTime ();
      for (const auto & kv : run.counters)
        s.median.counters[kv.first] = kv.second.value;
    }
  }

  std::map<std::string, Samples> samples_;
};

/* The targets (docs/performance.md): <= 1.15x at 100 B, <= 1.03x at 30 KB and above. */
double
target_for (size_t size)
{
  if (size <= 100)
    return 1.15;
  if (size >= 30000)
    return 1.03;
  return 0;
}

/* printf-style formatting onto the benchmark's output stream. */
void print (std::ostream & out, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

void
print (std::ostream & out, const char *fmt, ...)
{
  char line[256];
  va_list args;
  va_start (args, fmt);
  std::vsnprintf (line, sizeof line, fmt, args);
  va_end (args);
  out << line;
}

/* Every suite's median cost, for the record (no raw baseline for CTR). */
void
print_suite_table (std::ostream & out, const CollectingReporter & reporter)
{
  print (out, "\nSFrame core, median CPU time per frame in ns (MB/s)\n");
  print (out, "%-26s %6s %22s %22s\n", "suite", "bytes", "encrypt", "decrypt");
  for (CipherSuite suite : kSuites) {
    for (size_t size : kSizes) {
      Summary enc, dec;
      if (!reporter.lookup (sframe_name ("sframe", "encrypt", suite, size), &enc) ||
          !reporter.lookup (sframe_name ("sframe", "decrypt", suite, size), &dec))
        continue;
      print (out, "%-26s %6zu %12.1f (%7.1f) %12.1f (%7.1f)\n", sframe::suite_params (suite)->name,
          size, enc.cpu, size * 1e3 / enc.cpu, dec.cpu, size * 1e3 / dec.cpu);
    }
  }
}

/* One row: separate runs (ratio of their medians) and both paired runs.
 * The verdict uses the paired ratios, the ones drift cannot skew, and
 * needs both baselines met. */
void
print_ratio_row (std::ostream & out, const CollectingReporter & reporter, CipherSuite suite,
    const char *op, size_t size, int * missed)
{
  const sframe::SuiteParams *p = sframe::suite_params (suite);
  Summary ours, raw, paired, paired_params;
  bool have_single = reporter.lookup (sframe_name ("sframe", op, suite, size), &ours) &&
      reporter.lookup (raw_name (op, p->key_size, size), &raw);
  bool have_paired = reporter.lookup (sframe_name ("paired", op, suite, size), &paired);
  bool have_params = reporter.lookup (sframe_name (kParamsPaired, op, suite, size), &paired_params);
  if (!have_single && !have_paired && !have_params)
    return;
  char single[48] = "-", pair[48] = "-", params[16] = "-", target_text[16] = "-";
  if (have_single)
    std::snprintf (single, sizeof single, "%9.1f %9.1f %6.3f", ours.cpu, raw.cpu, ours.cpu / raw.cpu);
  double worst = 0;
  if (have_paired) {
    worst = paired.counters["ratio"];
    std::snprintf (pair, sizeof pair, "%9.1f %9.1f %6.3f", paired.counters["sframe_ns"],
        paired.counters["evp_ns"], worst);
  }
  if (have_params) {
    double ratio = paired_params.counters["ratio"];
    std::snprintf (params, sizeof params, "%6.3f", ratio);
    worst = std::max (worst, ratio);
  }
  double target = target_for (size);
  const char *verdict = "";
  if (target > 0 && (have_paired || have_params)) {
    std::snprintf (target_text, sizeof target_text, "<=%.2f", target);
    verdict = worst <= target ? "met" : "MISSED";
    *missed += worst > target;
  }
  print (out, "%-22s %-7s %6zu  %-26s  %-26s %6s %7s %s\n", p->name, op, size, single, pair, params,
      target_text, verdict);
}

void
print_ratio_table (std::ostream & out, const CollectingReporter & reporter)
{
  print (out, "\nSFrame cost / raw EVP AES-GCM cost per frame (AAD: %zu-byte header), medians.\n"
      "separate: sframe_* and evp_* runs, CPU ns; paired: alternating blocks, real ns;\n"
      "params: paired against raw EVP passing the tag as an OSSL_PARAM.\n", aad_size ());
  print (out, "%-22s %-7s %6s  %-26s  %-26s %6s %7s\n", "", "", "", "---------- separate --------",
      "-------- paired (ctrl) ----", "params", "");
  print (out, "%-22s %-7s %6s  %9s %9s %6s  %9s %9s %6s %6s %7s\n", "suite", "op", "bytes", "sframe",
      "evp", "ratio", "sframe", "evp", "ratio", "ratio", "target");
  int missed = 0;
  for (CipherSuite suite : kSuites) {
    if (!sframe::suite_params (suite)->gcm)
      continue;
    for (const char *op : {"encrypt", "decrypt"}) {
      for (size_t size : kSizes)
        print_ratio_row (out, reporter, suite, op, size, &missed);
    }
  }
  print (out, "targets missed (paired ratio): %d\n", missed);
  out.flush ();
}

}  // namespace

int
main (int argc, char **argv)
{
  register_all ();
  benchmark::Initialize (&argc, argv);
  if (benchmark::ReportUnrecognizedArguments (argc, argv))
    return 1;
  /* Colour only on a terminal, so logs (meson test --benchmark) stay clean. */
  CollectingReporter reporter (isatty (STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                      : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks (&reporter);
  print_suite_table (reporter.GetOutputStream (), reporter);
  print_ratio_table (reporter.GetOutputStream (), reporter);
  benchmark::Shutdown ();
  return 0;
}
