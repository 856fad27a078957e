"""The website chat widget (static files) and the demo page server."""
