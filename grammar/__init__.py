"""Grammar files shipped inside the package."""
