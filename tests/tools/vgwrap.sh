#!/bin/sh
# valgrind for `meson test --setup valgrind` (tests/meson.build), which
# sets DW_VALGRIND (the valgrind command line: --leak-check=full,
# --error-exitcode=99, tests/valgrind.supp, ...) and DW_EXEC_WRAPPER
# ("vgwrap.sh --exec").
#
#   vgwrap.sh PROGRAM ARGS...   the setup's exe_wrapper: every test.
#     A C test program runs under valgrind (its report on stderr; exit 99
#     on any error or definite/indirect leak fails the test).
#     A Python driver runs as it is and puts DW_EXEC_WRAPPER in front of
#     each dmarcwatch it starts (tests/tools/dwexec.py), so valgrind sees
#     our code, not the interpreter. Each of those writes its report to a
#     file in a directory made here; when the driver has ended, any
#     report with errors (leaks included) fails the test and is printed,
#     so a dmarcwatch whose exit status the driver does not look at (a
#     background `watch`, a reader loop, a preparatory import) still
#     counts. A process killed by SIGKILL writes no summary: not counted.
#   vgwrap.sh --exec PROGRAM ARGS...   DW_EXEC_WRAPPER: dmarcwatch under
#     valgrind, the report into $DW_VG_LOGDIR when set, else stderr.
set -u
: "${DW_VALGRIND:?set by meson test --setup valgrind}"

if [ "${1:-}" = "--exec" ]; then
	shift
	if [ -n "${DW_VG_LOGDIR:-}" ]; then
		# shellcheck disable=SC2086
		exec $DW_VALGRIND --log-file="$DW_VG_LOGDIR/vg.%p.log" "$@"
	fi
	# shellcheck disable=SC2086
	exec $DW_VALGRIND "$@"
fi

case "$(basename "$1")" in
python*)
	DW_VG_LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/dw-vg.XXXXXX") || exit 1
	# dmarcwatch may run as another user (setpriv, privilege drop
	# happens after valgrind opened its file): anyone may create here.
	chmod 1777 "$DW_VG_LOGDIR"
	export DW_VG_LOGDIR
	"$@"
	rc=$?
	bad=0
	n=0
	for f in "$DW_VG_LOGDIR"/vg.*.log; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		e=$(sed -n 's/.*ERROR SUMMARY: \([0-9][0-9]*\) error.*/\1/p' "$f" |
		    tail -n 1)
		if [ -n "$e" ] && [ "$e" -gt 0 ]; then
			bad=$((bad + 1))
			echo "valgrind: $e error(s) in $(sed -n \
			    's/.*Command: //p' "$f" | head -n 1)" >&2
			cat "$f" >&2
		fi
	done
	echo "valgrind: $n dmarcwatch processes, $bad with errors" >&2
	rm -rf "$DW_VG_LOGDIR"
	if [ "$bad" -gt 0 ]; then
		rc=1
	fi
	exit "$rc" ;;
esac
# shellcheck disable=SC2086
exec $DW_VALGRIND "$@"
