#include <gst/sframe/keys/identity.h>

#include <gst/sframe/core/base64url.h>
#include <gst/sframe/core/crypto/crypto.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sframe {

namespace {

constexpr char kDomainPrefix[] = "gst-sframe/1 ";
constexpr size_t kMaxKeyFileSize = 64 * 1024;

std::string
quoted (const std::string & path)
{
  return "'" + path + "'";
}

std::string
errno_text (int err)
{
  return std::strerror (err);
}

std::string
mode_text (mode_t mode)
{
  char buf[8];
  std::snprintf (buf, sizeof buf, "%04o", static_cast<unsigned> (mode & 07777));
  return buf;
}

bool
valid_purpose (std::string_view purpose)
{
  return !purpose.empty () && purpose.find ('\0') == std::string_view::npos;
}

std::vector<uint8_t>
domain_separated (std::string_view purpose, ByteView message)
{
  /* Sized once and filled with memcpy (vector::insert trips a GCC 12
   * -Warray-bounds false positive here). */
  size_t prefix = sizeof kDomainPrefix - 1;
  std::vector<uint8_t> out (prefix + purpose.size () + 1 + message.size);
  std::memcpy (out.data (), kDomainPrefix, prefix);
  std::memcpy (out.data () + prefix, purpose.data (), purpose.size ());
  out[prefix + purpose.size ()] = 0;
  if (message.size)
    std::memcpy (out.data () + prefix + purpose.size () + 1, message.data, message.size);
  return out;
}

/* Reads a whole (small) file into secret-safe memory. `fd` is consumed. */
Result
read_fd (int fd, const std::string & path, SecureBytes * out)
{
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    close (fd);
    return Result (Status::io_error, quoted (path) + " is not a regular file");
  }
  if (st.st_size <= 0 || static_cast<size_t> (st.st_size) > kMaxKeyFileSize) {
    close (fd);
    return Result (Status::bad_format, quoted (path) + " is empty or too large to be a key file");
  }
  SecureBytes buf (static_cast<size_t> (st.st_size));
  size_t got = 0;
  while (got < buf.size ()) {
    ssize_t n = read (fd, buf.data () + got, buf.size () - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += static_cast<size_t> (n);
  }
  close (fd);
  if (got != buf.size ())
    return Result (Status::io_error, "could not read " + quoted (path));
  *out = std::move (buf);
  return {};
}

Result
open_for_read (const std::string & path, int *fd)
{
  *fd = open (path.c_str (), O_RDONLY | O_CLOEXEC);
  if (*fd >= 0)
    return {};
  int err = errno;
  if (err == ENOENT)
    return Result (Status::not_found, quoted (path) + " does not exist");
  return Result (Status::io_error, "cannot open " + quoted (path) + ": " + errno_text (err));
}

bool
write_all (int fd, ByteView content)
{
  size_t done = 0;
  while (done < content.size) {
    ssize_t n = write (fd, content.data + done, content.size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<size_t> (n);
  }
  return true;
}

/* Creates `path` with exactly `mode` (umask cannot loosen or break it).
 * Without `overwrite` the file must not exist (O_EXCL, no symlink
 * following); with it, a temporary sibling is renamed over the old file so
 * no reader ever sees a half-written key. */
Result
write_file (const std::string & path, ByteView content, mode_t mode, bool overwrite)
{
  std::string tmp = path + ".XXXXXX";
  int fd = overwrite ? mkostemp (&tmp[0], O_CLOEXEC)
      : open (path.c_str (), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST)
      return Result (Status::already_exists, quoted (path) +
          " already exists; refusing to overwrite it (remove it first, or ask to overwrite)");
    return Result (Status::io_error, "cannot create " + quoted (path) + ": " + errno_text (err));
  }
  const std::string & written = overwrite ? tmp : path;
  bool ok = fchmod (fd, mode) == 0 && write_all (fd, content) && fsync (fd) == 0;
  int err = errno;
  ok = close (fd) == 0 && ok;
  if (ok && overwrite && rename (tmp.c_str (), path.c_str ()) != 0) {
    err = errno;
    ok = false;
  }
  if (!ok) {
    unlink (written.c_str ());
    return Result (Status::io_error, "cannot write " + quoted (path) + ": " + errno_text (err));
  }
  return {};
}

std::string_view
trim (std::string_view s)
{
  const char *ws = " \t\r\n";
  size_t b = s.find_first_not_of (ws);
  if (b == std::string_view::npos)
    return {};
  size_t e = s.find_last_not_of (ws);
  return s.substr (b, e - b + 1);
}

}  // namespace

Status
Identity::from_private_key (ByteView private_key, Identity * out)
{
  if (!out || private_key.size != kEd25519PrivateKeySize)
    return Status::invalid_key;
  Identity id;
  id.signing_key_ = crypto::ed25519_signing_key (private_key, &id.public_key_);
  if (!id.signing_key_)
    return Status::invalid_key;
  id.private_key_ = SecureBytes (private_key);
  *out = std::move (id);
  return Status::ok;
}

Status
Identity::generate (Identity * out)
{
  if (!out)
    return Status::invalid_argument;
  /* An Ed25519 private key is 32 random bytes (RFC 8032 section 5.1.5). */
  SecureBytes seed (kEd25519PrivateKeySize);
  if (!crypto::random_secret_bytes (seed.data (), seed.size ()))
    return Status::crypto_error;
  return from_private_key (seed.view (), out);
}

std::string
Identity::fingerprint () const
{
  return sframe::fingerprint ({public_key_.data (), public_key_.size ()});
}

std::string
Identity::short_fingerprint () const
{
  return sframe::short_fingerprint ({public_key_.data (), public_key_.size ()});
}

