"""Command line: ``python -m optlib demo``."""

import argparse
import sys
import time


def main(argv=None):
    """Run the command line; return the exit status (1 when a demo row failed)."""
    parser = argparse.ArgumentParser(prog="python -m optlib", description="optlib command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="solve a built-in problem from each family and print a table of optlib's "
                                "and a reference's times and accuracies")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demos import format_row, iter_demos, table_footer, table_header

        start = time.perf_counter()
        print(table_header(), flush=True)
        rows = []
        for row in iter_demos():  # print each row as soon as it is done
            rows.append(row)
            print(format_row(row), flush=True)
        print("\n" + table_footer(rows, time.perf_counter() - start))
        return 1 if any(r.failed for r in rows) else 0
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
