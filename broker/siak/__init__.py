"""SIAK: the HTTP contract (contract.py, documented in broker/SIAK_API.md), the client the
gateway uses (client.py), and the simulator behind `anjungan siak-sim` (ledger.py, sim.py)."""
