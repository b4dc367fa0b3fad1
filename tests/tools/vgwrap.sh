#!/bin/sh
# exe_wrapper of `meson test --setup valgrind` (tests/meson.build): C test
# programs run under $DW_EXEC_WRAPPER (the valgrind command line the setup
# sets); the Python drivers run as they are and put $DW_EXEC_WRAPPER in
# front of dmarcwatch themselves (tests/tools/dwexec.py), so valgrind sees
# our code, not the interpreter.
case "$(basename "$1")" in
python*)
	exec "$@" ;;
esac
# shellcheck disable=SC2086
exec $DW_EXEC_WRAPPER "$@"
