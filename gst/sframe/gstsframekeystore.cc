#include <gst/sframe/gstsframekeystore.h>

#include <gst/sframe/core/keyring.h>
#include <gst/sframe/core/random.h>

#include <cstring>
#include <atomic>
#include <map>
#include <mutex>
#include <string>

GST_DEBUG_CATEGORY_STATIC (gst_sframe_key_store_debug);
#define GST_CAT_DEFAULT gst_sframe_key_store_debug

struct KeyOwner {
  std::string member_id;
  std::string display_name;
  std::string fingerprint;
};

struct GstSFrameKeyStorePrivate {
  std::string room;
  sframe::KeyRing ring;
  std::mutex owners_lock;
  std::map<guint64, KeyOwner> owners;   /* by key id; only installed keys */
  std::atomic<guint64> owners_generation {0};   /* bumped with owners, under its lock */

  void forget_owner (guint64 key_id)
  {
    std::lock_guard<std::mutex> hold (owners_lock);
    if (owners.erase (key_id))
      owners_generation++;
  }
};

struct _GstSFrameKeyStore {
  GstObject parent;
  GstSFrameKeyStorePrivate *priv;
};

G_DEFINE_TYPE_WITH_CODE (GstSFrameKeyStore, gst_sframe_key_store, GST_TYPE_OBJECT,
    GST_DEBUG_CATEGORY_INIT (gst_sframe_key_store_debug, "sframekeystore", 0,
        "SFrame key store"));

G_DEFINE_QUARK (gst-sframe-key-store-error-quark, gst_sframe_key_store_error);

enum {
  SIGNAL_KEY_EXHAUSTED,
  LAST_SIGNAL,
};
static guint signals[LAST_SIGNAL];

static void
gst_sframe_key_store_finalize (GObject * object)
{
  auto self = GST_SFRAME_KEY_STORE (object);
  delete self->priv;  /* the ring wipes every key it held */
  G_OBJECT_CLASS (gst_sframe_key_store_parent_class)->finalize (object);
}

static void
gst_sframe_key_store_class_init (GstSFrameKeyStoreClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = gst_sframe_key_store_finalize;
  signals[SIGNAL_KEY_EXHAUSTED] = g_signal_new ("key-exhausted", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST, 0, nullptr, nullptr, nullptr, G_TYPE_NONE, 1, G_TYPE_UINT64);
}

static void
gst_sframe_key_store_init (GstSFrameKeyStore * self)
{
  self->priv = new GstSFrameKeyStorePrivate ();
  /* The ring lives inside the store, so it never outlives `self`. */
  self->priv->ring.set_exhaustion_listener ([self] (uint64_t key_id) {
    GST_WARNING_OBJECT (self, "room %s: key %" G_GUINT64_FORMAT " has used its last counter",
        self->priv->room.c_str (), (guint64) key_id);
    g_signal_emit (self, signals[SIGNAL_KEY_EXHAUSTED], 0, (guint64) key_id);
  });
}

GstSFrameKeyStore *
gst_sframe_key_store_new (const gchar * room)
{
  auto self = GST_SFRAME_KEY_STORE (g_object_new (GST_TYPE_SFRAME_KEY_STORE, nullptr));
  gst_object_ref_sink (self);
  self->priv->room = room ? room : GST_SFRAME_DEFAULT_ROOM;
  return self;
}

const gchar *
gst_sframe_key_store_get_room (GstSFrameKeyStore * store)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), nullptr);
  return store->priv->room.c_str ();
}

sframe::KeyRing &
gst_sframe_key_store_get_ring (GstSFrameKeyStore * store)
{
  return store->priv->ring;
}

static gboolean
check_key_size (guint64 key_id, const guint8 * key, gsize key_len, GError ** error)
{
  if (key && key_len >= 16 && key_len <= 64)
    return TRUE;
  g_set_error (error, GST_SFRAME_KEY_STORE_ERROR, GST_SFRAME_KEY_STORE_ERROR_INVALID_KEY,
      "key %" G_GUINT64_FORMAT ": a base key must be 16 to 64 bytes", key_id);
  return FALSE;
}

