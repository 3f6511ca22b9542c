"""Generators as data (Jepsen's ``generator.clj``): the schedule of client ops and of faults,
built from small values that compose. See ``generators.core``."""
from valkey_lab.generators.core import (PENDING, Context, Cursor, Gen, Invoke, Sleep, clients, cycle, delay,
                                        each_item, from_fn, lift, limit, mix, nemesis, on, once, ops, phases,
                                        repeat, stagger, time_limit)

__all__ = ["PENDING", "Context", "Cursor", "Gen", "Invoke", "Sleep", "clients", "cycle", "delay", "each_item",
           "from_fn", "lift", "limit", "mix", "nemesis", "on", "once", "ops", "phases", "repeat", "stagger",
           "time_limit"]
