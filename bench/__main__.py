"""`python -m bench`: run every benchmark module's `main` with its defaults, one after another."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("_"):
            continue
        print(f"\n== bench.{module.name} ==", flush=True)
        importlib.import_module(f"bench.{module.name}").main([])


if __name__ == "__main__":
    main()
