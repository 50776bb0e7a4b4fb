"""Personal settings: filters, vacation, forwarding, Junk, password, storage, the filter tester."""
