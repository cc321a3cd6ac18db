"""The operator HTTP API (FastAPI): plants, DERs, telemetry, dispatches, administration."""
