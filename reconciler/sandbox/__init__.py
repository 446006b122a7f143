"""Local HTTP servers that emulate the Auth0 Management API and the GoodData API."""
