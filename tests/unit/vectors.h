/* Loads the official RFC test vectors from SFRAME_VECTORS_DIR (tests/vectors
 * unless the vectors_dir option says otherwise). */
#pragma once

#include <gst/sframe/core/bytes.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace test {

/* False when the folder or file is absent. */
inline bool
load_vectors (const char *file, nlohmann::json * out, std::string * where)
{
  const char *dir = std::getenv ("SFRAME_VECTORS_DIR");
  *where = std::string (dir ? dir : "(SFRAME_VECTORS_DIR unset)") + "/" + file;
  if (!dir)
    return false;
  std::ifstream in (*where);
  if (!in)
    return false;
  *out = nlohmann::json::parse (in);
  return true;
}

inline std::vector<uint8_t>
unhex (const std::string & hex)
{
  sframe::SecureBytes b = sframe::hex_to_bytes (hex.c_str ());
  return std::vector<uint8_t> (b.data (), b.data () + b.size ());
}

inline sframe::ByteView
view (const std::vector<uint8_t> & v)
{
  return {v.data (), v.size ()};
}

}  // namespace test
