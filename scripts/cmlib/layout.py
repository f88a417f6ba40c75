"""Where the tools find what they read, in the two places they run from:

- a checkout of the repository: scripts/, the Redis scripts in
  ngx_module/lua/, build/cm-check (made with "make tools");
- the Debian package: /usr/share/nginx-comment-moderation/ holds scripts/
  and lua/, /usr/bin/cm-rules etc. are symlinks into scripts/ and cm-check
  is /usr/bin/cm-check.

$CM_LUA_DIR and $CM_CHECK name other places in both."""

import os
import shutil

# realpath: the commands are reached through symlinks in /usr/bin
TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
CHECKOUT = (os.path.isfile(os.path.join(TOP, "Makefile"))
            and os.path.isdir(os.path.join(TOP, "ngx_module")))
BUILT_CM_CHECK = os.path.join(TOP, "build", "cm-check")


def lua_dir():
    """The folder of the module's Redis scripts (*.lua)."""
    if os.environ.get("CM_LUA_DIR"):
        return os.environ["CM_LUA_DIR"]
    if CHECKOUT:
        return os.path.join(TOP, "ngx_module", "lua")
    return os.path.join(TOP, "lua")


def installed_cm_check():
    """cm-check of an installation: on PATH, else the package's."""
    return shutil.which("cm-check") or "/usr/bin/cm-check"
