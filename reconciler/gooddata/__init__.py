"""GoodData adapter: reads and writes the declarative documents through gooddata-sdk."""
