"""The bare tritonclient arm of `bench_batch.py`: the least a client can do with the same input.

Reads the JSON lines of V2 requests, stacks `--batch-size` rows per request, keeps
`--concurrency` requests in flight with tritonclient's asyncio HTTP client, and decodes each
output; no checks, no retries, nothing written. Run as its own process so its peak memory is
measured like the other arms'.

    python tests/bench/batch_bare.py URL MODEL INPUT --batch-size 100 --concurrency 4
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import tritonclient.http.aio as http_aio


def batches(path: str, size: int) -> Iterator[tuple[str, np.ndarray[Any, Any]]]:
    name, chunk = "", []
    with open(path, "rb") as handle:
        for line in handle:
            tensor = json.loads(line)["inputs"][0]
            name = tensor["name"]
            chunk.append(tensor["data"])
            if len(chunk) == size:
                yield name, np.asarray(chunk, dtype=np.float64)
                chunk = []
    if chunk:
        yield name, np.asarray(chunk, dtype=np.float64)


async def main(url: str, model: str, path: str, size: int, concurrency: int) -> int:
    client = http_aio.InferenceServerClient(url)
    headers = {"content-type": "application/json"}
    source = batches(path, size)
    scored = 0

    async def worker() -> None:
        nonlocal scored
        for name, array in source:
            item = http_aio.InferInput(name, list(array.shape), "FP64")
            item.set_data_from_numpy(array, binary_data=False)
            result = await client.infer(model, [item], headers=headers, outputs=[
                http_aio.InferRequestedOutput("predict", binary_data=False)])
            scored += len(result.as_numpy("predict"))

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await client.close()
    print(scored)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.url, args.model, args.input, args.batch_size,
                              args.concurrency)))
