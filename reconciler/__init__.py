"""gooddata-access-reconciler: keep GoodData Cloud access in line with a desired-state YAML file
and the users of an identity provider."""

__version__ = "0.1.0"
