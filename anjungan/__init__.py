"""Anjungan: shared contracts (capture packet, MQTT topics, NIK) and the one `anjungan` command.

Components live in their own top-level packages (`kiosk`, `firmware`, `drivers`, `broker`,
`provisioning`); this package holds only what two or more of them share.
"""

__version__ = "0.1.0"
