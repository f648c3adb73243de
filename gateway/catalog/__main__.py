"""``python -m gateway.catalog check FILE``: validate a catalog file before a reload (exit 1 on problems)."""

from __future__ import annotations

import argparse
import os
import sys

from gateway.catalog.loader import load
from gateway.catalog.schema import CatalogError
from gateway.core.settings import from_env
from translators.registry import build_registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.catalog")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a catalog file with the current environment")
    check.add_argument("file")
    args = parser.parse_args(argv)
    try:
        providers = from_env().get("GATEWAY_PROVIDERS", {})  # operators' own providers count as known
        data = load(args.file, os.environ, set(build_registry(providers)))
    except CatalogError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{args.file}: {len(data.providers)} providers, {len(data.keys)} keys")
    return 0


if __name__ == "__main__":
    sys.exit(main())
