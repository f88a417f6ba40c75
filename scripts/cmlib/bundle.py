"""Rule sets as bundles of files, the form in which they are published to
Redis (see ngx_module/ngx_http_comment_moderation_rules_bundle.h): the text
of every file under the set's root by its relative path ("default.rules",
"lists/judol-sites.txt"), and the entry the module loads ("default.rules",
or "." for all *.rules directly in the root, in name order).

Checking runs build/cm-check, the module's own parser and compiler, on the
files where they are and then on a copy of the bundle, so that a set that
reads a file the bundle leaves out (outside the root, a dotfile, not UTF-8
text) is refused before it is published, not by every worker after."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from . import layout

MAX_BYTES = 2 * 1024 * 1024
DEFAULT_ENTRY = "default.rules"
TOP = layout.TOP


class BundleError(Exception):
    """The set cannot be bundled, written or checked."""


class ToolError(Exception):
    """cm-check cannot be built or run (not the rules' fault)."""


class Bundle:
    """files: {relative path: text}; entry: a file of it, or "."."""

    def __init__(self, entry, files, root=None, skipped=()):
        self.entry = entry
        self.files = dict(sorted(files.items()))
        self.root = root
        self.skipped = list(skipped)

    def entry_path(self, root):
        return root if self.entry == "." else os.path.join(root, self.entry)


def split_path(path):
    """(root, entry) of a rule file or folder as the editor names it."""
    if os.path.isdir(path):
        entry = DEFAULT_ENTRY if os.path.isfile(os.path.join(path, DEFAULT_ENTRY)) else "."
        return path, entry
    if os.path.isfile(path):
        return os.path.dirname(path) or ".", os.path.basename(path)
    raise BundleError("%s: no such file or directory" % path)


def read_path(path, max_bytes=MAX_BYTES):
    """The bundle of a rule file (every file of its folder) or a folder:
    regular files, symbolic links followed; dotfiles and files that are not
    UTF-8 text or cannot be read are left out (listed in .skipped); so is
    a dotfile, unless it is the entry."""
    root, entry = split_path(path)
    files, skipped, seen, total = {}, [], set(), 0

    for d, dirs, names in os.walk(root, followlinks=True):
        st = os.stat(d)
        if (st.st_dev, st.st_ino) in seen:      # a link back up the tree
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))

        for name in sorted(names):
            full = os.path.join(d, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if name.startswith(".") and rel != entry:
                continue
            if not os.path.isfile(full):
                continue
            try:
                with open(full, "rb") as f:
                    if total + os.fstat(f.fileno()).st_size > max_bytes:
                        raise BundleError(
                            "the files under %s hold more than the %d bytes a "
                            "published rule set may (the last one: %s)"
                            % (root, max_bytes, rel))
                    data = f.read()
                if b"\0" in data:
                    raise UnicodeError
                files[rel] = data.decode("utf-8")
            except (OSError, UnicodeError):
                skipped.append(rel)
                continue
            total += len(data)

    return Bundle(entry, files, root=root, skipped=skipped)


def check_name(name):
    """A file name of a bundle that is safe to write under a folder."""
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or "\0" in name
            or any(p in ("", ".", "..") for p in parts)):
        raise BundleError("unsafe file name in the rule set: %r" % name)
    return parts


