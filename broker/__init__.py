"""broker component."""
