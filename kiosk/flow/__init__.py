"""The kiosk's pure flow: screens, events, actions and the transition table (no I/O)."""
