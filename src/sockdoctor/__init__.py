"""sockdoctor: why nginx cannot connect() to an upstream Unix socket, and the least-privilege fix."""
__version__ = "0.1.0"