Status
Identity::sign (ByteView message, std::vector<uint8_t> * signature) const
{
  if (!valid () || !signature || !signing_key_)
    return Status::invalid_argument;
  std::vector<uint8_t> sig (kEd25519SignatureSize);
  if (!crypto::ed25519_sign (*signing_key_, message, sig.data ()))
    return Status::crypto_error;
  *signature = std::move (sig);
  return Status::ok;
}

Status
Identity::sign_for (std::string_view purpose, ByteView message, std::vector<uint8_t> * signature) const
{
  if (!valid_purpose (purpose))
    return Status::invalid_argument;
  std::vector<uint8_t> input = domain_separated (purpose, message);
  return sign ({input.data (), input.size ()}, signature);
}

bool
verify_signature (ByteView public_key, ByteView message, ByteView signature)
{
  return crypto::ed25519_verify (public_key, message, signature);
}

bool
verify_signature_for (ByteView public_key, std::string_view purpose, ByteView message, ByteView signature)
{
  if (!valid_purpose (purpose))
    return false;
  std::vector<uint8_t> input = domain_separated (purpose, message);
  return verify_signature (public_key, {input.data (), input.size ()}, signature);
}

std::string
fingerprint (ByteView public_key)
{
  if (public_key.size != kEd25519PublicKeySize)
    return {};
  uint8_t digest[crypto::kSha256Size];
  if (!crypto::sha256 (public_key, digest))
    return {};
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < sizeof digest; i++) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

std::string
short_fingerprint (ByteView public_key)
{
  return fingerprint (public_key).substr (0, 16);
}

std::string
public_key_to_text (ByteView public_key, PublicKeyFormat format)
{
  if (!crypto::ed25519_public_key_valid (public_key))
    return {};
  if (format == PublicKeyFormat::base64url)
    return base64url_encode (public_key);
  return crypto::ed25519_public_key_to_pem (public_key);
}

bool
public_key_from_text (std::string_view text, std::vector<uint8_t> * public_key)
{
  text = trim (text);
  if (text.size () > kMaxKeyFileSize)
    return false;
  std::vector<uint8_t> raw;
  if (text.rfind ("-----BEGIN PUBLIC KEY-----", 0) == 0) {
    if (!crypto::ed25519_public_key_from_pem (text, &raw))
      return false;
  } else if (!base64url_decode (text, &raw) || !crypto::ed25519_public_key_valid ({raw.data (), raw.size ()})) {
    return false;
  }
  *public_key = std::move (raw);
  return true;
}

Result
Identity::load (const std::string & path, Identity * out)
{
  int fd = -1;
  Result r = open_for_read (path, &fd);
  if (!r.ok ())
    return r;
  /* fstat the descriptor we read from, so the file checked is the file used. */
  struct stat st;
  bool shared = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) && (st.st_mode & 077) != 0;
  SecureBytes pem;
  r = read_fd (fd, path, &pem);
  if (!r.ok ())
    return r;
  /* A public key given by mistake: the permissions are not the problem. */
  std::vector<uint8_t> public_key;
  if (public_key_from_text ({reinterpret_cast<const char *> (pem.data ()), pem.size ()}, &public_key))
    return Result (Status::bad_format, quoted (path) + " is a public key, where a private key is "
        "needed (the identity file itself, not its .pub)");
  if (shared)
    return Result (Status::insecure_permissions, "private key file " + quoted (path) + " has mode " +
        mode_text (st.st_mode) + ": group or others have access to it, so it is refused; "
        "fix it with: chmod 600 " + quoted (path));
  SecureBytes seed;
  crypto::PrivateKeyPem read = crypto::ed25519_private_key_from_pem (pem.view (), &seed);
  if (read == crypto::PrivateKeyPem::unreadable)
    return Result (Status::bad_format, quoted (path) +
        " is not an unencrypted PKCS#8 PEM private key (\"BEGIN PRIVATE KEY\")");
  if (read == crypto::PrivateKeyPem::not_ed25519)
    return Result (Status::bad_format, quoted (path) + " holds a private key that is not Ed25519");
  if (read != crypto::PrivateKeyPem::ok || from_private_key (seed.view (), out) != Status::ok)
    return Result (Status::bad_format, quoted (path) + " holds an unusable Ed25519 private key");
  return {};
}

Result
Identity::save (const std::string & path, bool overwrite) const
{
  if (!valid ())
    return Result (Status::bad_format, "no key to write to " + quoted (path));
  SecureBytes pem = crypto::ed25519_private_key_to_pem (private_key_.view ());
  if (pem.empty ())
    return Result (Status::io_error, "cannot encode the private key for " + quoted (path));
  return write_file (path, pem.view (), 0600, overwrite);
}

Result
save_public_key (const std::string & path, ByteView public_key, PublicKeyFormat format, bool overwrite)
{
  std::string text = public_key_to_text (public_key, format);
  if (text.empty ())
    return Result (Status::bad_format, "not an Ed25519 public key; nothing written to " + quoted (path));
  if (text.back () != '\n')
    text += '\n';
  return write_file (path, {reinterpret_cast<const uint8_t *> (text.data ()), text.size ()}, 0644, overwrite);
}

Result
load_public_key (const std::string & path, std::vector<uint8_t> * public_key)
{
  int fd = -1;
  Result r = open_for_read (path, &fd);
  if (!r.ok ())
    return r;
  SecureBytes content;
  r = read_fd (fd, path, &content);
  if (!r.ok ())
    return r;
  std::string_view text (reinterpret_cast<const char *> (content.data ()), content.size ());
  if (!public_key_from_text (text, public_key))
    return Result (Status::bad_format, quoted (path) +
        " is not an Ed25519 public key (PEM \"BEGIN PUBLIC KEY\" or 32 bytes in base64url)");
  return {};
}

}  // namespace sframe
