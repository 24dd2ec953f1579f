"""The pieces of bench/routing_modes.py: cases and the scripted pool, starting the pools, replaying
the cases through the gateway per mode, and the figures."""
