"""The spec: pydantic models, YAML loading with positions, interpolation, units.

Imports nothing of ours but errors and labels; touches no engine.
"""
