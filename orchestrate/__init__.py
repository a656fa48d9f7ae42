"""stateful: keep stateful containers running exactly as a YAML spec says, on the volumes it names."""

__version__ = "0.1.0"
