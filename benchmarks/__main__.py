"""``make bench``: run every benchmark and print its ratios."""

from __future__ import annotations

import sys

from benchmarks import personal_data_encryption


def main() -> int:
    """Run the benchmarks in turn; each prints its own table."""
    personal_data_encryption.main(sys.argv[1:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
