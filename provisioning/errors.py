"""Provisioning's exceptions."""

from anjungan.errors import AnjunganError


class ProvisioningError(AnjunganError):
    """A fleet, bundle, CSR or configuration problem, with a message fit for a technician."""
