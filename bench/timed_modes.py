"""The command line both sharded bench scripts share: `make DIR` (untimed), or `MODE SRC OUT` timed in this process
(interpreter start and imports excluded), printed as one JSON line {"seconds", "maxrss_bytes"}."""
import json
import resource
import sys
import time


def main(make, modes):
    mode = sys.argv[1]
    if mode == "make":
        make(sys.argv[2])
        return
    t0 = time.perf_counter()
    modes[mode](sys.argv[2], sys.argv[3])
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
