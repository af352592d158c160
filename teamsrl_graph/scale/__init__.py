"""`generate` scaled out on a Ray cluster: `generate_on_ray` (driver.py) deals seeds out to Ray workers
(worker.py), each with its own models, which all book their calls in one run-wide ledger (ledger.py).
Ray is optional (`pip install 'teamsrl-graph[ray]'`); importing this package does not import it."""

from .driver import generate_on_ray

__all__ = ["generate_on_ray"]
