"""The HTTP side shared by the API functions: the contract's errors, bodies and sessions."""
