"""GoodData adapter: reads and writes the declarative documents through gooddata-sdk."""

from reconciler.gooddata.client import GoodDataClient, GoodDataSettings

__all__ = ["GoodDataClient", "GoodDataSettings"]
