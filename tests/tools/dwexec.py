"""How the Python tests start dmarcwatch: cmd(exe) is the argv prefix.

DW_EXEC_WRAPPER (a space-separated command prefix, shell-quoted words
allowed) is put in front of the binary: `meson test --setup valgrind`
sets it to the valgrind command line (see tests/meson.build). Unset or
empty: the binary alone.

scale(seconds) is how long to wait for something dmarcwatch does: the
seconds times DW_TIMEOUT_MULT, which the valgrind setup sets to its
timeout multiplier (valgrind runs our code 20-50 times slower). Unset: 1.
"""
import os
import shlex


def wrapper():
    return shlex.split(os.environ.get("DW_EXEC_WRAPPER", ""))


def cmd(exe):
    """[wrapper..., exe]: extend it with the arguments."""
    return wrapper() + [exe]


def mult():
    try:
        return max(1, int(os.environ.get("DW_TIMEOUT_MULT", "1")))
    except ValueError:
        return 1


def scale(seconds):
    """seconds, stretched when dmarcwatch runs under valgrind."""
    return seconds * mult()
