"""One history per run: client ops, nemesis ops and server observations on one clock.

Records are plain dicts, one JSON object per line (``history.jsonl``):

- ``{"kind": "meta", ...}``: first line; run settings the checkers need (budgets, lags).
- client ops, Jepsen's field names:
  ``{"kind": "client", "process": int, "type": "invoke|ok|fail|info", "f": "write|read|incr|append|cas",
  "key": str, "value": ..., "time": float}``; optional ``lane``, ``replicated`` (WAIT acks on
  an ok write), ``error``, ``shard``. A completion repeats its invoke's ``key``; ``value``
  is the value written, or the value read (``null``: missing key).
- nemesis ops: ``{"kind": "nemesis", "process": "nemesis", "type": "info", "f": <fault kind>,
  "phase": "start|end", "value": <target>, "params": {...}, "time": float}``.
- server observations: ``{"kind": "server", "f": "sentinel-event|roles|cluster-flags|...",
  "node": str, "value": ..., "time": float}``.

``time`` is seconds since the run's start on the monotonic clock.
"""
