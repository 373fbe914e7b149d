#!/usr/bin/env python3
# A TCP proxy on 127.0.0.1 that delays every piece of data by DELAY ms each way: latency for
# loopback measurements (netem is not always there). Bandwidth is not limited.
#   delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS
# E.g. the batch block measurement (tests/unit/hub/hub_batch_test.cpp, DISABLED_BatchThroughput):
#   bench/delay_proxy.py 9101 9100 2 &
#   TIFFIN_BATCH_HUB=127.0.0.1:9100 TIFFIN_BATCH_VIA=http://127.0.0.1:9101 TIFFIN_BATCH_MIB=64 \
#     build/tests/tiffin_unit_tests --gtest_also_run_disabled_tests --gtest_filter='*BatchThroughput*'
import asyncio, sys, time
LISTEN, TARGET, DELAY = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000

async def pump(reader, writer):
    q = asyncio.Queue()
    async def out():
        while True:
            t, data = await q.get()
            if data is None: break
            d = t + DELAY - time.monotonic()
            if d > 0: await asyncio.sleep(d)
            writer.write(data)
            await writer.drain()
        writer.close()
    task = asyncio.create_task(out())
    try:
        while True:
            data = await reader.read(1 << 20)
            if not data: break
            q.put_nowait((time.monotonic(), data))
    finally:
        q.put_nowait((0, None))
        await task

async def handle(r1, w1):
    r2, w2 = await asyncio.open_connection('127.0.0.1', TARGET)
    await asyncio.gather(pump(r1, w2), pump(r2, w1), return_exceptions=True)

async def main():
    server = await asyncio.start_server(handle, '127.0.0.1', LISTEN)
    async with server: await server.serve_forever()
asyncio.run(main())
