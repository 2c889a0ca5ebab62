"""Benchmark: fit and score a million customers, against the ``lifetimes`` library.

Simulates customers from a BG/NBD purchase process and a Gamma-Gamma spend process
(deterministic seed; CDNOW's published parameters), then times, in the same run:

- this project (``dashboard.domain.clv``): BG/NBD fit, Gamma-Gamma fit, P(alive),
  E[X(52 weeks) | history] and 36-month CLV for every customer;
- ``lifetimes`` 0.11.3 doing the same with ``BetaGeoFitter`` / ``GammaGammaFitter``.
  ``lifetimes`` does not import under numpy 2 / pandas 3, so it runs in its own virtualenv
  (``LIFETIMES_PYTHON``, default ``/work/.venv-lifetimes/bin/python``) in a subprocess, with
  the data passed through a ``.npz`` file. Create that venv with::

      python3.11 -m venv /work/.venv-lifetimes
      /work/.venv-lifetimes/bin/pip install "numpy<2" "pandas<2" "scipy<1.12" lifetimes==0.11.3

Run from the repository root::

    python bench/bench_clv.py                 # 1,000,000 customers
    python bench/bench_clv.py --customers 100000 --skip-lifetimes

Both libraries' log-likelihoods are evaluated with the same function (this project's) on
the same data, so they are comparable.
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

TRUE_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # alpha per week
TRUE_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
ACQUISITION_DAYS = 84  # first purchases spread over 12 weeks, like the CDNOW cohort
OBSERVATION_DAYS = 546  # observed for 78 weeks from the cohort's first day
HORIZON_WEEKS = 52.0
CLV_MONTHS = 36
ANNUAL_DISCOUNT = 0.10
LIFETIMES_WEEKS_PER_MONTH = 4.345  # lifetimes' hard-coded month for freq="W"
DEFAULT_LIFETIMES_PYTHON = "/work/.venv-lifetimes/bin/python"


def simulate(n_customers: int, seed: int = 20050101) -> dict[str, np.ndarray]:
    """Customers from the BG/NBD and Gamma-Gamma processes, in weeks on a daily grid.

    A customer with rate ``lambda`` and dropout probability ``p`` makes N ~ Poisson(lambda T)
    purchases if alive throughout, and drops out after J ~ Geometric(p) repeat purchases,
    so x = min(N, J); given N the purchase times are uniform order statistics, so
    t_x = T * Beta(x, N - x + 1). Times are floored to whole days, as in daily data.
    """
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (TRUE_BGNBD[k] for k in ("r", "alpha", "a", "b"))
    rate = rng.gamma(r, 1.0 / alpha, n_customers)
    dropout = rng.beta(a, b, n_customers)
    first_day = rng.integers(0, ACQUISITION_DAYS, n_customers)
    age_days = OBSERVATION_DAYS - 1 - first_day
    age = age_days / 7.0
    purchases_if_alive = rng.poisson(rate * age)
    purchases_before_dropout = rng.geometric(dropout)
    frequency = np.minimum(purchases_if_alive, purchases_before_dropout)
    buyers = frequency > 0
    share = np.zeros(n_customers)
    share[buyers] = rng.beta(frequency[buyers], purchases_if_alive[buyers] - frequency[buyers] + 1)
    recency_days = np.floor(share * age_days)
    p, q, v = (TRUE_GAMMA_GAMMA[k] for k in ("p", "q", "v"))
    spend_rate = rng.gamma(q, 1.0 / v, n_customers)
    monetary = np.zeros(n_customers)
    # Mean of x Gamma(p, nu) purchases is Gamma(p x, rate x nu).
    monetary[buyers] = rng.gamma(
        p * frequency[buyers], 1.0 / (frequency[buyers] * spend_rate[buyers])
    )
    monetary[buyers] = np.maximum(np.round(monetary[buyers], 2), 0.01)
    return {
        "frequency": frequency.astype(np.float64),
        "recency": recency_days / 7.0,
        "T": age,
        "monetary_value": monetary,
    }


def time_rfm_summary(seed: int, n_transactions: int = 10_000_000) -> float:
    """Seconds for rfm_summary over random transactions (1M customers, 3 years)."""
    import pandas as pd

    from dashboard.domain.clv import rfm_summary

    rng = np.random.default_rng(seed)
    seconds = rng.integers(0, 3 * 365 * 86_400, n_transactions)
    transactions = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 1_000_000, n_transactions),
            "ordered_at": pd.Timestamp("2022-01-01") + pd.to_timedelta(seconds, unit="s"),
            "revenue": np.round(rng.gamma(2.0, 20.0, n_transactions), 2),
        }
    )
    start = time.perf_counter()
    rfm_summary(transactions, "customer_id", "ordered_at", "revenue", time_unit="W")
    return time.perf_counter() - start


def run_ours(data: dict[str, np.ndarray]) -> dict[str, object]:
    from dashboard.domain.clv import (
        BetaGeoModel,
        GammaGammaModel,
        customer_lifetime_value,
    )

    x, t_x, age, spend = data["frequency"], data["recency"], data["T"], data["monetary_value"]
    timings: dict[str, float] = {}
    start = time.perf_counter()
    bgnbd = BetaGeoModel().fit(x, t_x, age)
    timings["fit_bgnbd"] = time.perf_counter() - start
    mark = time.perf_counter()
    gamma_gamma = GammaGammaModel().fit(x, spend)
    timings["fit_gamma_gamma"] = time.perf_counter() - mark
    mark = time.perf_counter()
    alive = bgnbd.probability_alive(x, t_x, age)
    timings["probability_alive"] = time.perf_counter() - mark
    mark = time.perf_counter()
    expected = bgnbd.expected_purchases(HORIZON_WEEKS, x, t_x, age)
    timings["expected_purchases"] = time.perf_counter() - mark
    mark = time.perf_counter()
    clv = customer_lifetime_value(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        age,
        spend,
        horizon_months=CLV_MONTHS,
        annual_discount_rate=ANNUAL_DISCOUNT,
    )
    timings["clv"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start
    return {
        "timings": timings,
        "bgnbd": bgnbd,
        "gamma_gamma": gamma_gamma,
        "alive": alive,
        "expected": expected,
        "clv": clv,
    }


# --------------------------------------------------------------------------------------
# lifetimes worker: runs inside the lifetimes venv (numpy 1.x, pandas 1.x)
# --------------------------------------------------------------------------------------


def lifetimes_worker(data_path: str, out_path: str) -> None:
    import warnings

    import lifetimes
    import pandas as pd
    import scipy
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    warnings.simplefilter("ignore")
    data = np.load(data_path)
    x = pd.Series(data["frequency"])
    t_x = pd.Series(data["recency"])
    age = pd.Series(data["T"])
    spend = pd.Series(data["monetary_value"])
    monthly_rate = float(data["monthly_rate"])
    timings = {}
    start = time.perf_counter()
    bgf = BetaGeoFitter().fit(x, t_x, age)
    timings["fit_bgnbd"] = time.perf_counter() - start
    mark = time.perf_counter()
    buyers = x > 0
    ggf = GammaGammaFitter().fit(x[buyers], spend[buyers])
    timings["fit_gamma_gamma"] = time.perf_counter() - mark
    mark = time.perf_counter()
    alive = np.asarray(bgf.conditional_probability_alive(x, t_x, age))
    timings["probability_alive"] = time.perf_counter() - mark
    mark = time.perf_counter()
    expected = np.asarray(
        bgf.conditional_expected_number_of_purchases_up_to_time(HORIZON_WEEKS, x, t_x, age)
    )
    timings["expected_purchases"] = time.perf_counter() - mark
    mark = time.perf_counter()
    clv = np.asarray(
        ggf.customer_lifetime_value(
            bgf, x, t_x, age, spend, time=CLV_MONTHS, discount_rate=monthly_rate, freq="W"
        )
    )
    timings["clv"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start
    np.savez(out_path, alive=alive, expected=expected, clv=clv)
    with open(out_path + ".json", "w") as handle:
        json.dump(
            {
                "timings": timings,
                "bgnbd": {k: float(v) for k, v in bgf.params_.items()},
                "gamma_gamma": {k: float(v) for k, v in ggf.params_.items()},
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


def run_lifetimes(
    python: str, data: dict[str, np.ndarray], monthly_rate: float, workdir: str
) -> dict[str, object]:
    data_path = os.path.join(workdir, "customers.npz")
    out_path = os.path.join(workdir, "lifetimes_out.npz")
    np.savez(data_path, monthly_rate=monthly_rate, **data)
    subprocess.run(
        [python, os.path.abspath(__file__), "--lifetimes-worker", data_path, out_path],
        check=True,
    )
    with open(out_path + ".json") as handle:
        result = json.load(handle)
    arrays = np.load(out_path)
    result.update({name: arrays[name] for name in ("alive", "expected", "clv")})
    return result


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _fmt_params(params: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4f}" for k, v in params.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20050101)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of this project")
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument(
        "--lifetimes-python",
        default=os.environ.get("LIFETIMES_PYTHON", DEFAULT_LIFETIMES_PYTHON),
    )
    args = parser.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import pandas as pd
    import scipy

    from dashboard.domain.clv import (
        BetaGeoModel,
        GammaGammaModel,
        customer_lifetime_value,
        monthly_discount_rate,
    )

    data = simulate(args.customers, args.seed)
    x, t_x, age, spend = data["frequency"], data["recency"], data["T"], data["monetary_value"]
    print(
        f"{args.customers:,} simulated customers (seed {args.seed}), "
        f"{int((x > 0).sum()):,} repeat buyers, {int(x.sum()):,} repeat purchases, "
        f"78-week window, times on a daily grid; true BG/NBD {_fmt_params(TRUE_BGNBD)}, "
        f"Gamma-Gamma {_fmt_params(TRUE_GAMMA_GAMMA)}"
    )
    print(
        f"this project: Python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}, scipy {scipy.__version__}; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )

    runs = [run_ours(data) for _ in range(max(args.repeats, 1))]
    ours = min(runs, key=lambda run: run["timings"]["total"])
    median_total = float(np.median([run["timings"]["total"] for run in runs]))
    bgnbd: BetaGeoModel = ours["bgnbd"]
    gamma_gamma: GammaGammaModel = ours["gamma_gamma"]
    buyers = x > 0
    ll_ours = bgnbd.log_likelihood(x, t_x, age)
    gg_ll_ours = gamma_gamma.log_likelihood(x[buyers], spend[buyers])

    rows = [("", "this project", "lifetimes")]
    stages = ["fit_bgnbd", "fit_gamma_gamma", "probability_alive", "expected_purchases", "clv"]
    theirs = None
    if not args.skip_lifetimes:
        if not os.path.exists(args.lifetimes_python):
            print(f"\nlifetimes venv not found at {args.lifetimes_python}: see this file's docs")
        else:
            with tempfile.TemporaryDirectory() as workdir:
                theirs = run_lifetimes(
                    args.lifetimes_python, data, monthly_discount_rate(ANNUAL_DISCOUNT), workdir
                )
            versions = theirs["versions"]
            print(
                "lifetimes: "
                + ", ".join(f"{name} {version}" for name, version in versions.items())
                + f" (venv {args.lifetimes_python})"
            )

    def cell(run: dict | None, key: str) -> str:
        return "-" if run is None else f"{run['timings'][key]:.3f}"

    for stage in stages:
        rows.append((f"{stage} (s)", cell(ours, stage), cell(theirs, stage)))
    rows.append(("total fit + score (s)", cell(ours, "total"), cell(theirs, "total")))
    rows.append((f"median total of {len(runs)} runs (s)", f"{median_total:.3f}", "-"))
    rows.append(("BG/NBD params", _fmt_params(bgnbd.params_), ""))
    rows.append(("Gamma-Gamma params", _fmt_params(gamma_gamma.params_), ""))
    rows.append(("BG/NBD log-likelihood", f"{ll_ours:,.4f}", ""))
    rows.append(("Gamma-Gamma log-likelihood", f"{gg_ll_ours:,.4f}", ""))
    if theirs is not None:
        their_bg = BetaGeoModel.from_params(theirs["bgnbd"])
        their_gg = GammaGammaModel.from_params(theirs["gamma_gamma"])
        ll_theirs = their_bg.log_likelihood(x, t_x, age)
        gg_ll_theirs = their_gg.log_likelihood(x[buyers], spend[buyers])
        rows[-4] = ("BG/NBD params", _fmt_params(bgnbd.params_), _fmt_params(theirs["bgnbd"]))
        rows[-3] = (
            "Gamma-Gamma params",
            _fmt_params(gamma_gamma.params_),
            _fmt_params(theirs["gamma_gamma"]),
        )
        rows[-2] = ("BG/NBD log-likelihood", f"{ll_ours:,.4f}", f"{ll_theirs:,.4f}")
        rows[-1] = ("Gamma-Gamma log-likelihood", f"{gg_ll_ours:,.4f}", f"{gg_ll_theirs:,.4f}")
        rows.append(("BG/NBD log-likelihood, ours - theirs", f"{ll_ours - ll_theirs:+.2e}", ""))
        rows.append(("Gamma-Gamma log-likelihood, ours - theirs",
                     f"{gg_ll_ours - gg_ll_theirs:+.2e}", ""))  # fmt: skip
        speedup = theirs["timings"]["total"] / ours["timings"]["total"]
        fit_speedup = theirs["timings"]["fit_bgnbd"] / ours["timings"]["fit_bgnbd"]
        rows.append(("speed ratio, fit + score", f"{speedup:.1f}x", ""))
        rows.append(("speed ratio, BG/NBD fit", f"{fit_speedup:.1f}x", ""))
        # Same formulas? Score with lifetimes' parameters and its 4.345-week month.
        clv_check = customer_lifetime_value(
            their_bg,
            their_gg,
            x,
            t_x,
            age,
            spend,
            horizon_months=CLV_MONTHS,
            annual_discount_rate=ANNUAL_DISCOUNT,
            time_unit_per_month=LIFETIMES_WEEKS_PER_MONTH,
        )
        checks = {
            "P(alive)": (their_bg.probability_alive(x, t_x, age), theirs["alive"]),
            "E[X(52)]": (
                their_bg.expected_purchases(HORIZON_WEEKS, x, t_x, age),
                theirs["expected"],
            ),
            "CLV": (clv_check, theirs["clv"]),
        }
        for name, (mine, reference) in checks.items():
            both = np.isfinite(mine) & np.isfinite(reference)
            scale = np.maximum(np.abs(reference[both]), 1e-12)
            gap = np.max(np.abs(mine[both] - reference[both]) / scale) if both.any() else np.nan
            rows.append((f"max rel. diff {name} at lifetimes' params", f"{gap:.1e}", ""))
            rows.append(
                (
                    f"customers with non-finite {name}",
                    f"{int((~np.isfinite(mine)).sum()):,}",
                    f"{int((~np.isfinite(reference)).sum()):,}",
                )
            )

    rows.append(("rfm_summary, 10M transactions (s)", f"{time_rfm_summary(args.seed):.3f}", "-"))

    width = [max(len(row[i]) for row in rows) for i in range(3)]
    print()
    for index, row in enumerate(rows):
        print(" | ".join(value.ljust(width[i]) for i, value in enumerate(row)).rstrip())
        if index == 0:
            print("-+-".join("-" * w for w in width))
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (timings grow with it)")
    print(
        f"scored: P(alive), E[X({HORIZON_WEEKS:g} weeks)], CLV over {CLV_MONTHS} months at "
        f"{ANNUAL_DISCOUNT:.0%} a year (margin 1) for all {args.customers:,} customers"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--lifetimes-worker":
        lifetimes_worker(sys.argv[2], sys.argv[3])
    else:
        main()
