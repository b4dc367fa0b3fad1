#!/usr/bin/env python3
"""Fuzz smoke run: one libFuzzer target for a few seconds, seeded from
samples/. New corpus entries go to a temporary directory (samples/ is only
read). A crash, leak or sanitizer report makes libFuzzer exit non-zero,
and the reproducer is copied into the build dir so the failure can be
replayed: `TARGET crash-file`.

usage: smoke.py TARGET SECONDS SEED_DIR...
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

target, seconds, seeds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
with tempfile.TemporaryDirectory(prefix="dw-fuzz-") as tmp:
    corpus = os.path.join(tmp, "corpus")
    os.mkdir(corpus)
    cmd = [target, f"-max_total_time={seconds}", "-seed=1",
           "-max_len=262144", "-rss_limit_mb=2048", "-timeout=20",
           f"-artifact_prefix={tmp}/", corpus] + seeds
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, errors="replace")
    out = r.stdout
    runs = [l for l in out.splitlines() if l.startswith("Done ") or "#" in l[:12]]
    print(runs[-1] if runs else out[-2000:])
    if r.returncode != 0:
        print(out[-6000:])
        keep = os.path.join(os.getcwd(), "fuzz-artifacts")
        os.makedirs(keep, exist_ok=True)
        for f in glob.glob(os.path.join(tmp, "crash-*") + "") + \
                glob.glob(os.path.join(tmp, "leak-*")) + \
                glob.glob(os.path.join(tmp, "timeout-*")) + \
                glob.glob(os.path.join(tmp, "oom-*")):
            shutil.copy(f, keep)
            print("reproducer:", os.path.join(keep, os.path.basename(f)))
        print("not ok -", os.path.basename(target), "exit", r.returncode)
        sys.exit(1)
    print("ok -", os.path.basename(target))
