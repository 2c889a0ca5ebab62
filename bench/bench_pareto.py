"""Benchmark: the Pareto/NBD fit against ``lifetimes``' ``ParetoNBDFitter``.

Simulates customers from a Pareto/NBD process (deterministic seed; CDNOW's published
parameters, weeks on a daily grid), then:

- fits this project's :class:`ParetoNBDModel` and ``lifetimes`` 0.11.3's ``ParetoNBDFitter``
  on the same 100,000 customers and prints fit time, log-likelihood (both evaluated with this
  project's closed-form function, so they compare) and parameters side by side;
- times this project's fit alone on 1,000,000 customers.

``lifetimes`` does not import under numpy 2 / pandas 3, so it runs in its own virtualenv
(``LIFETIMES_PYTHON``, default ``/work/venv-lifetimes/bin/python``) in a subprocess; without
that venv the comparison is skipped with a message. Create it with::

    python3.11 -m venv /work/venv-lifetimes
    /work/venv-lifetimes/bin/pip install "setuptools<81" "numpy<2" "pandas<2" "scipy<1.12" \\
        lifetimes==0.11.3

Run from the repository root::

    python bench/bench_pareto.py                      # 100k vs lifetimes, then 1M
    python bench/bench_pareto.py --skip-lifetimes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TRUE_PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}  # alpha, beta in weeks
ACQUISITION_DAYS = 84  # first purchases over 12 weeks, like the CDNOW cohort
OBSERVATION_DAYS = 546  # 78 weeks from the cohort's first day
DEFAULT_LIFETIMES_PYTHON = "/work/venv-lifetimes/bin/python"


def simulate(n_customers: int, seed: int = 20050101) -> dict[str, np.ndarray]:
    """Customers from the Pareto/NBD process, in weeks, times floored to whole days.

    Each customer has a purchase rate ``lambda ~ Gamma(r, alpha)`` and an exponential
    lifetime with rate ``mu ~ Gamma(s, beta)``; over the time alive within the window, d,
    they make x ~ Poisson(lambda d) repeat purchases at uniform times, so the last one is at
    d * Beta(x, 1).
    """
    rng = np.random.default_rng(seed)
    r, alpha, s, beta = (TRUE_PARETO[k] for k in ("r", "alpha", "s", "beta"))
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    dropout_rate = rng.gamma(s, 1.0 / beta, n_customers)
    lifetime = rng.exponential(1.0 / dropout_rate)
    first_day = rng.integers(0, ACQUISITION_DAYS, n_customers)
    age_days = OBSERVATION_DAYS - 1 - first_day
    age = age_days / 7.0
    alive_for = np.minimum(lifetime, age)
    frequency = rng.poisson(rate * alive_for)
    buyers = frequency > 0
    last = np.zeros(n_customers)
    last[buyers] = alive_for[buyers] * rng.beta(frequency[buyers], 1.0)
    recency_days = np.minimum(np.floor(last * 7.0), age_days)
    return {
        "frequency": frequency.astype(np.float64),
        "recency": recency_days / 7.0,
        "T": age,
    }


def lifetimes_worker(data_path: str, out_path: str) -> None:
    """Runs inside the lifetimes venv: fit ParetoNBDFitter, write params and time."""
    import warnings

    import lifetimes
    import pandas as pd
    import scipy
    from lifetimes import ParetoNBDFitter

    warnings.simplefilter("ignore")
    data = np.load(data_path)
    start = time.perf_counter()
    fitter = ParetoNBDFitter().fit(
        pd.Series(data["frequency"]), pd.Series(data["recency"]), pd.Series(data["T"])
    )
    seconds = time.perf_counter() - start
    with open(out_path, "w") as handle:
        json.dump(
            {
                "seconds": seconds,
                "params": {k: float(v) for k, v in fitter.params_.items()},
                "versions": {
                    "python": platform.python_version(),
                    "lifetimes": lifetimes.__version__,
                    "numpy": np.__version__,
                    "pandas": pd.__version__,
                    "scipy": scipy.__version__,
                },
            },
            handle,
        )


def run_lifetimes(python: str, data: dict[str, np.ndarray]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as workdir:
        data_path = os.path.join(workdir, "customers.npz")
        out_path = os.path.join(workdir, "lifetimes.json")
        np.savez(data_path, **data)
        subprocess.run(
            [python, os.path.abspath(__file__), "--lifetimes-worker", data_path, out_path],
            check=True,
        )
        with open(out_path) as handle:
            return json.load(handle)


def time_ours(data: dict[str, np.ndarray], repeats: int) -> tuple[list[float], object]:
    from dashboard.domain.clv import ParetoNBDModel

    seconds = []
    model = None
    for _ in range(max(repeats, 1)):
        start = time.perf_counter()
        model = ParetoNBDModel().fit(data["frequency"], data["recency"], data["T"])
        seconds.append(time.perf_counter() - start)
    return seconds, model


def _fmt_params(params: dict[str, float]) -> str:
    return ", ".join(f"{k}={params[k]:.4f}" for k in ("r", "alpha", "s", "beta"))


def _print_table(rows: list[tuple[str, str, str]]) -> None:
    width = [max(len(row[i]) for row in rows) for i in range(3)]
    for index, row in enumerate(rows):
        print(" | ".join(value.ljust(width[i]) for i, value in enumerate(row)).rstrip())
        if index == 0:
            print("-+-".join("-" * w for w in width))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000, help="compared with lifetimes")
    parser.add_argument("--large", type=int, default=1_000_000, help="timed alone (0: skip)")
    parser.add_argument("--seed", type=int, default=20050101)
    parser.add_argument("--repeats", type=int, default=3, help="timed fits of this project")
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument(
        "--lifetimes-python",
        default=os.environ.get("LIFETIMES_PYTHON", DEFAULT_LIFETIMES_PYTHON),
    )
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import pandas as pd
    import scipy

    from dashboard.domain.clv import ParetoNBDModel

    print(
        f"this project: Python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, scipy {scipy.__version__}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    print(f"true Pareto/NBD parameters: {_fmt_params(TRUE_PARETO)} (weeks)")
    data = simulate(args.customers, args.seed)
    x = data["frequency"]
    print(
        f"\n{args.customers:,} simulated customers (seed {args.seed}): "
        f"{int((x > 0).sum()):,} repeat buyers, {int(x.sum()):,} repeat purchases, "
        f"max frequency {int(x.max())}"
    )
    seconds, ours = time_ours(data, args.repeats)
    ll_ours = ours.log_likelihood(data["frequency"], data["recency"], data["T"])
    theirs = None
    if args.skip_lifetimes:
        print("lifetimes skipped (--skip-lifetimes)")
    elif not os.path.exists(args.lifetimes_python):
        print(
            f"lifetimes skipped: no venv at {args.lifetimes_python} (see this file's docs, "
            "or set LIFETIMES_PYTHON)"
        )
    else:
        theirs = run_lifetimes(args.lifetimes_python, data)
        print(
            "lifetimes: "
            + ", ".join(f"{name} {version}" for name, version in theirs["versions"].items())
        )
    rows = [("", "this project", "lifetimes ParetoNBDFitter")]
    rows.append(
        (
            f"fit (s), best of {len(seconds)}",
            f"{min(seconds):.3f} (median {np.median(seconds):.3f})",
            "-" if theirs is None else f"{theirs['seconds']:.3f}",
        )
    )
    their_ll = None
    if theirs is not None:
        their_model = ParetoNBDModel.from_params(theirs["params"])
        their_ll = their_model.log_likelihood(data["frequency"], data["recency"], data["T"])
    rows.append(
        ("log-likelihood", f"{ll_ours:,.4f}", "-" if their_ll is None else f"{their_ll:,.4f}")
    )
    rows.append(
        (
            "r, alpha, s, beta",
            _fmt_params(ours.params_),
            "-" if theirs is None else _fmt_params(theirs["params"]),
        )
    )
    rows.append(("distinct (x, t_x, T) rows", f"{ours.n_distinct_rows_:,}", ""))
    if theirs is not None:
        rows.append(("speed ratio", f"{theirs['seconds'] / min(seconds):.1f}x", ""))
        rows.append(("log-likelihood, ours - theirs", f"{ll_ours - their_ll:+.3e}", ""))
    print()
    _print_table(rows)

    if args.large:
        large = simulate(args.large, args.seed + 1)
        x = large["frequency"]
        print(
            f"\n{args.large:,} simulated customers (seed {args.seed + 1}): "
            f"{int((x > 0).sum()):,} repeat buyers, max frequency {int(x.max())}"
        )
        seconds, model = time_ours(large, args.repeats)
        print(
            f"fit (s): best {min(seconds):.3f}, median {np.median(seconds):.3f} of "
            f"{len(seconds)}; {model.n_distinct_rows_:,} distinct rows, {model.n_iter_} "
            f"iterations; {_fmt_params(model.params_)}; log-likelihood "
            f"{model.log_likelihood_:,.4f}"
        )
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (timings grow with it)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--lifetimes-worker":
        lifetimes_worker(sys.argv[2], sys.argv[3])
    else:
        main()
