/* Ed25519 identities: signatures, domain separation, fingerprints, and the
 * key files (PKCS#8 PEM, mode 0600, refusal of loose permissions and of
 * overwriting). Key files live in a fresh temporary folder per test. */
#include <gst/sframe/core/base64url.h>
#include <gst/sframe/keys/identity.h>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

using sframe::ByteView;
using sframe::Identity;
using sframe::Status;
namespace fs = std::filesystem;

namespace {

ByteView
view (const std::vector<uint8_t> & v)
{
  return {v.data (), v.size ()};
}

ByteView
view (const std::string & s)
{
  return {reinterpret_cast<const uint8_t *> (s.data ()), s.size ()};
}

Identity
make_identity ()
{
  Identity id;
  EXPECT_EQ (Identity::generate (&id), Status::ok);
  EXPECT_TRUE (id.valid ());
  return id;
}

std::string
read_text (const std::string & path)
{
  std::ifstream in (path);
  std::stringstream ss;
  ss << in.rdbuf ();
  return ss.str ();
}

mode_t
file_mode (const std::string & path)
{
  struct stat st;
  EXPECT_EQ (stat (path.c_str (), &st), 0) << path;
  return st.st_mode & 07777;
}

class KeyFiles : public ::testing::Test {
protected:
  void SetUp () override
  {
    std::string tmpl = (fs::temp_directory_path () / "sframe-identity-XXXXXX").string ();
    ASSERT_NE (mkdtemp (&tmpl[0]), nullptr);
    dir_ = tmpl;
  }
  void TearDown () override { fs::remove_all (dir_); }
  std::string path (const char *name) const { return (fs::path (dir_) / name).string (); }

