"""The end-to-end demo: private broker, central service, SIAK simulator, kiosks, dashboard."""
