"""numpy baseline for bench/pso-tensors.ts: the PSO update of paper-notes §5.1 on float32 tensors.

    v' = wV*v + wP*(p - x) + wG*(g - x) + wW*(x - gw)
    x' = x + lam*v'

Five float32 inputs, two float32 outputs (separate arrays): 28 bytes read + written per element.
Two numpy strategies, both in-place ufuncs with out= and preallocated scratch (no temporaries in the timed loop):
  whole   - each ufunc over the whole array (11 passes over memory);
  blocked - the same 11 ufuncs over cache-sized chunks (scratch of one chunk), so memory is streamed once.
The best (lowest median) is reported as the baseline; both are in "variants".

    python bench/pso_tensors_numpy.py ELEMENTS[,ELEMENTS...] [REPEATS] [BLOCK]

Prints one JSON object per size on stdout: {elements, seconds_per_update, gbps, variant, variants, numpy}.
"""
import json
import sys
import time

import numpy as np

BYTES_PER_ELEMENT = 7 * 4  # 5 float32 read + 2 float32 written
WEIGHTS = (0.25, 0.375, 0.25, 0.125)  # wV, wP, wG, wW (sum 1, as after normalisation by C)
STEP_LENGTH = 0.5


def update(x, v, p, g, gw, out_x, out_v, t, w, lam):
    """The update on equal-length views, scratch t of the same length; same operation order as psoStepInto."""
    w_v, w_p, w_g, w_w = w
    np.multiply(v, w_v, out=out_v)
    np.subtract(p, x, out=t)
    np.multiply(t, w_p, out=t)
    np.add(out_v, t, out=out_v)
    np.subtract(g, x, out=t)
    np.multiply(t, w_g, out=t)
    np.add(out_v, t, out=out_v)
    np.subtract(x, gw, out=t)
    np.multiply(t, w_w, out=t)
    np.add(out_v, t, out=out_v)
    np.multiply(out_v, lam, out=out_x)
    np.add(x, out_x, out=out_x)


def update_whole(arrays, scratch, w, lam):
    x, v, p, g, gw, out_x, out_v = arrays
    update(x, v, p, g, gw, out_x, out_v, scratch, w, lam)


def update_blocked(arrays, scratch, w, lam):
    x, v, p, g, gw, out_x, out_v = arrays
    n = x.shape[0]
    block = scratch.shape[0]
    for s in range(0, n, block):
        e = min(s + block, n)
        update(x[s:e], v[s:e], p[s:e], g[s:e], gw[s:e], out_x[s:e], out_v[s:e], scratch[: e - s], w, lam)


def make_arrays(n, seed):
    rng = np.random.default_rng(seed)
    inputs = [rng.random(n, dtype=np.float32) * np.float32(2) - np.float32(1) for _ in range(5)]
    outputs = [np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)]
    return inputs + outputs


def check(block):
    """Both strategies against the straightforward numpy expression (float32 arithmetic), on a small array."""
    n = 3 * block + 17  # not a multiple of the block: exercises the tail
    arrays = make_arrays(n, 7)
    x, v, p, g, gw = arrays[:5]
    w_v, w_p, w_g, w_w = (np.float32(c) for c in WEIGHTS)
    ref_v = w_v * v + w_p * (p - x) + w_g * (g - x) + w_w * (x - gw)
    ref_x = x + np.float32(STEP_LENGTH) * ref_v
    for name, fn, scratch in (("whole", update_whole, np.empty(n, np.float32)), ("blocked", update_blocked, np.empty(block, np.float32))):
        arrays[5].fill(np.nan)
        arrays[6].fill(np.nan)
        fn(arrays, scratch, WEIGHTS, STEP_LENGTH)
        assert np.allclose(arrays[6], ref_v, rtol=1e-6, atol=1e-6), f"{name}: velocity differs from the reference expression"
        assert np.allclose(arrays[5], ref_x, rtol=1e-6, atol=1e-6), f"{name}: position differs from the reference expression"
        assert arrays[5].dtype == np.float32 and arrays[6].dtype == np.float32


def median_seconds(fn, arrays, scratch, repeats):
    fn(arrays, scratch, WEIGHTS, STEP_LENGTH)  # warm-up (also faults in the output pages)
    fn(arrays, scratch, WEIGHTS, STEP_LENGTH)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(arrays, scratch, WEIGHTS, STEP_LENGTH)
        times.append(time.perf_counter() - t0)
    times.sort()
    mid = len(times) // 2
    return times[mid] if len(times) % 2 == 1 else (times[mid - 1] + times[mid]) / 2


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sizes = [int(s) for s in sys.argv[1].split(",")]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    block = int(sys.argv[3]) if len(sys.argv) > 3 else 65536
    check(block)
    for n in sizes:
        arrays = make_arrays(n, 1)
        variants = {}
        for name, fn, scratch in (("whole", update_whole, np.empty(n, np.float32)), ("blocked", update_blocked, np.empty(min(block, n), np.float32))):
            sec = median_seconds(fn, arrays, scratch, repeats)
            variants[name] = {"seconds_per_update": sec, "gbps": BYTES_PER_ELEMENT * n / sec / 1e9}
            del scratch
        best = min(variants, key=lambda k: variants[k]["seconds_per_update"])
        print(json.dumps({
            "elements": n,
            "seconds_per_update": variants[best]["seconds_per_update"],
            "gbps": variants[best]["gbps"],
            "variant": best,
            "variants": variants,
            "block": block,
            "numpy": np.__version__,
        }), flush=True)
        del arrays


if __name__ == "__main__":
    main()
