"""valkey_lab: learn and prove how Valkey behaves when nodes fail.

One folder per role, in the order a run flows through them:
backends (where nodes run) -> topology (what they are) -> clients (what users run) ->
workload (what the clients do) -> nemesis (faults as data) -> observe (what the servers
say) -> history (one JSONL record of all of it) -> checkers (pure verdicts) ->
harness (the one run loop) -> suites / bench (declarations) -> report (rendering).
"""
