"""Modbus TCP adapter: SunSpec register codec and the SunSpec device driver."""
