"""Evidence readers: text in, typed records out (see base.py for the reader interface)."""
