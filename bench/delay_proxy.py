#!/usr/bin/env python3
# A TCP proxy on 127.0.0.1 that delays every piece of data by DELAY ms each way: latency for
# loopback measurements (netem is not always there). Bandwidth is not limited.
#   delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS
# E.g. the batch block measurement (tests/unit/hub/hub_batch_test.cpp, DISABLED_BatchThroughput):
#   bench/delay_proxy.py 9101 9100 2 &
#   TIFFIN_BATCH_HUB=127.0.0.1:9100 TIFFIN_BATCH_VIA=http://127.0.0.1:9101 TIFFIN_BATCH_MIB=64 \
#     build/tests/tiffin_unit_tests --gtest_also_run_disabled_tests --gtest_filter='*BatchThroughput*'
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cold_start_bench import relay_main  # the cold-start benchmark's delaying relay, on loopback

if __name__ == "__main__":
    listen, target, delay_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    asyncio.run(relay_main("127.0.0.1", [(listen, target)], delay_ms / 1000))
