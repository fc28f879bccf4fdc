"""provisioning component."""
