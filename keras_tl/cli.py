"""The `keras-tl` command line."""

import argparse
import sys

from keras_tl.version import __version__


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-tl",
        description="Transfer learning for image classification with Keras 3.",
    )
    parser.add_argument(
        "--version", action="version", version=f"keras_tl {__version__}"
    )
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
