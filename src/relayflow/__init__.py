"""relayflow: a self-hostable platform for durable multi-agent AI workflows."""

__version__ = "0.1.0"
