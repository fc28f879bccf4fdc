"""Installing Anjungan on a host: `anjungan install kiosk|centre|rollback`.

Only the standard library and `anjungan.errors`, so it also runs before anything is
installed: `sudo PYTHONPATH=anjungan-X-py3-none-any.whl python3 -m deploy install kiosk`.
It installs files that `provisioning` and `drivers` ship (units, udev rules, examples),
read as package data, never imported.
"""
