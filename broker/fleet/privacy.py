"""What the dashboard must never show: a full NIK in free text. One rule, shared with the
kiosk: `anjungan.nik.redact`."""

from anjungan.nik import redact

__all__ = ["redact"]
