"""vhod: an identity-federation gateway for Russian school information systems."""

__version__ = "0.1.0"
