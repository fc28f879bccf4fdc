"""`anjungan doctor`: a technician's end-to-end check of one kiosk or centre host."""

from entrypoints.doctor.command import register

__all__ = ["register"]
