"""Building the container image with no network: `python -m deploy.image.build` (`make image`)."""
