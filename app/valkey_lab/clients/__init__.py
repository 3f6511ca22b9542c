"""The reusable clients: copy this folder into an application (it imports nothing else of
the lab). ha.HAClient follows Sentinel; cluster.ClusterClient follows the cluster; both retry
with retry.BackoffPolicy and never apply a write twice (retry.UnknownOutcome)."""
