"""``make bench``: run the benchmarks and print their ratios (``--quick``: fewer iterations).

``python -m benchmarks feed`` runs only the named ones.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from benchmarks import (
    access_log_cost,
    api_load,
    api_throughput,
    appointment_burst,
    case_search,
    command_throughput,
    documents,
    feed,
    feed_delivery,
    holiday_registrations,
    integrity_verify,
    monitor,
    personal_data_encryption,
    read_models,
    submission_profile,
    water_readings,
)

BENCHMARKS: dict[str, Callable[[bool], object]] = {
    "personal_data": lambda quick: personal_data_encryption.main(
        ["--cases", "40", "--rounds", "1"] if quick else []
    ),
    "commands": lambda quick: command_throughput.main(["--quick"] if quick else []),
    "api": lambda quick: api_throughput.main(["--quick"] if quick else []),
    "api_load": lambda quick: api_load.main(["--quick"] if quick else []),
    "submission_profile": lambda quick: submission_profile.main(["--quick"] if quick else []),
    "feed": lambda quick: feed.main(["--quick"] if quick else []),
    "feed_delivery": lambda quick: feed_delivery.main(["--quick"] if quick else []),
    "case_search": lambda quick: case_search.main(["--quick"] if quick else []),
    "read_models": lambda quick: read_models.main(["--quick"] if quick else []),
    "monitor": lambda quick: monitor.main(["--quick"] if quick else []),
    "documents": lambda quick: documents.main(["--quick"] if quick else []),
    "appointments": lambda quick: appointment_burst.main(["--quick"] if quick else []),
    "water_readings": lambda quick: water_readings.main(["--quick"] if quick else []),
    "holiday_registrations": lambda quick: holiday_registrations.main(["--quick"] if quick else []),
    "integrity_verify": lambda quick: integrity_verify.main(["--quick"] if quick else []),
    "access_log_cost": lambda quick: access_log_cost.main(["--quick"] if quick else []),
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks (all by default) in turn; each prints its own table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter measurements")
    parser.add_argument("only", nargs="*", choices=[[], *BENCHMARKS], help="run only these")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    chosen = args.only or list(BENCHMARKS)
    for index, name in enumerate(chosen):
        if index:
            print()
        BENCHMARKS[name](args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
