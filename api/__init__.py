"""HTTP: the FastAPI app, routers, auth dependencies, error mapping and web pages."""