static gboolean
check_status (sframe::Status status, guint64 key_id, GError ** error)
{
  if (status == sframe::Status::ok)
    return TRUE;
  g_set_error (error, GST_SFRAME_KEY_STORE_ERROR, GST_SFRAME_KEY_STORE_ERROR_INVALID_KEY,
      "key %" G_GUINT64_FORMAT ": %s", key_id, sframe::status_name (status));
  return FALSE;
}

static sframe::CipherSuite
core_suite (GstSFrameCipherSuite suite)
{
  return static_cast<sframe::CipherSuite> (suite);
}

gboolean
gst_sframe_key_store_add_key (GstSFrameKeyStore * store, GstSFrameCipherSuite suite,
    guint64 key_id, const guint8 * key, gsize key_len, GError ** error)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  if (!check_key_size (key_id, key, key_len, error) ||
      !check_status (store->priv->ring.add_key (core_suite (suite), key_id, {key, key_len}), key_id, error))
    return FALSE;
  GST_DEBUG_OBJECT (store, "room %s: key %" G_GUINT64_FORMAT " installed",
      store->priv->room.c_str (), key_id);
  return TRUE;
}

gboolean
gst_sframe_key_store_add_static_key (GstSFrameKeyStore * store, GstSFrameCipherSuite suite,
    const guint8 * key, gsize key_len, guint64 * handle, GError ** error)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  uint64_t id = 0;
  if (!check_key_size (0, key, key_len, error) ||
      !check_status (store->priv->ring.add_static_key (core_suite (suite), {key, key_len}, &id), 0, error))
    return FALSE;
  if (handle)
    *handle = id;
  GST_DEBUG_OBJECT (store, "room %s: static key %" G_GUINT64_FORMAT " installed",
      store->priv->room.c_str (), (guint64) id);
  return TRUE;
}

gboolean
gst_sframe_key_store_remove_static_key (GstSFrameKeyStore * store, guint64 handle)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  return store->priv->ring.remove_static_key (handle);
}

gboolean
gst_sframe_key_store_generate_sender_key (GstSFrameKeyStore * store, GstSFrameCipherSuite suite,
    guint64 key_id, guint8 * key_out, gsize key_len, GError ** error)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  if (!check_key_size (key_id, key_out, key_len, error))
    return FALSE;
  sframe::SecureBytes key (key_len);
  if (!sframe::random_bytes (key.data (), key.size ())) {
    g_set_error (error, GST_SFRAME_KEY_STORE_ERROR, GST_SFRAME_KEY_STORE_ERROR_FAILED,
        "key %" G_GUINT64_FORMAT ": the random generator failed", key_id);
    return FALSE;
  }
  auto & ring = store->priv->ring;
  if (!check_status (ring.add_own_key (core_suite (suite), key_id, key.view ()), key_id, error) ||
      !check_status (ring.set_sender (key_id), key_id, error))
    return FALSE;
  memcpy (key_out, key.data (), key_len);
  GST_DEBUG_OBJECT (store, "room %s: sending with new key %" G_GUINT64_FORMAT,
      store->priv->room.c_str (), key_id);
  return TRUE;
}

gboolean
gst_sframe_key_store_start_sender_session (GstSFrameKeyStore * store, GstSFrameCipherSuite suite,
    const guint8 * key, gsize key_len, guint64 * key_id, GError ** error)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  uint64_t id = 0;
  auto & ring = store->priv->ring;
  if (!check_key_size (0, key, key_len, error) ||
      !check_status (ring.start_sender_session (core_suite (suite), {key, key_len}, &id), 0, error) ||
      !check_status (ring.set_sender (id), id, error))
    return FALSE;
  if (key_id)
    *key_id = id;
  GST_DEBUG_OBJECT (store, "room %s: sender session with key id %" G_GUINT64_FORMAT,
      store->priv->room.c_str (), (guint64) id);
  return TRUE;
}

