"""pytest plugin: real-broker and database fixtures."""
