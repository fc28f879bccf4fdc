"""Fleet health: kiosk status and health, alert rules, the staff dashboard."""