gboolean
gst_sframe_key_store_remove_key (GstSFrameKeyStore * store, guint64 key_id)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  gboolean removed = store->priv->ring.remove_key (key_id);
  store->priv->forget_owner (key_id);
  GST_DEBUG_OBJECT (store, "room %s: key %" G_GUINT64_FORMAT " %s",
      store->priv->room.c_str (), key_id, removed ? "removed" : "was not installed");
  return removed;
}

void
gst_sframe_key_store_clear (GstSFrameKeyStore * store)
{
  g_return_if_fail (GST_IS_SFRAME_KEY_STORE (store));
  store->priv->ring.clear ();
  std::lock_guard<std::mutex> hold (store->priv->owners_lock);
  store->priv->owners.clear ();
  store->priv->owners_generation++;
}

gboolean
gst_sframe_key_store_has_key (GstSFrameKeyStore * store, guint64 key_id)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  return store->priv->ring.find (key_id) != nullptr;
}

gboolean
gst_sframe_key_store_set_key_owner (GstSFrameKeyStore * store, guint64 key_id, const gchar * member_id,
    const gchar * display_name, const gchar * fingerprint)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  g_return_val_if_fail (member_id && display_name && fingerprint, FALSE);
  if (!store->priv->ring.find (key_id))
    return FALSE;
  std::lock_guard<std::mutex> hold (store->priv->owners_lock);
  store->priv->owners[key_id] = KeyOwner {member_id, display_name, fingerprint};
  store->priv->owners_generation++;
  return TRUE;
}

guint64
gst_sframe_key_store_get_owners_generation (GstSFrameKeyStore * store)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), 0);
  return store->priv->owners_generation.load ();
}

GstStructure *
gst_sframe_key_store_get_key_owner (GstSFrameKeyStore * store, guint64 key_id)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), nullptr);
  std::lock_guard<std::mutex> hold (store->priv->owners_lock);
  auto it = store->priv->owners.find (key_id);
  if (it == store->priv->owners.end ())
    return nullptr;
  return gst_structure_new ("sframe-key-owner", "member-id", G_TYPE_STRING, it->second.member_id.c_str (),
      "name", G_TYPE_STRING, it->second.display_name.c_str (), "fingerprint", G_TYPE_STRING,
      it->second.fingerprint.c_str (), nullptr);
}

gboolean
gst_sframe_key_store_set_sender_key (GstSFrameKeyStore * store, guint64 key_id, GError ** error)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  auto status = store->priv->ring.set_sender (key_id);
  if (status == sframe::Status::not_own_key) {
    g_set_error (error, GST_SFRAME_KEY_STORE_ERROR, GST_SFRAME_KEY_STORE_ERROR_NOT_OWN_KEY,
        "key %" G_GUINT64_FORMAT " was added to receive; send with a key from "
        "gst_sframe_key_store_generate_sender_key () or gst_sframe_key_store_start_sender_session ()",
        key_id);
    return FALSE;
  }
  if (status != sframe::Status::ok) {
    g_set_error (error, GST_SFRAME_KEY_STORE_ERROR, GST_SFRAME_KEY_STORE_ERROR_UNKNOWN_KEY,
        "key %" G_GUINT64_FORMAT " is not installed", key_id);
    return FALSE;
  }
  return TRUE;
}

gboolean
gst_sframe_key_store_get_sender_key (GstSFrameKeyStore * store, guint64 * key_id)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), FALSE);
  guint64 id = 0;
  if (!store->priv->ring.sender_key_id (&id))
    return FALSE;
  if (key_id)
    *key_id = id;
  return TRUE;
}

gchar *
gst_sframe_key_store_context_type (const gchar * room)
{
  return g_strconcat (GST_SFRAME_KEY_STORE_CONTEXT_TYPE_PREFIX,
      room ? room : GST_SFRAME_DEFAULT_ROOM, nullptr);
}

