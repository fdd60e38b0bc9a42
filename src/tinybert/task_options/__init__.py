"""Each task type's own data options, one module per task type, found by name.

A module here declares one option group (a frozen dataclass, ``OPTIONS``); :class:`DataConfig
<tinybert.config.DataConfig>` holds one group per module, under the module's name
(``config.data.span.doc_stride``), and every command that reads a task's data offers its options,
each in the task type's ``--help`` panel. A new task type adds a module here and touches no shared
config. No torch: ``tinybert --help`` loads these.
"""

from __future__ import annotations

import importlib
import pkgutil


def option_groups() -> dict[str, type]:
    """Module name -> its option group, in name order (the order of the ``--help`` panels)."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[info.name] = module.OPTIONS
    return found


__all__ = ["option_groups"]
