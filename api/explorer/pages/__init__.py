"""The explorer's page routers, one module per page family."""