  std::string dir_;
};

TEST (Identity, SignAndVerify)
{
  Identity id = make_identity ();
  EXPECT_EQ (id.public_key ().size (), sframe::kEd25519PublicKeySize);
  std::string msg = "join room-1";
  std::vector<uint8_t> sig;
  ASSERT_EQ (id.sign (view (msg), &sig), Status::ok);
  EXPECT_EQ (sig.size (), sframe::kEd25519SignatureSize);
  EXPECT_TRUE (sframe::verify_signature (view (id.public_key ()), view (msg), view (sig)));
  /* The empty message is a message too. */
  ASSERT_EQ (id.sign ({}, &sig), Status::ok);
  EXPECT_TRUE (sframe::verify_signature (view (id.public_key ()), {}, view (sig)));
  EXPECT_FALSE (sframe::verify_signature (view (id.public_key ()), view (msg), view (sig)));
}

TEST (Identity, TamperedMessageSignatureOrKeyRejected)
{
  Identity id = make_identity (), other = make_identity ();
  std::string msg = "hello from device 1";
  std::vector<uint8_t> sig;
  ASSERT_EQ (id.sign (view (msg), &sig), Status::ok);
  for (size_t bit = 0; bit < msg.size () * 8; bit++) {
    std::string bad = msg;
    bad[bit / 8] ^= static_cast<char> (1 << (bit % 8));
    EXPECT_FALSE (sframe::verify_signature (view (id.public_key ()), view (bad), view (sig))) << "bit " << bit;
  }
  for (size_t bit = 0; bit < sig.size () * 8; bit++) {
    auto bad = sig;
    bad[bit / 8] ^= static_cast<uint8_t> (1 << (bit % 8));
    EXPECT_FALSE (sframe::verify_signature (view (id.public_key ()), view (msg), view (bad))) << "bit " << bit;
  }
  EXPECT_FALSE (sframe::verify_signature (view (other.public_key ()), view (msg), view (sig)));
  EXPECT_FALSE (sframe::verify_signature (view (id.public_key ()), view (msg), {sig.data (), 63}));
  EXPECT_FALSE (sframe::verify_signature (view (id.public_key ()), view (msg), {}));
  EXPECT_FALSE (sframe::verify_signature ({id.public_key ().data (), 31}, view (msg), view (sig)));
  msg += '!';
  EXPECT_FALSE (sframe::verify_signature (view (id.public_key ()), view (msg), view (sig)));
}

TEST (Identity, DomainSeparation)
{
  Identity id = make_identity ();
  std::string msg = "room-1 member-7 epoch 3";
  std::vector<uint8_t> hello_sig, plain_sig;
  ASSERT_EQ (id.sign_for ("hello", view (msg), &hello_sig), Status::ok);
  ASSERT_EQ (id.sign (view (msg), &plain_sig), Status::ok);
  ByteView pk = view (id.public_key ());

  EXPECT_TRUE (sframe::verify_signature_for (pk, "hello", view (msg), view (hello_sig)));
  /* Another purpose, a prefix or extension of it, or no purpose at all. */
  EXPECT_FALSE (sframe::verify_signature_for (pk, "welcome", view (msg), view (hello_sig)));
  EXPECT_FALSE (sframe::verify_signature_for (pk, "hell", view (msg), view (hello_sig)));
  EXPECT_FALSE (sframe::verify_signature_for (pk, "hello2", view (msg), view (hello_sig)));
  EXPECT_FALSE (sframe::verify_signature (pk, view (msg), view (hello_sig)));
  EXPECT_FALSE (sframe::verify_signature_for (pk, "hello", view (msg), view (plain_sig)));
  /* Moving bytes between purpose and message changes the input. */
  std::vector<uint8_t> sig_a;
  ASSERT_EQ (id.sign_for ("hel", view (std::string ("lo") + msg), &sig_a), Status::ok);
  EXPECT_FALSE (sframe::verify_signature_for (pk, "hello", view (msg), view (sig_a)));

  /* The documented layout, exactly: "gst-sframe/1 " purpose 0x00 message
   * (Ed25519 is deterministic, so equal inputs give equal signatures). */
  std::string layout = std::string ("gst-sframe/1 hello") + '\0' + msg;
  std::vector<uint8_t> expect;
  ASSERT_EQ (id.sign (view (layout), &expect), Status::ok);
  EXPECT_EQ (hello_sig, expect);

  /* Purposes that would make the prefix ambiguous are refused. */
  std::vector<uint8_t> sig;
  EXPECT_EQ (id.sign_for ("", view (msg), &sig), Status::invalid_argument);
  EXPECT_EQ (id.sign_for (std::string_view ("a\0b", 3), view (msg), &sig), Status::invalid_argument);
  EXPECT_FALSE (sframe::verify_signature_for (pk, "", view (msg), view (hello_sig)));
}

TEST (Identity, FingerprintsStableAndDistinct)
{
  Identity a = make_identity (), b = make_identity ();
  std::string fa = a.fingerprint ();
  ASSERT_EQ (fa.size (), 64u);
  EXPECT_EQ (fa.find_first_not_of ("0123456789abcdef"), std::string::npos);
  EXPECT_EQ (a.short_fingerprint (), fa.substr (0, 16));
  EXPECT_EQ (sframe::fingerprint (view (a.public_key ())), fa);
  Identity copy = a;
  EXPECT_EQ (copy.fingerprint (), fa);
  EXPECT_NE (b.fingerprint (), fa);
  EXPECT_NE (b.short_fingerprint (), a.short_fingerprint ());

  /* Definition: SHA-256 of the 32 raw public key bytes. */
  uint8_t digest[32];
  unsigned int len = 0;
  ASSERT_EQ (EVP_Digest (a.public_key ().data (), 32, digest, &len, EVP_sha256 (), nullptr), 1);
  char hex[65];
  for (int i = 0; i < 32; i++)
    std::snprintf (hex + 2 * i, 3, "%02x", digest[i]);
  EXPECT_EQ (fa, std::string (hex));

  /* Same private key, same identity. */
  Identity from_private;
  std::vector<uint8_t> x;
  ASSERT_TRUE (sframe::base64url_decode ("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", &x));
  sframe::SecureBytes d;
  ASSERT_TRUE (sframe::base64url_decode ("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", &d));
  ASSERT_EQ (Identity::from_private_key (d.view (), &from_private), Status::ok);
  EXPECT_EQ (from_private.public_key (), x);
  EXPECT_EQ (from_private.fingerprint (), sframe::fingerprint (view (x)));

  EXPECT_EQ (sframe::fingerprint ({a.public_key ().data (), 31}), "");
  EXPECT_EQ (Identity::from_private_key ({d.data (), 31}, &from_private), Status::invalid_key);
}

TEST_F (KeyFiles, PrivateKeyPemRoundTrip)
{
  Identity id = make_identity ();
  std::string file = path ("device.key");
  /* umask 0 would make a naive open(..., 0666) world-readable. */
  mode_t old = umask (0);
  auto saved = id.save (file);
  umask (old);
  ASSERT_TRUE (saved.ok ()) << saved.message;
  EXPECT_EQ (file_mode (file), 0600);
  std::string pem = read_text (file);
  EXPECT_EQ (pem.rfind ("-----BEGIN PRIVATE KEY-----\n", 0), 0u) << "PKCS#8 PEM expected";

  Identity loaded;
  auto r = Identity::load (file, &loaded);
  ASSERT_TRUE (r.ok ()) << r.message;
  EXPECT_EQ (loaded.public_key (), id.public_key ());
  std::string msg = "same key, same signature";
  std::vector<uint8_t> s1, s2;
  ASSERT_EQ (id.sign (view (msg), &s1), Status::ok);
  ASSERT_EQ (loaded.sign (view (msg), &s2), Status::ok);
  EXPECT_EQ (s1, s2);

  /* Owner-only read is fine too. */
  ASSERT_EQ (chmod (file.c_str (), 0400), 0);
  EXPECT_TRUE (Identity::load (file, &loaded).ok ());
}

TEST_F (KeyFiles, PrivateKeyWithLoosePermissionsRefused)
{
  Identity id = make_identity ();
  std::string file = path ("loose.key");
  ASSERT_TRUE (id.save (file).ok ());
  std::string pem = read_text (file);
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660, 0610}) {
    ASSERT_EQ (chmod (file.c_str (), mode), 0);
    Identity loaded;
    auto r = Identity::load (file, &loaded);
    EXPECT_EQ (r.status, Status::insecure_permissions) << std::oct << mode;
    EXPECT_FALSE (loaded.valid ());
    EXPECT_NE (r.message.find (file), std::string::npos) << r.message;
    EXPECT_NE (r.message.find ("chmod 600"), std::string::npos) << r.message;
    /* No line of the key file leaks into the message. */
    std::istringstream lines (pem);
    for (std::string line; std::getline (lines, line);) {
      if (line.rfind ("-----", 0) != 0) {
        EXPECT_EQ (r.message.find (line), std::string::npos);
      }
    }
  }
  ASSERT_EQ (chmod (file.c_str (), 0600), 0);
  Identity loaded;
  EXPECT_TRUE (Identity::load (file, &loaded).ok ());
}