GstContext *
gst_sframe_key_store_make_context (GstSFrameKeyStore * store)
{
  g_return_val_if_fail (GST_IS_SFRAME_KEY_STORE (store), nullptr);
  gchar *type = gst_sframe_key_store_context_type (store->priv->room.c_str ());
  GstContext *context = gst_context_new (type, TRUE);
  g_free (type);
  gst_structure_set (gst_context_writable_structure (context),
      "store", GST_TYPE_SFRAME_KEY_STORE, store, nullptr);
  return context;
}

GstSFrameKeyStore *
gst_sframe_key_store_from_context (GstContext * context)
{
  GstSFrameKeyStore *store = nullptr;
  if (!context || !g_str_has_prefix (gst_context_get_context_type (context),
          GST_SFRAME_KEY_STORE_CONTEXT_TYPE_PREFIX))
    return nullptr;
  gst_structure_get (gst_context_get_structure (context), "store",
      GST_TYPE_SFRAME_KEY_STORE, &store, nullptr);
  return store;
}

gboolean
gst_sframe_key_store_answer_query (GstSFrameKeyStore * store, GstQuery * query)
{
  const gchar *wanted = nullptr;
  if (!store || !gst_query_parse_context_type (query, &wanted))
    return FALSE;
  gchar *type = gst_sframe_key_store_context_type (store->priv->room.c_str ());
  gboolean match = g_strcmp0 (wanted, type) == 0;
  g_free (type);
  if (!match)
    return FALSE;
  GstContext *context = gst_sframe_key_store_make_context (store);
  gst_query_set_context (query, context);
  gst_context_unref (context);
  return TRUE;
}

/* Asks the peers of every pad in one direction. */
static GstSFrameKeyStore *
query_peers (GstElement * element, const gchar * type, GstPadDirection direction)
{
  GstSFrameKeyStore *store = nullptr;
  GList *pads = direction == GST_PAD_SRC ? element->srcpads : element->sinkpads;
  GList *copy = nullptr;
  GST_OBJECT_LOCK (element);
  for (GList * l = pads; l; l = l->next)
    copy = g_list_prepend (copy, gst_object_ref (l->data));
  GST_OBJECT_UNLOCK (element);
  for (GList * l = copy; l && !store; l = l->next) {
    GstQuery *query = gst_query_new_context (type);
    if (gst_pad_peer_query (GST_PAD (l->data), query)) {
      GstContext *context = nullptr;
      gst_query_parse_context (query, &context);
      store = gst_sframe_key_store_from_context (context);
    }
    gst_query_unref (query);
  }
  g_list_free_full (copy, gst_object_unref);
  return store;
}

static GstSFrameKeyStore *
store_set_on (GstElement * element, const gchar * type)
{
  GstContext *context = gst_element_get_context (element, type);
  GstSFrameKeyStore *store = gst_sframe_key_store_from_context (context);
  if (context)
    gst_context_unref (context);
  return store;
}

GstSFrameKeyStore *
gst_sframe_key_store_obtain (GstElement * element, const gchar * room)
{
  g_return_val_if_fail (GST_IS_ELEMENT (element), nullptr);
  gchar *type = gst_sframe_key_store_context_type (room);
  GstSFrameKeyStore *store = store_set_on (element, type);
  if (!store)
    store = query_peers (element, type, GST_PAD_SRC);
  if (!store)
    store = query_peers (element, type, GST_PAD_SINK);
  if (!store) {
    /* Bins answer synchronously from the contexts they have cached. */
    gst_element_post_message (element, gst_message_new_need_context (GST_OBJECT (element), type));
    store = store_set_on (element, type);
  }
  if (!store) {
    store = gst_sframe_key_store_new (room);
    GST_DEBUG_OBJECT (element, "created key store for room %s", room);
    GstContext *context = gst_sframe_key_store_make_context (store);
    gst_element_set_context (element, context);
    gst_element_post_message (element, gst_message_new_have_context (GST_OBJECT (element), context));
  }
  g_free (type);
  return store;
}