def write(bundle, dest, force=False):
    """Writes the files under dest (created if needed).  Refuses a folder
    that has files in it, unless force (then files of the same name are
    replaced, others left alone)."""
    for name in bundle.files:
        check_name(name)
    if bundle.entry != ".":
        check_name(bundle.entry)
    if os.path.isdir(dest) and os.listdir(dest) and not force:
        raise BundleError("%s is not empty (--force writes over it)" % dest)

    for name, text in bundle.files.items():
        full = os.path.join(dest, *name.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(text.encode("utf-8", "surrogateescape"))


# --- checking with cm-check ------------------------------------------------

def cm_check_binary():
    """build/cm-check, made or brought up to date with "make tools" when
    one of its sources is newer; the installed one outside a checkout;
    $CM_CHECK names another binary."""
    if os.environ.get("CM_CHECK"):
        return os.environ["CM_CHECK"]
    if not layout.CHECKOUT:
        binary = layout.installed_cm_check()
        if not os.access(binary, os.X_OK):
            raise ToolError("no cm-check at %s" % binary)
        return binary

    binary = layout.BUILT_CM_CHECK
    if _stale(binary) and shutil.which("make"):
        r = subprocess.run(["make", "-s", "-C", TOP, "--no-print-directory", "tools"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if r.returncode != 0:
            if not os.access(binary, os.X_OK):
                raise ToolError("cannot build cm-check (make tools):\n"
                                + r.stdout.decode("utf-8", "replace").rstrip())
            sys.stderr.write("cm-rules: warning: \"make tools\" failed, checking "
                             "with the cm-check built before\n")
    if not os.access(binary, os.X_OK):
        raise ToolError("no cm-check at %s (run \"make tools\")" % binary)
    return binary


def _stale(binary):
    """The binary is missing or older than scripts/cm-check.c or an engine
    source (as scripts/cm-check judges: the nginx-facing sources, which
    include ngx_http_comment_moderation.h, are not part of it)."""
    try:
        built = os.stat(binary).st_mtime
    except OSError:
        return True
    src = os.path.join(TOP, "ngx_module")
    names = [os.path.join(TOP, "scripts", "cm-check.c")] + [
        os.path.join(src, n) for n in os.listdir(src) if n.endswith((".c", ".h"))]
    for name in names:
        try:
            if os.stat(name).st_mtime <= built:
                continue
            with open(name, encoding="utf-8", errors="replace") as f:
                if '#include "ngx_http_comment_moderation.h"' not in f.read():
                    return True
        except OSError:
            continue
    return False


def cm_check(path, binary):
    """Loads and compiles the rules at path as the module does.  The number
    of rules; BundleError with cm-check's "FILE:LINE: reason" if they are
    broken."""
    try:
        r = subprocess.run([binary, "--rules", path, "--stats"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    except OSError as e:
        raise ToolError("cannot run %s: %s" % (binary, e.strerror)) from None

    err = r.stderr.decode("utf-8", "replace").strip()
    if r.returncode == 2:
        raise BundleError(err or "cm-check refused the rules")
    if r.returncode != 0:
        raise ToolError("cm-check failed (exit status %d): %s" % (r.returncode, err))

    m = re.search(r"^rules: (\d+)", err, re.M)
    return int(m.group(1)) if m else None


def check_path(path, binary=None):
    """Checks a rule file or folder as it will be published: the files where
    they are, then the bundle.  (bundle, number of rules or None)."""
    bundle = read_path(path)
    binary = binary or cm_check_binary()
    root = bundle.root
    nrules = cm_check(bundle.entry_path(root), binary)

    tmp = tempfile.mkdtemp(prefix="cm-rules-")
    try:
        copy = os.path.join(tmp, "set")
        write(bundle, copy)
        try:
            cm_check(bundle.entry_path(copy), binary)
        except BundleError as e:
            # name the editor's files, not the copy's ("tmp" is the root's parent)
            why = str(e).replace(copy, root).replace(tmp, os.path.join(root, os.pardir))
            raise BundleError("%s\n(the rules read a file that is not published "
                              "with them: rule sets may only use files under %s, "
                              "not dotfiles, and UTF-8 text only)" % (why, root)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    return bundle, nrules


# --- the Redis hash of a version ------------------------------------------

FILE_FIELD = "file:"


def to_fields(bundle):
    """field, value, ... for the version's hash: "file:<name>", text."""
    out = []
    for name, text in bundle.files.items():
        out += [FILE_FIELD + name, text.encode("utf-8", "surrogateescape")]
    return out


def from_fields(fields):
    """(Bundle, metadata) from a version's hash as {str: str}: the files, and
    the "@" fields without their "@"."""
    files = {k[len(FILE_FIELD):]: v for k, v in fields.items()
             if k.startswith(FILE_FIELD)}
    meta = {k[1:]: v for k, v in fields.items() if k.startswith("@")}
    return Bundle(meta.get("entry", "."), files), meta
