"""CLI command modules (each exposes register(subparsers)), and what they share."""

from __future__ import annotations

import argparse
import logging
from dataclasses import fields
from typing import Any

# A config dataclass's folders take the short flags every other command uses.
_FLAG_ALIASES = {"data_dir": "--data", "output_dir": "--output"}


def add_config_flags(parser: argparse.ArgumentParser, config_cls: type) -> None:
    """One flag per field of a training config dataclass, typed and defaulted from the class."""
    from pv_model.training import parse_bool

    defaults = config_cls()
    for field in fields(config_cls):
        flag = _FLAG_ALIASES.get(field.name, "--" + field.name.replace("_", "-"))
        default = getattr(defaults, field.name)
        kind = parse_bool if isinstance(default, bool) else type(default)
        parser.add_argument(flag, dest=field.name, type=kind, default=default, help=f"(default: {default!r})")


def config_from_args(config_cls: type, args: argparse.Namespace) -> Any:
    """The config dataclass the flags of `add_config_flags` describe."""
    return config_cls(**{f.name: getattr(args, f.name) for f in fields(config_cls)})


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
