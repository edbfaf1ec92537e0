#!/usr/bin/env python3
"""Fails when an #include crosses the library's layers the wrong way.

  gst/sframe/core/crypto/  the crypto boundary: its *-openssl.cc files are
                           the only sources that include OpenSSL
  gst/sframe/core/  the SFrame core: only itself
  gst/sframe/keys/  keys and the room protocol: the core, JSON
  gst/sframe/bus/   the signalling bus: the core, libnats
  gst/sframe/janus/ the Janus API: the core, GLib, json-glib, libsoup
  gst/sframe/       the GStreamer library (key store, enums): all three
  plugins/ tools/ pipelines/: the library, never OpenSSL itself

OpenSSL's headers sit on the compiler's default include path, so the build
alone cannot keep them out of an element; this check does. With --public
HEADER..., it also fails when an installed header includes one of the
library's headers that is not installed.

Usage: check-layers.py SOURCE_ROOT [--stamp FILE] [--public HEADER...]
       check-layers.py --self-test   (proves it fails on each kind of
                                      wrong include, in a scratch tree)
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
SOURCE = re.compile(r'\.(c|cc|cpp|h|hpp)$')

LIB = 'gst/sframe/'
# Each layer: the layers of the library it may include (by folder under
# gst/sframe; '' is gst/sframe itself) and the outside prefixes it may not.
GLIB = ('gst/', 'glib', 'gio/', 'gobject/', 'glib-object.h')
RULES = {
    'gst/sframe/core/crypto': ({'core'}, GLIB + ('nats/', 'nlohmann/')),
    'gst/sframe/core': ({'core'}, GLIB + ('nats/', 'nlohmann/', 'openssl/')),
    'gst/sframe/keys': ({'core', 'keys'}, GLIB + ('nats/', 'openssl/')),
    'gst/sframe/bus': ({'core', 'bus'}, GLIB + ('openssl/', 'nlohmann/')),
    'gst/sframe/janus': ({'core', 'janus'}, ('gst/', 'openssl/', 'nats/', 'nlohmann/')),
    'gst/sframe': ({'', 'core', 'keys', 'bus'}, ('openssl/',)),
    'plugins': (None, ('openssl/',)),
    'tools': (None, ('openssl/',)),
    'pipelines': (None, ('openssl/',)),
}


# Only these files include OpenSSL; crypto.h declares what they provide.
CRYPTO_BACKEND = 'gst/sframe/core/crypto'
BACKEND_SUFFIX = '-openssl.cc'


def rule_for(rel):
    """The longest RULES folder that holds `rel`, or None."""
    best = None
    for folder in RULES:
        if rel.startswith(folder + '/') and (best is None or len(folder) > len(best)):
            best = folder
    return best


def library_layer(path):
    """'core', 'keys', 'bus' or '' for a path in gst/sframe; None outside."""
    if not path.startswith(LIB):
        return None
    rest = path[len(LIB):]
    return rest.split('/')[0] if '/' in rest else ''


def included_path(root, rel, quote, target):
    """The include as a path from the root when it names a file of the tree."""
    if quote == '"':
        local = os.path.normpath(os.path.join(os.path.dirname(rel), target))
        if os.path.isfile(os.path.join(root, local)):
            return local
    if target.startswith(LIB) and os.path.isfile(os.path.join(root, target)):
        return target
    return None


def check_file(root, rel, folder):
    layers, banned = RULES[folder]
    if folder == CRYPTO_BACKEND and not rel.endswith(BACKEND_SUFFIX):
        banned = banned + ('openssl/',)
    own = library_layer(rel)
    errors = []
    with open(os.path.join(root, rel), encoding='utf-8', errors='replace') as f:
        text = f.read()
    for m in INCLUDE.finditer(text):
        quote, target = m.group(1), m.group(2)
        line = text.count('\n', 0, m.start()) + 1
        where = f'{rel}:{line}: #include {quote}{target}{">" if quote == "<" else quote}'
        path = included_path(root, rel, quote, target)
        if path is not None:
            layer = library_layer(path)
            if layers is not None and layer is not None and layer not in layers:
                errors.append(f'{where}: {folder}/ may not include gst/sframe/{layer or "(GStreamer library)"}')
            continue
        if target.startswith(LIB) and own is not None:
            errors.append(f'{where}: no such file in the tree')
            continue
        for prefix in banned:
            if target.startswith(prefix) and not target.startswith(LIB):
                errors.append(f'{where}: {folder}/ may not include {prefix}...')
    return errors


def check_public(root, headers):
    """Installed headers may include only installed headers of the library."""
    public = {os.path.relpath(os.path.abspath(h), root) for h in headers}
    errors = []
    for rel in sorted(public):
        with open(os.path.join(root, rel), encoding='utf-8') as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            path = included_path(root, rel, m.group(1), m.group(2))
            if path is not None and path not in public:
                line = text.count('\n', 0, m.start()) + 1
                errors.append(f'{rel}:{line}: installed header includes {path}, which is not installed')
    return errors


def check_tree(root, public=()):
    """Every wrong include under `root`, and how many files were checked."""
    errors = []
    checked = 0
    for top in ('gst', 'plugins', 'tools', 'pipelines'):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if not SOURCE.search(name):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                folder = rule_for(rel)
                if folder is None:
                    continue
                checked += 1
                errors += check_file(root, rel, folder)
    errors += check_public(root, public)
    return errors, checked


# (file, its includes, whether the check must refuse it)
SELF_TEST_CASES = [
    ('gst/sframe/core/crypto/keys-openssl.cc', ['<openssl/evp.h>'], False),
    ('gst/sframe/core/crypto/crypto.h', ['<openssl/evp.h>'], True),
    ('gst/sframe/core/header.cc', ['<openssl/rand.h>'], True),
    ('gst/sframe/core/keyring.cc', ['<glib.h>'], True),
    ('gst/sframe/core/cipher.cc', ['<gst/sframe/keys/token.h>'], True),
    ('gst/sframe/keys/token.cc', ['<openssl/rand.h>'], True),
    ('gst/sframe/keys/hpke.cc', ['<gst/sframe/core/crypto/crypto.h>'], False),
    ('gst/sframe/bus/bus-nats.cc', ['<gst/sframe/keys/token.h>'], True),
    ('gst/sframe/gstsframekeystore.cc', ['<openssl/crypto.h>'], True),
    ('plugins/sframeenc/gstsframeenc.cc', ['<openssl/rand.h>'], True),
    ('pipelines/demo/sframe-demo.cc', ['<gst/sframe/core/random.h>'], False),
    ('gst/sframe/janus/janus-protocol.cc', ['<json-glib/json-glib.h>'], False),
    ('gst/sframe/janus/janus-client.cc', ['<gst/gst.h>'], True),
    ('gst/sframe/janus/janus-client.cc', ['<openssl/rand.h>'], True),
]


def self_test():
    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for target in {'gst/sframe/keys/token.h', 'gst/sframe/core/crypto/crypto.h', 'gst/sframe/core/random.h'}:
            os.makedirs(os.path.join(scratch, os.path.dirname(target)), exist_ok=True)
            open(os.path.join(scratch, target), 'w').close()
        for rel, includes, refused in SELF_TEST_CASES:
            path = os.path.join(scratch, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.writelines(f'#include {inc}\n' for inc in includes)
            errors, _ = check_tree(scratch)
            if bool(errors) != refused:
                print(f'FAIL {rel} with {includes}: {"refused" if errors else "accepted"}')
                failures += 1
            os.remove(path) if not rel.endswith('.h') else open(path, 'w').close()
    print(f'{len(SELF_TEST_CASES)} cases, {failures} failures')
    return 1 if failures else 0


def main(argv):
    if len(argv) == 2 and argv[1] == '--self-test':
        return self_test()
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    root = os.path.abspath(argv[1])
    rest = argv[2:]
    stamp = None
    if rest[:1] == ['--stamp'] and len(rest) >= 2:
        stamp, rest = rest[1], rest[2:]
    public = []
    if rest:
        if rest[0] != '--public':
            sys.stderr.write(__doc__)
            return 2
        public = rest[1:]
    errors, checked = check_tree(root, public)
    for e in errors:
        print(e, file=sys.stderr if stamp else sys.stdout)
    summary = f'{checked} files checked, {len(errors)} wrong includes'
    if errors or not stamp:
        print(summary)
    if errors:
        return 1
    if stamp:
        # The build's record that the check passed (see meson.build).
        with open(stamp, 'w') as f:
            f.write(summary + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
