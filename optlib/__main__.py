"""Command line: ``python -m optlib demo``."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m optlib", description="optlib command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="solve a built-in problem from each family and print a table")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demos import format_table, run_demos

        rows = run_demos()
        print(format_table(rows))
        return 0 if all(r.ok for r in rows) else 1
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
