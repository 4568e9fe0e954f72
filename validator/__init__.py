"""vhv: checks an AWS account prepared for Valohai private workers against the setup guide."""

__version__ = "0.1.0"
