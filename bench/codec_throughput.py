"""Row <-> text codec throughput (rows/s) on a synthetic 10-column table.

Usage: python bench/codec_throughput.py [n_rows]
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from samplegen.codec import RowCodec
from samplegen.schema import infer_schema


def table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cities = ["Sanya", "Beijing", "Shanghai", "Chengdu, Sichuan", "Lhasa", "NaN"]
    return pd.DataFrame({
        "user_age": rng.choice(["18-24", "25-34", "35-44", "45+"], n),
        "user_city": rng.choice(cities, n),
        "member": rng.choice(["gold", "silver", "none"], n),
        "item_category": rng.choice(["hotel", "flight", "cruise", "ski trip", "visa"], n),
        "price": np.round(rng.lognormal(6, 1, n), 2),
        "star": rng.choice(["3-star", "4-star", "5-star"], n),
        "hour": rng.integers(0, 24, n).astype(float),
        "platform": rng.choice(["ios", "android", "web"], n),
        "click": rng.integers(0, 2, n),
        "purchase": rng.integers(0, 2, n),
    })


def main(n: int = 10_000) -> None:
    df = table(n)
    df.loc[df["purchase"] == 1, "click"] = 1
    schema = infer_schema(df)
    df = schema.coerce(df)
    print(f"{'format':<8}{'op':<22}{'rows':>8}{'seconds':>10}{'rows/s':>12}")
    for fmt in ("great", "json"):
        codec = RowCodec(schema, fmt=fmt)
        rows = df.to_dict("records")
        for op, fn in [
            ("encode (per row)", lambda c=codec, r=rows: [c.encode(x) for x in r]),
            ("encode_frame", lambda c=codec: c.encode_frame(df)),
            ("encode_frame shuffle", lambda c=codec: c.encode_frame(df, shuffle=True, rng=0)),
        ]:
            t = time.perf_counter()
            texts = fn()
            dt = time.perf_counter() - t
            print(f"{fmt:<8}{op:<22}{n:>8}{dt:>10.3f}{n / dt:>12,.0f}")
        t = time.perf_counter()
        back, rejects = codec.decode_many(texts)
        dt = time.perf_counter() - t
        assert not rejects and len(back) == n
        print(f"{fmt:<8}{'decode_many':<22}{n:>8}{dt:>10.3f}{n / dt:>12,.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
