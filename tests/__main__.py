"""Run the whole suite on the TensorFlow and the JAX backend.

    python -m tests            # both backends
    python -m tests -k freeze  # extra arguments go to pytest

pytest's exit code 5 (no tests collected) counts as a failure.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

BACKENDS = ("tensorflow", "jax")


def main(argv):
    totals = {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    worst = 0
    backends = os.environ.get("KERAS_TL_TEST_BACKENDS", ",".join(BACKENDS))
    # Both backends run at once: each is mostly single-threaded Python.
    runs = {}
    for backend in backends.split(","):
        env = dict(
            os.environ,
            KERAS_BACKEND=backend,
            TF_CPP_MIN_LOG_LEVEL="3",
            # JAX compiles each random initializer per weight shape; the
            # persistent cache makes later runs on this machine skip that.
            JAX_COMPILATION_CACHE_DIR=os.environ.get(
                "JAX_COMPILATION_CACHE_DIR",
                os.path.join(os.path.expanduser("~"), ".cache", "keras_tl_jax"),
            ),
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        )
        log = tempfile.TemporaryFile("w+")
        runs[backend] = (
            subprocess.Popen(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            ),
            log,
            time.time(),
        )
    # Each run's own time, not the time until it is printed.
    ended = {}
    while len(ended) < len(runs):
        for backend, (proc, _, _) in runs.items():
            if backend not in ended and proc.poll() is not None:
                ended[backend] = time.time()
        time.sleep(0.5)
    for backend, (proc, log, start) in runs.items():
        log.seek(0)
        output = log.read()
        print(f"=== pytest on the {backend} backend", flush=True)
        sys.stdout.write(output)
        last = output.strip().splitlines()[-1:] or [""]
        for key in totals:
            found = re.search(rf"(\d+) {key}", last[0])
            if found:
                totals[key] += int(found.group(1))
        code = proc.returncode
        if code == 5:
            print(f"!!! no tests ran on the {backend} backend")
        print(f"=== {backend}: exit {code} in {ended[backend] - start:.0f}s", flush=True)
        worst = max(worst, 1 if code == 5 else code)
    failed = totals["failed"] + totals["error"]
    print(f"{totals['passed']} passed, {failed} failed, {totals['skipped']} skipped")
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
