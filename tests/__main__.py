"""Run the whole suite on the TensorFlow and the JAX backend.

    python -m tests            # both backends
    python -m tests -k freeze  # extra arguments go to pytest

pytest's exit code 5 (no tests collected) counts as a failure.

Both backends run at once. The TensorFlow run has about twice the work of
the JAX run (tracing a tf.function is slower than a JAX trace for the same
model), so it gets more pytest-xdist workers: on 2 cores, 2 for TensorFlow
and 1 for JAX, which keeps both cores busy to the end. A test file stays
on one worker (`--dist loadfile`), so a module's fixtures run once.
KERAS_TL_TEST_WORKERS=tensorflow:N,jax:M overrides the split.
"""

import os
import re
import subprocess
import sys
import tempfile
import time

BACKENDS = ("tensorflow", "jax")


def workers(backend, argv):
    """pytest-xdist workers for `backend` on this machine (1: no xdist)."""
    if any(a.startswith(("-n", "--numprocesses")) for a in argv):
        return 1  # the caller chose
    setting = os.environ.get("KERAS_TL_TEST_WORKERS", "")
    chosen = dict(item.split(":", 1) for item in setting.split(",") if ":" in item)
    if backend in chosen:
        if not chosen[backend].isdigit():
            sys.exit(f"KERAS_TL_TEST_WORKERS: expected e.g. tensorflow:2,jax:1, got {setting!r}")
        return max(1, int(chosen[backend]))
    cores = os.cpu_count() or 1
    tensorflow = max(1, (2 * cores + 2) // 3)  # 2 of 2 cores, 3 of 4, 6 of 8
    return tensorflow if backend == "tensorflow" else max(1, cores - tensorflow)


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
        n = workers(backend, argv)
        xdist = ["-n", str(n), "--dist", "loadfile"] if n > 1 else []
        runs[backend] = (
            subprocess.Popen(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *xdist, *argv],
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
        # pytest's summary line; a child process's stderr can land after it.
        summaries = [
            line
            for line in output.splitlines()
            if re.search(r"\d+ (passed|failed|skipped|error).* in [\d.]+s", line)
        ]
        last = summaries[-1:] or [""]
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
