"""GitHub integration: the plan comment on pull requests, the drift issue, the reviewed checksum."""