TEST_F (KeyFiles, SaveRefusesToOverwriteUnlessAsked)
{
  Identity first = make_identity (), second = make_identity ();
  std::string file = path ("authority.key");
  ASSERT_TRUE (first.save (file).ok ());
  auto r = second.save (file);
  EXPECT_EQ (r.status, Status::already_exists);
  EXPECT_NE (r.message.find (file), std::string::npos);
  Identity loaded;
  ASSERT_TRUE (Identity::load (file, &loaded).ok ());
  EXPECT_EQ (loaded.public_key (), first.public_key ()) << "refused save must leave the file alone";

  /* A symlink in the way is refused as well, not followed. */
  std::string target = path ("elsewhere");
  std::string link = path ("link.key");
  ASSERT_EQ (symlink (target.c_str (), link.c_str ()), 0);
  EXPECT_EQ (second.save (link).status, Status::already_exists);
  EXPECT_FALSE (fs::exists (target));

  ASSERT_TRUE (second.save (file, true).ok ());
  EXPECT_EQ (file_mode (file), 0600);
  ASSERT_TRUE (Identity::load (file, &loaded).ok ());
  EXPECT_EQ (loaded.public_key (), second.public_key ());
  /* The atomic replace left no temporary file behind. */
  size_t entries = 0;
  for (const auto & e : fs::directory_iterator (dir_)) {
    (void) e;
    entries++;
  }
  EXPECT_EQ (entries, 2u);  /* authority.key and link.key */
}

