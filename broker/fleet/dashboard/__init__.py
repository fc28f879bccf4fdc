"""The staff dashboard: server-rendered pages (Starlette + Jinja2), sign-in, /metrics, /api."""
