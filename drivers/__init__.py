"""drivers component."""