TEST_F (KeyFiles, PublicKeyFilesBothFormats)
{
  Identity id = make_identity ();
  std::string pem_file = path ("device.pub"), b64_file = path ("device.b64");
  ASSERT_TRUE (sframe::save_public_key (pem_file, view (id.public_key ())).ok ());
  ASSERT_TRUE (sframe::save_public_key (b64_file, view (id.public_key ()), sframe::PublicKeyFormat::base64url).ok ());
  EXPECT_EQ (file_mode (pem_file), 0644);
  EXPECT_EQ (read_text (pem_file).rfind ("-----BEGIN PUBLIC KEY-----\n", 0), 0u);
  EXPECT_EQ (read_text (b64_file), sframe::base64url_encode (view (id.public_key ())) + "\n");
  for (const auto & f : {pem_file, b64_file}) {
    std::vector<uint8_t> pk;
    auto r = sframe::load_public_key (f, &pk);
    ASSERT_TRUE (r.ok ()) << r.message;
    EXPECT_EQ (pk, id.public_key ());
  }
  EXPECT_EQ (sframe::save_public_key (pem_file, view (id.public_key ())).status, Status::already_exists);
  EXPECT_EQ (sframe::save_public_key (path ("short.pub"), {id.public_key ().data (), 31}).status,
      Status::bad_format);

  std::vector<uint8_t> pk;
  EXPECT_FALSE (sframe::public_key_from_text ("", &pk));
  EXPECT_FALSE (sframe::public_key_from_text ("not a key", &pk));
  EXPECT_FALSE (sframe::public_key_from_text (sframe::base64url_encode ({id.public_key ().data (), 31}), &pk));
  EXPECT_FALSE (sframe::public_key_from_text (sframe::base64url_encode (view (id.public_key ())) + "=", &pk));
  EXPECT_TRUE (pk.empty ());
  /* A private key is not a public key. */
  ASSERT_TRUE (id.save (path ("device.key")).ok ());
  EXPECT_EQ (sframe::load_public_key (path ("device.key"), &pk).status, Status::bad_format);
}

TEST_F (KeyFiles, LoadRejectsWrongFiles)
{
  Identity loaded;
  EXPECT_EQ (Identity::load (path ("missing.key"), &loaded).status, Status::not_found);
  EXPECT_EQ (Identity::load (dir_, &loaded).status, Status::io_error);

  auto write = [&] (const char *name, const std::string & text) {
    std::string f = path (name);
    std::ofstream (f) << text;
    EXPECT_EQ (chmod (f.c_str (), 0600), 0);
    return f;
  };
  EXPECT_EQ (Identity::load (write ("garbage.key", "hello\n"), &loaded).status, Status::bad_format);
  EXPECT_EQ (Identity::load (write ("empty.key", ""), &loaded).status, Status::bad_format);
  Identity id = make_identity ();
  std::string pub_pem = sframe::public_key_to_text (view (id.public_key ()), sframe::PublicKeyFormat::pem);
  EXPECT_EQ (Identity::load (write ("public.key", pub_pem), &loaded).status, Status::bad_format);

  /* An X25519 key is a fine PKCS#8 key but not an identity. */
  EVP_PKEY *x25519 = EVP_PKEY_Q_keygen (nullptr, nullptr, "X25519");
  ASSERT_NE (x25519, nullptr);
  BIO *bio = BIO_new (BIO_s_mem ());
  ASSERT_EQ (PEM_write_bio_PrivateKey (bio, x25519, nullptr, nullptr, 0, nullptr, nullptr), 1);
  char *data = nullptr;
  long len = BIO_get_mem_data (bio, &data);
  std::string x_pem (data, static_cast<size_t> (len));
  BIO_free (bio);

  /* An encrypted key is refused without prompting for a passphrase. */
  EVP_PKEY *ed = nullptr;
  {
    ed = EVP_PKEY_Q_keygen (nullptr, nullptr, "ED25519");
    ASSERT_NE (ed, nullptr);
  }
  bio = BIO_new (BIO_s_mem ());
  char pass[] = "correct horse";
  ASSERT_EQ (PEM_write_bio_PKCS8PrivateKey (bio, ed, EVP_aes_256_cbc (), pass, sizeof pass - 1, nullptr, nullptr), 1);
  len = BIO_get_mem_data (bio, &data);
  std::string enc_pem (data, static_cast<size_t> (len));
  BIO_free (bio);
  EVP_PKEY_free (x25519);
  EVP_PKEY_free (ed);
  ASSERT_NE (enc_pem.find ("ENCRYPTED PRIVATE KEY"), std::string::npos);

  auto r = Identity::load (write ("x25519.key", x_pem), &loaded);
  EXPECT_EQ (r.status, Status::bad_format);
  EXPECT_NE (r.message.find ("not Ed25519"), std::string::npos) << r.message;
  EXPECT_EQ (Identity::load (write ("encrypted.key", enc_pem), &loaded).status, Status::bad_format);
  EXPECT_FALSE (loaded.valid ());
}

}  // namespace
