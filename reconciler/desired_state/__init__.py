"""Loading and checking the desired-state YAML file."""
