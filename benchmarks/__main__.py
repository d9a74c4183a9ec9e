"""``make bench``: run every benchmark and print its ratios (``--quick``: fewer iterations)."""

from __future__ import annotations

import argparse
import sys

from benchmarks import api_throughput, command_throughput, personal_data_encryption


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks in turn; each prints its own table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter measurements")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    quick = ["--quick"] if args.quick else []
    personal_data_encryption.main(["--cases", "40", "--rounds", "1"] if args.quick else [])
    print()
    command_throughput.main(quick)
    print()
    api_throughput.main(quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
