/* GstSFrameKeyStore: the keys of one room, shared by every sframeenc and
 * sframedec of that room in a pipeline through GstContext (context type
 * "gst.sframe.keystore.<room>"), so one pipeline can hold two rooms.
 *
 * Applications (and the keymanager element) add and remove keys and pick
 * the sender key at any time, also while PLAYING. Each key carries its own
 * cipher suite; a key id names one key. */
#pragma once

#include <gst/gst.h>
#include <gst/sframe/core/api.h>
#include <gst/sframe/gstsframeenums.h>

G_BEGIN_DECLS

#define GST_TYPE_SFRAME_KEY_STORE (gst_sframe_key_store_get_type ())
GST_SFRAME_API
G_DECLARE_FINAL_TYPE (GstSFrameKeyStore, gst_sframe_key_store, GST, SFRAME_KEY_STORE, GstObject)

#define GST_SFRAME_KEY_STORE_CONTEXT_TYPE_PREFIX "gst.sframe.keystore."
#define GST_SFRAME_DEFAULT_ROOM "default"

#define GST_SFRAME_KEY_STORE_ERROR (gst_sframe_key_store_error_quark ())
GST_SFRAME_API GQuark gst_sframe_key_store_error_quark (void);

typedef enum {
  GST_SFRAME_KEY_STORE_ERROR_INVALID_KEY,
  GST_SFRAME_KEY_STORE_ERROR_UNKNOWN_KEY,
  GST_SFRAME_KEY_STORE_ERROR_NOT_OWN_KEY,
  GST_SFRAME_KEY_STORE_ERROR_FAILED,
} GstSFrameKeyStoreError;

GST_SFRAME_API GstSFrameKeyStore *gst_sframe_key_store_new (const gchar * room);
GST_SFRAME_API const gchar *gst_sframe_key_store_get_room (GstSFrameKeyStore * store);

/* Nonces never repeat, by construction (docs/wire-format.md): a key added
 * to receive never encrypts, and the store sends only with keys it drew
 * itself (generate_sender_key) or under a key id it drew for one session
 * (start_sender_session). */

/* Installs a base key (16 to 64 bytes) to decrypt frames of `key_id`.
 * Re-adding identical material keeps the key's replay window. */
GST_SFRAME_API gboolean gst_sframe_key_store_add_key (GstSFrameKeyStore * store,
    GstSFrameCipherSuite suite, guint64 key_id, const guint8 * key, gsize key_len,
    GError ** error);
GST_SFRAME_API gboolean gst_sframe_key_store_remove_key (GstSFrameKeyStore * store,
    guint64 key_id);
GST_SFRAME_API void gst_sframe_key_store_clear (GstSFrameKeyStore * store);
GST_SFRAME_API gboolean gst_sframe_key_store_has_key (GstSFrameKeyStore * store, guint64 key_id);

/* Names the room member who sends under the installed key `key_id`: their
 * member id, display name and device key fingerprint, as their verified
 * join token says (the keymanager records them as keys arrive). Forgotten
 * when the key is removed or the store cleared. FALSE when no such key is
 * installed. */
GST_SFRAME_API gboolean gst_sframe_key_store_set_key_owner (GstSFrameKeyStore * store, guint64 key_id,
    const gchar * member_id, const gchar * display_name, const gchar * fingerprint);
/* A new "sframe-key-owner" structure (member-id, name, fingerprint:
 * strings), or NULL when no owner is known (a static key, an
 * application's own key, a key id never seen). */
GST_SFRAME_API GstStructure *gst_sframe_key_store_get_key_owner (GstSFrameKeyStore * store, guint64 key_id);
/* Changes whenever an owner is recorded or forgotten: who looked an owner
 * up need not look again while it stays the same. */
GST_SFRAME_API guint64 gst_sframe_key_store_get_owners_generation (GstSFrameKeyStore * store);

/* Installs a static base key that decrypts frames of every key id the store
 * has no key for (RFC 9605 derives one key per key id). `handle` (may be
 * NULL) names it for gst_sframe_key_store_remove_static_key(). */
GST_SFRAME_API gboolean gst_sframe_key_store_add_static_key (GstSFrameKeyStore * store,
    GstSFrameCipherSuite suite, const guint8 * key, gsize key_len, guint64 * handle,
    GError ** error);
GST_SFRAME_API gboolean gst_sframe_key_store_remove_static_key (GstSFrameKeyStore * store,
    guint64 handle);

/* Draws a fresh base key of `key_len` bytes (16 to 64) from the CSPRNG,
 * installs it under `key_id` and makes it the sender key. Its bytes are
 * written to `key_out` for the application to hand to the receivers. */
GST_SFRAME_API gboolean gst_sframe_key_store_generate_sender_key (GstSFrameKeyStore * store,
    GstSFrameCipherSuite suite, guint64 key_id, guint8 * key_out, gsize key_len, GError ** error);

/* Sends with a static base key (shared with the receivers, perhaps used
 * before): under a random 64-bit key id drawn for this session, counter 0,
 * made the sender key. `*key_id` is the session's key id. */
GST_SFRAME_API gboolean gst_sframe_key_store_start_sender_session (GstSFrameKeyStore * store,
    GstSFrameCipherSuite suite, const guint8 * key, gsize key_len, guint64 * key_id,
    GError ** error);

/* Switches the sender key to another key the store may send with (from
 * generate_sender_key or start_sender_session); a key added to receive is
 * refused. */
GST_SFRAME_API gboolean gst_sframe_key_store_set_sender_key (GstSFrameKeyStore * store,
    guint64 key_id, GError ** error);
GST_SFRAME_API gboolean gst_sframe_key_store_get_sender_key (GstSFrameKeyStore * store,
    guint64 * key_id);

/* Signal "key-exhausted" (guint64 key_id): a key has used its last counter
 * and encrypts no more frames. Emitted once per key, from the streaming
 * thread that found it; handlers must not block (the keymanager rotates). */

/* GstContext plumbing. */
GST_SFRAME_API gchar *gst_sframe_key_store_context_type (const gchar * room);
GST_SFRAME_API GstContext *gst_sframe_key_store_make_context (GstSFrameKeyStore * store);
/* Returns a new reference, or NULL when the context holds no store. */
GST_SFRAME_API GstSFrameKeyStore *gst_sframe_key_store_from_context (GstContext * context);

/* Finds the store of `room` for `element`: a context already set on it, then
 * its peers (context query), then its bins (need-context); creates and
 * announces (have-context) a new store when nobody has one. New reference. */
GST_SFRAME_API GstSFrameKeyStore *gst_sframe_key_store_obtain (GstElement * element,
    const gchar * room);

/* Answers a GST_QUERY_CONTEXT for `store`; FALSE if it asks for another. */
GST_SFRAME_API gboolean gst_sframe_key_store_answer_query (GstSFrameKeyStore * store,
    GstQuery * query);

G_END_DECLS

#ifdef __cplusplus
namespace sframe {
class KeyRing;
}
/* The core key ring behind a store, for C++ users (the elements). */
GST_SFRAME_API sframe::KeyRing & gst_sframe_key_store_get_ring (GstSFrameKeyStore * store);
#endif
