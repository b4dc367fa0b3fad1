"""How the Python tests start dmarcwatch: cmd(exe) is the argv prefix.

DW_EXEC_WRAPPER (a space-separated command prefix, shell-quoted words
allowed) is put in front of the binary: `meson test --setup valgrind`
sets it to the valgrind command line (see tests/meson.build). Unset or
empty: the binary alone.
"""
import os
import shlex


def wrapper():
    return shlex.split(os.environ.get("DW_EXEC_WRAPPER", ""))


def cmd(exe):
    """[wrapper..., exe]: extend it with the arguments."""
    return wrapper() + [exe]
