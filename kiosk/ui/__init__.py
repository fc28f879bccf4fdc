"""What the resident sees: pure views (`views`), pure layouts (`layout`), pygame drawing (`screen`)."""
