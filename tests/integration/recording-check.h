/* Looking into what an SFU recorded: whether bytes of the sender's
 * encoded frames appear in it, and whether decoding it gives back the
 * source picture or tone. For the Janus recording test, with a plaintext
 * publisher as the control that shows each check can fail. */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sframe_test {

using Bytes = std::vector<uint8_t>;

/* The files of `dir` whose names start with `prefix`, in name order, read
 * whole (a multifilesink's frames). */
std::vector<Bytes> read_files (const std::string & dir, const std::string & prefix);
Bytes read_file (const std::string & path);
/* The names in `dir`, space separated (for failure messages). */
std::string list_dir (const std::string & dir);
/* Runs a program (found on PATH) to its end; its exit status, and its
 * output in *output when given. */
int run_program (const std::vector<std::string> & argv, std::string * output = nullptr);

/* How many `chunk`-byte pieces of the frames' bodies (everything after
 * the first `skip` bytes of each, which may legitimately be clear) occur
 * anywhere in `haystack`. Pieces of one repeated byte are left out: they
 * say nothing about who wrote them. */
struct ChunkSearch {
  size_t chunks = 0;
  size_t found = 0;
  double fraction () const { return chunks ? double (found) / double (chunks) : 0; }
};
ChunkSearch find_frame_chunks (const std::vector<Bytes> & frames, size_t skip, const Bytes & haystack,
    size_t chunk = 12);

/* Runs a launch line ending in `appsink name=out` to its end (EOS or an
 * error: a decoder fed ciphertext may give up) and returns every buffer. */
std::vector<Bytes> pull_all (const std::string & launch, std::string * error_note);

/* Peak signal-to-noise ratio of two equally sized 8-bit planes, in dB
 * (99 for identical ones). */
double psnr (const Bytes & a, const Bytes & b);

/* The share of the signal's energy at `hz` (mono float samples at `rate`,
 * analysed in 100 ms blocks): about 1 for a pure tone, about 0 for noise
 * or another tone; 0 for silence. */
double tone_fraction (const std::vector<float> & samples, int rate, double hz);

}  // namespace sframe_test
