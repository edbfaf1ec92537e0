/* Why hpke::Context keys a per-thread OpenSSL context for every message
 * instead of keeping one keyed context per channel (hpke.cc): the cost of
 * sealing one channel-sized message (AES-128-GCM, 24 bytes of AAD, 64 of
 * plaintext) on each of K channels, in a random order, both ways:
 * - kept: one EVP context per channel, keyed once, only the nonce set per
 *   message;
 * - per message: one EVP context for the thread, keyed with the channel's
 *   key and nonce for each message (what it does now).
 * Between passes 64 MB of other memory is written, as the rest of a room
 * does between two messages of one channel. OpenSSL directly: this
 * measures the choice, not the library.
 *
 *   sframe-aead-context-bench [--channels 1000,40000,80000] [--passes 3]
 *
 * Prints a Markdown table (ns per message, one column per pass);
 * docs/performance.md gives the latest figures. */
#include "bench-common.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct Channel {
  unsigned char key[16];
  unsigned char nonce[12];
  EVP_CIPHER_CTX *kept = nullptr;
};

struct Message {
  unsigned char aad[24] = {};
  unsigned char plaintext[64] = {};
  unsigned char out[64];
  unsigned char tag[16];
};

bool
seal_with (EVP_CIPHER_CTX * ctx, const unsigned char * key, const unsigned char * nonce, Message & m)
{
  int len = 0;
  return EVP_EncryptInit_ex (ctx, nullptr, nullptr, key, nonce) == 1 &&
      EVP_EncryptUpdate (ctx, nullptr, &len, m.aad, sizeof m.aad) == 1 &&
      EVP_EncryptUpdate (ctx, m.out, &len, m.plaintext, sizeof m.plaintext) == 1 &&
      EVP_EncryptFinal_ex (ctx, m.out + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, sizeof m.tag, m.tag) == 1;
}

EVP_CIPHER_CTX *
new_gcm_context (const unsigned char * key)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  if (ctx && EVP_EncryptInit_ex (ctx, EVP_aes_128_gcm (), nullptr, key, nullptr) != 1) {
    EVP_CIPHER_CTX_free (ctx);
    return nullptr;
  }
  return ctx;
}

/* ns per message over `order`: with each channel's kept context, or, if
 * `thread_ctx` is set, with that one context keyed for each message. */
double
time_pass (std::vector<Channel> & channels, const std::vector<size_t> & order, EVP_CIPHER_CTX * thread_ctx)
{
  Message m;
  auto t0 = std::chrono::steady_clock::now ();
  for (size_t i : order) {
    Channel & c = channels[i];
    bool ok = thread_ctx ? seal_with (thread_ctx, c.key, c.nonce, m) : seal_with (c.kept, nullptr, c.nonce, m);
    if (!ok) {
      std::fprintf (stderr, "seal failed\n");
      std::exit (1);
    }
  }
  auto t1 = std::chrono::steady_clock::now ();
  return std::chrono::duration<double, std::nano> (t1 - t0).count () / order.size ();
}

}  // namespace

int
main (int argc, char **argv)
{
  std::vector<int> sizes = {1000, 40000, 80000};
  int passes = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp (argv[i], "--channels") == 0)
      sizes = parse_sizes (argv[i + 1]);
    else if (std::strcmp (argv[i], "--passes") == 0)
      passes = std::max (1, std::atoi (argv[i + 1]));
  }
  std::vector<char> other (64 << 20);
  volatile char sink = 0;   /* so that writing `other` is not optimised away */
  std::printf ("| channels | kept context per channel (ns per message) | one context keyed per message (ns) |\n");
  std::printf ("|---:|---|---|\n");
  for (int count : sizes) {
    size_t n = static_cast<size_t> (std::max (count, 1));
    std::vector<Channel> channels (n);
    for (auto & c : channels) {
      RAND_bytes (c.key, sizeof c.key);
      RAND_bytes (c.nonce, sizeof c.nonce);
      c.kept = new_gcm_context (c.key);
      if (!c.kept) {
        std::fprintf (stderr, "no AES-128-GCM context\n");
        return 1;
      }
    }
    EVP_CIPHER_CTX *thread_ctx = new_gcm_context (channels[0].key);
    if (!thread_ctx) {
      std::fprintf (stderr, "no AES-128-GCM context\n");
      return 1;
    }
    std::vector<size_t> order (n);
    for (size_t i = 0; i < n; i++)
      order[i] = i;
    std::shuffle (order.begin (), order.end (), std::mt19937 (1));
    std::string kept, per_message;
    for (int p = 0; p < passes; p++) {
      std::fill (other.begin (), other.end (), static_cast<char> (p));
      sink = sink + other[p];
      kept += (p ? " / " : "") + std::to_string (static_cast<int> (time_pass (channels, order, nullptr)));
      std::fill (other.begin (), other.end (), static_cast<char> (p + 1));
      sink = sink + other[p];
      per_message += (p ? " / " : "") + std::to_string (static_cast<int> (time_pass (channels, order, thread_ctx)));
    }
    std::printf ("| %zu | %s | %s |\n", n, kept.c_str (), per_message.c_str ());
    for (auto & c : channels)
      EVP_CIPHER_CTX_free (c.kept);
    EVP_CIPHER_CTX_free (thread_ctx);
  }
  return 0;
}
