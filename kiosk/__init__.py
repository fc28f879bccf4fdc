"""kiosk component."""
