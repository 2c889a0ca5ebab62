"""Demo portfolio generator: time to simulate, time to load, rows and peak memory.

Usage::

    python bench/bench_demo.py [--sizes 100000 1000000] [--seed 42] [--url URL] [--dir DIR]

For each size, in a fresh process (so that the peak memory is that size's own):

(a) *generate*: simulate every chunk (``iter_demo_chunks``) without writing, rows counted;
(b) *build*: ``build_demo`` into a new DuckDB file (a temporary folder unless ``--dir``), or
    into ``--url`` (its contract tables are replaced, so use a scratch database), commit and
    version bump included; *load* = build - generate, the writing share;
(c) peak resident memory of the process (``resource.getrusage``, ru_maxrss) and the file size.

Results and the machine they were measured on: docs/demo-data.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.services.demo import build_demo  # noqa: E402
from dashboard.simulator import DemoSpec, iter_demo_chunks  # noqa: E402
from dashboard.storage.engine import make_engine  # noqa: E402


def _peak_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measure(n_customers: int, seed: int, url: str | None, folder: Path) -> dict:
    """Time generation and build of one size in this process."""
    spec = DemoSpec(n_customers=n_customers, seed=seed)
    started = time.perf_counter()
    generated: dict[str, int] = {}
    for chunk in iter_demo_chunks(spec):
        for name, frame in chunk.frames.items():
            generated[name] = generated.get(name, 0) + len(frame)
    generate_seconds = time.perf_counter() - started
    rss_after_generate = _peak_rss_mb()

    path = folder / f"demo_{n_customers}.duckdb"
    target = url or f"duckdb:///{path}"
    engine = make_engine(target)
    started = time.perf_counter()
    written = build_demo(engine, n_customers, seed, replace=True)
    build_seconds = time.perf_counter() - started
    engine.dispose()
    assert written == generated, (written, generated)
    return {
        "customers": n_customers,
        "generate_s": round(generate_seconds, 2),
        "build_s": round(build_seconds, 2),
        "load_s": round(build_seconds - generate_seconds, 2),
        "rows": written,
        "total_rows": sum(written.values()),
        "peak_rss_generate_mb": round(rss_after_generate),
        "peak_rss_mb": round(_peak_rss_mb()),
        "file_mb": round(path.stat().st_size / 2**20) if path.exists() else None,
        "target": "duckdb file" if url is None else make_engine(url).url.get_backend_name(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--url", help="write here instead of a temporary DuckDB file")
    parser.add_argument("--dir", type=Path, help="folder for the DuckDB files")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = parser.parse_args(argv)

    if args.one:
        folder = args.dir or Path(tempfile.mkdtemp(prefix="bench_demo_"))
        print(json.dumps(measure(args.one, args.seed, args.url, folder)))
        return 0

    print(
        f"# {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; "
        f"seed {args.seed}"
    )
    with tempfile.TemporaryDirectory(prefix="bench_demo_") as tmp:
        folder = args.dir or Path(tmp)
        for size in args.sizes:
            command = [sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)]
            command += ["--dir", str(folder)] + (["--url", args.url] if args.url else [])
            result = json.loads(
                subprocess.run(command, check=True, capture_output=True, text=True)
                .stdout.strip()
                .splitlines()[-1]
            )
            print(
                f"{size:>9,} customers: generate {result['generate_s']:6.1f} s, "
                f"build {result['build_s']:6.1f} s (load {result['load_s']:5.1f} s), "
                f"{result['total_rows']:>11,} rows, peak RSS {result['peak_rss_mb']:,} MB "
                f"(generate only {result['peak_rss_generate_mb']:,} MB), "
                f"file {result['file_mb']} MB"
            )
            print("    " + ", ".join(f"{k} {v:,}" for k, v in result["rows"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
